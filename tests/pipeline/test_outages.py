"""Outages with real processes: a Celery worker's main process killed with work in flight, and
Redis stopped during a burst of Outbound Messages. Nothing accepted is lost, nothing is doubled."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from integration_hub.models import Handoff, HandoffStatus
from integration_hub.sandbox.salesforce.outbound import dispatch_pending
from integration_hub.triggers import sweep
from tests.pipeline.conftest import Worker, wait_for

S = HandoffStatus
WEBHOOK = "/api/v1/hooks/salesforce/outbound-message/?token=sandbox"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _orders_per_deal(world: Any, opportunity_ids: list[str]) -> dict[str, int]:
    return {o: len(world.orders_for(o)) for o in opportunity_ids}


@pytest.mark.timeout(240)
def test_it_makes_every_order_once_after_the_main_worker_process_is_killed(world, worker_env, settings):
    visibility = 12
    env = {**worker_env, "HUB_TASK_TIME_LIMIT": "10", "HUB_BROKER_VISIBILITY_TIMEOUT": str(visibility)}
    settings.HUB_CLAIM_LEASE_SECONDS = 3
    settings.HUB_SWEEP_GRACE_SECONDS = 2
    # SAP takes a while to create: deals are in flight in the pool when the parent dies.
    world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="latency", latency_ms=600)
    worker = Worker(env).start()
    opportunity_ids = [world.flow.one("clean")[0] for _ in range(20)]
    for opportunity_id in opportunity_ids:
        world.receive(opportunity_id)  # published to the worker through Redis on commit

    wait_for(lambda: Handoff.objects.filter(opportunity_id__in=opportunity_ids, status=S.CREATING).exists(),
             timeout=60, interval=0.05)
    assert worker.process is not None
    first = worker.process.pid
    os.kill(first, signal.SIGKILL)  # the main process only: its pool children are orphaned
    killed_at = time.monotonic()
    worker.start()

    def settled() -> bool:
        sweep()  # the beat's sweeper, every couple of seconds
        return Handoff.objects.filter(opportunity_id__in=opportunity_ids, status=S.WRITTEN_BACK).count() == 20

    try:
        wait_for(settled, timeout=visibility + 30, interval=2)
    finally:
        took = time.monotonic() - killed_at
        worker.stop()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(first, signal.SIGKILL)  # orphans of the killed parent, if any are left
    print(f"\n20 deals, main worker process killed in flight: all orders {took:.1f} s after the kill "
          f"(visibility timeout {visibility} s)")
    assert set(_orders_per_deal(world, opportunity_ids).values()) == {1}
    assert not Handoff.objects.filter(opportunity_id__in=opportunity_ids, status=S.CREATING).exists()


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[dict[str, Any]]:
    """A Redis server of this test's own, which it may stop and start again on the same port."""
    port = _free_port()
    state: dict[str, Any] = {"port": port, "url": f"redis://127.0.0.1:{port}/0"}

    def start() -> None:
        state["process"] = subprocess.Popen(  # noqa: S603
            ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(tmp_path)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop() -> None:
        state["process"].kill()
        state["process"].wait(timeout=10)

    state["start"], state["stop"] = start, stop
    start()
    yield state
    if state["process"].poll() is None:
        stop()


@pytest.mark.timeout(300)
def test_a_redis_outage_during_a_burst_loses_no_deal_and_doubles_none(world, worker_env, private_redis, settings,
                                                                       tmp_path):
    web_port = _free_port()
    env = {**worker_env, "REDIS_URL": private_redis["url"], "HUB_SWEEP_INTERVAL_SECONDS": "3",
           "HUB_SWEEP_GRACE_SECONDS": "1", "HUB_WEBHOOK_SECRET": "sandbox", "HUB_LOG_LEVEL": "WARNING"}
    settings.SANDBOX_OUTBOUND_MESSAGE_URL = f"http://127.0.0.1:{web_port}{WEBHOOK}"
    log = (tmp_path / "web.log").open("ab")
    processes = [subprocess.Popen(  # noqa: S603
        [str(Path(sys.executable).parent / "waitress-serve"), f"--listen=127.0.0.1:{web_port}", "--threads=4",
         "integration_hub.wsgi:application"], env=env, cwd=str(django_settings.BASE_DIR), stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True)]
    processes.append(subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "celery", "-A", "integration_hub", "beat", "-l", "WARNING",
         "-s", str(tmp_path / "beat-schedule")], env=env, cwd=str(django_settings.BASE_DIR), stdout=log,
        stderr=subprocess.STDOUT, start_new_session=True))
    worker = Worker(env).start()
    try:
        opportunity_ids = [world.flow.one("clean")[0] for _ in range(100)]
        private_redis["stop"]()
        stopped_at = time.monotonic()
        acked = dispatch_pending()  # Salesforce delivers the burst (up to 100 notifications a message)
        answered_in = time.monotonic() - stopped_at
        assert acked == 100, "the webhook must keep answering Ack while Redis is down"
        assert Handoff.objects.filter(opportunity_id__in=opportunity_ids).count() == 100
        time.sleep(max(0.0, 30 - (time.monotonic() - stopped_at)))
        private_redis["start"]()
        back_at = time.monotonic()
        wait_for(lambda: Handoff.objects.filter(opportunity_id__in=opportunity_ids,
                                                status=S.WRITTEN_BACK).count() == 100, timeout=150, interval=1)
        drained_in = time.monotonic() - back_at
    finally:
        worker.stop()
        for process in processes:
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            process.wait(timeout=20)
    print(f"\nRedis stopped 30 s during a burst of 100 deals: the burst acked in {answered_in:.1f} s with Redis "
          f"down; all 100 orders {drained_in:.1f} s after Redis returned (sweep every 3 s)")
    assert set(_orders_per_deal(world, opportunity_ids).values()) == {1}


@pytest.mark.timeout(180)
def test_a_retry_three_visibility_timeouts_ahead_runs_exactly_once(world, worker_env, settings):
    visibility = 11
    env = {**worker_env, "HUB_TASK_TIME_LIMIT": "10", "HUB_BROKER_VISIBILITY_TIMEOUT": str(visibility)}
    settings.HUB_SWEEP_GRACE_SECONDS = 1
    # SAP asks the hub to come back in 3 × the visibility timeout: a countdown that long would be
    # handed to a second worker by Redis; the wait belongs on the row, for the sweeper.
    world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="rate_limit",
                retry_after=3 * visibility, times=1)
    worker = Worker(env).start()
    try:
        opportunity_id = world.flow.one("clean")[0]
        handoff = world.receive(opportunity_id)
        waiting = wait_for(lambda: Handoff.objects.filter(pk=handoff.pk, next_attempt_at__isnull=False).first(),
                           timeout=30, interval=0.2)
        assert (waiting.next_attempt_at - waiting.updated_at).total_seconds() >= 3 * visibility - 1

        def settled() -> Handoff | None:
            sweep()
            return Handoff.objects.filter(pk=handoff.pk, status=S.WRITTEN_BACK).first()

        wait_for(settled, timeout=3 * visibility + 40, interval=2)
    finally:
        worker.stop()
    assert world.creates(handoff) == 2  # the refused one and the one after the wait: never a third
    assert len(world.orders_for(opportunity_id)) == 1
