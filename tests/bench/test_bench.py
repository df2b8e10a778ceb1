"""Benchmarks (`make bench`): figures printed, never a pass/fail on time.

Everything runs as it does in production, on loopback: both sandboxes and the web server are
processes of their own, workers are real Celery workers on Redis, the database is PostgreSQL.

1. latency: closed-won in Salesforce → SAP order, through the Outbound Message webhook (p50/p95);
2. throughput: a backlog of handoffs drained by one Celery worker with 2 processes (handoffs/s);
3. overhead: hub time per deal vs the same Salesforce + SAP calls replayed by a minimal script.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import redis
import requests
from django.conf import settings as django_settings
from django.db import connection

from integration_hub import pipeline, ports
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.demo import demo_crosswalks_ensure
from integration_hub.models import Handoff, HandoffEvent, HandoffStatus, SyncAttempt
from integration_hub.sandbox.dealflow import DealFlow
from integration_hub.sandbox.salesforce.seed import seed as seed_salesforce
from integration_hub.sandbox.sap.seed import seed as seed_sap
from integration_hub.services import handoff_receive
from integration_hub.tasks import process_handoff

pytestmark = [pytest.mark.bench, pytest.mark.timeout(900)]
ORG_ID = "00D000000000001EAA"
S = HandoffStatus
DONE = {S.WRITTEN_BACK, S.BLOCKED, S.FAILED}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def _tree(pid: int) -> list[int]:
    """A process and its descendants (a worker node's pool, a server's children)."""
    found, todo = [], [pid]
    while todo:
        one = todo.pop()
        found.append(one)
        try:
            todo += [int(p) for p in Path(f"/proc/{one}/task/{one}/children").read_text().split()]
        except OSError:
            continue
    return found


def _cpu_seconds(pids: list[int]) -> float:
    """User + system CPU of these processes so far (/proc/<pid>/stat, clock ticks)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / ticks


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat: every process,
    this stack's and anyone else's."""
    fields = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + fields[4]  # idle, iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


@dataclass
class Stack:
    env: dict[str, str]
    log_dir: Path
    web_url: str
    sf_url: str
    sap_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def spawn(self, name: str, args: list[str]) -> subprocess.Popen[bytes]:
        log = (self.log_dir / f"{name}.log").open("ab")
        return subprocess.Popen(args, env=self.env, cwd=str(django_settings.BASE_DIR), stdout=log,  # noqa: S603
                                stderr=subprocess.STDOUT, start_new_session=True)

    def start_worker(self, concurrency: int = 2, pool: str = "prefork") -> None:
        name = f"worker{len(self.workers)}"
        proc = self.spawn(name, [sys.executable, "-m", "celery", "-A", "integration_hub", "worker", "-l", "WARNING",
                                 f"--concurrency={concurrency}", f"--pool={pool}", "--without-gossip",
                                 "--without-mingle", "--without-heartbeat", "-n", f"bench-{name}@%h"])
        self.workers.append(proc)
        time.sleep(3)  # prefork pool start-up

    def cpu(self) -> dict[str, float]:
        """CPU seconds used so far per part of the stack: each server and the worker nodes together."""
        names = ["salesforce", "sap", "web", *(["netsuite"] if len(self.processes) > 3 else [])]
        figures = {name: _cpu_seconds(_tree(proc.pid)) for name, proc in zip(names, self.processes, strict=False)}
        figures["workers"] = sum(_cpu_seconds(_tree(proc.pid)) for proc in self.workers)
        return figures

    def stop_workers(self) -> None:
        for proc in self.workers:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.workers:
            proc.wait(timeout=20)
        self.workers.clear()

    def stop(self) -> None:
        self.stop_workers()
        for proc in self.processes:
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.processes:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture
def stack(transactional_db: None, settings: Any, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stack]:
    db = connection.settings_dict
    web, sf, sap = _free_port(), _free_port(), _free_port()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/15")
    redis.Redis.from_url(redis_url).flushdb()
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}",
        # The workers share one cache on Redis, as production's default does (REDIS_URL); the suite's
        # own process keeps its local one (tests/environment.py).
        "REDIS_URL": redis_url, "HUB_CACHE_URL": redis_url, "DB_CONN_MAX_AGE": "60", "HUB_VAR_DIR": str(tmp_path),
        "SANDBOX_SALESFORCE_PORT": str(sf), "SANDBOX_SAP_PORT": str(sap),
        "SALESFORCE_INSTANCE_URL": f"http://127.0.0.1:{sf}", "SALESFORCE_ORG_ID": ORG_ID,
        "SAP_BASE_URL": f"http://127.0.0.1:{sap}/sap/opu/odata/sap/",
        "SANDBOX_OUTBOUND_MESSAGE_URL": f"http://127.0.0.1:{web}/api/v1/hooks/salesforce/outbound-message/?token=sandbox",
        "SANDBOX_OUTBOUND_POLL_SECONDS": "0.05", "HUB_WEBHOOK_SECRET": "sandbox", "HUB_LOG_LEVEL": "WARNING",
    }
    settings.SALESFORCE_INSTANCE_URL = env["SALESFORCE_INSTANCE_URL"]
    settings.SAP_BASE_URL = env["SAP_BASE_URL"]
    settings.SALESFORCE_ORG_ID = ORG_ID
    seed_salesforce()
    seed_sap()
    demo_crosswalks_ensure()
    running = Stack(env, tmp_path, f"http://127.0.0.1:{web}", env["SALESFORCE_INSTANCE_URL"], f"http://127.0.0.1:{sap}")
    manage = str(django_settings.BASE_DIR / "manage.py")
    running.processes += [
        running.spawn("sf", [sys.executable, manage, "run_sandbox", "salesforce", "--port", str(sf)]),
        running.spawn("sap", [sys.executable, manage, "run_sandbox", "sap", "--port", str(sap)]),
        running.spawn("web", [str(Path(sys.executable).parent / "waitress-serve"), f"--listen=127.0.0.1:{web}",
                              "--threads=8", "integration_hub.wsgi:application"]),
    ]
    for port in (web, sf, sap):
        _wait_port(port)
    ports.ports_reset()
    yield running
    running.stop()
    ports.ports_reset()
    # The processes' logs outlive pytest's rotation of its temporary folders: var/bench-logs/<test>.
    shutil.copytree(tmp_path, django_settings.BASE_DIR / "var" / "bench-logs" / request.node.name,
                    ignore=shutil.ignore_patterns("staticfiles", "broker"), dirs_exist_ok=True)


def _created_at(handoff: Handoff) -> float | None:
    event = HandoffEvent.objects.filter(handoff=handoff, to_status=S.CREATED).first()
    return event.created_at.timestamp() if event else None


def _wait_all(opportunity_ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = Handoff.objects.filter(opportunity_id__in=opportunity_ids, status__in=DONE).count()
        if done == len(opportunity_ids):
            return
        time.sleep(0.2)
    raise AssertionError(f"only {done}/{len(opportunity_ids)} handoffs settled in {timeout} s")


def test_bench_pipeline(stack: Stack) -> None:
    salesforce = SalesforceClient.from_settings()
    flow = DealFlow(salesforce, seed=2026)
    print("\n== integration hub benchmark (loopback; sandboxes, web and workers as processes) ==")

    # 1. latency through the webhook: close deals one by one at a steady pace.
    stack.start_worker(concurrency=2)
    for _ in range(3):  # warm-up: metadata caches, connections
        opportunity_id, _ = flow.one("clean")
        _wait_all([opportunity_id], 60)
    closed_at: dict[str, float] = {}
    for _ in range(40):
        planned = flow.planner.plan("clean")
        opportunity_id = flow.open_deal(planned)
        closed_at[opportunity_id] = time.time()
        flow.close_won(opportunity_id)
        time.sleep(0.25)
    _wait_all(list(closed_at), 120)
    latencies = []
    for handoff in Handoff.objects.filter(opportunity_id__in=list(closed_at)):
        created = _created_at(handoff)
        if created is not None:
            latencies.append(created - closed_at[handoff.opportunity_id])
    print(f"latency closed-won → SAP order via webhook ({len(latencies)} deals): "
          f"p50 {_pct(latencies, 0.5):.3f} s, p95 {_pct(latencies, 0.95):.3f} s, max {max(latencies):.3f} s")

    # 2. throughput: queue a backlog while no worker runs, then let 2 worker processes drain it.
    stack.stop_workers()
    backlog = []
    for _ in range(150):
        opportunity_id = flow.open_deal(flow.planner.plan("clean"))
        flow.close_won(opportunity_id)
        backlog.append(opportunity_id)
    deadline = time.monotonic() + 60
    while Handoff.objects.filter(opportunity_id__in=backlog).count() < len(backlog) and time.monotonic() < deadline:
        time.sleep(0.2)
    started = time.time()
    stack.start_worker(concurrency=2)
    _wait_all(backlog, 600)
    finished = max(
        e.created_at.timestamp() for e in HandoffEvent.objects.filter(handoff__opportunity_id__in=backlog, to_status__in=DONE)
    )
    first = min(
        e.created_at.timestamp() for e in HandoffEvent.objects.filter(handoff__opportunity_id__in=backlog, to_status=S.VALIDATING)
    )
    written = Handoff.objects.filter(opportunity_id__in=backlog, status=S.WRITTEN_BACK).count()
    rate = len(backlog) / (finished - first)
    print(f"throughput, 1 worker × 2 processes: {len(backlog)} handoffs ({written} orders) in {finished - first:.1f} s "
          f"= {rate:.1f} handoffs/s (worker start-up excluded; {finished - started:.1f} s including it)")
    stack.stop_workers()

    # 3. overhead: the hub's own time per deal against the bare HTTP calls it makes.
    deals = []
    for _ in range(20):
        opportunity_id = flow.open_deal(flow.planner.plan("clean"))
        deals.append(opportunity_id)
    hub_times = []
    with mock.patch.object(process_handoff, "delay"), mock.patch.object(process_handoff, "apply_async"):
        for opportunity_id in deals:
            flow.close_won(opportunity_id)
        time.sleep(1.0)  # let the webhook rows land (their wake-ups are not sent: no worker)
        for opportunity_id in deals:
            handoff, _ = handoff_receive(org_id=ORG_ID, opportunity_id=opportunity_id, source="poll", actor_label="bench")
            t0 = time.perf_counter()
            pipeline.handoff_process(handoff_id=handoff.pk)
            hub_times.append(time.perf_counter() - t0)
    bare_times = [_replay(Handoff.objects.get(opportunity_id=o)) for o in deals]
    hub = statistics.mean(hub_times[2:])
    bare = statistics.mean(bare_times[2:])
    calls = statistics.mean(SyncAttempt.objects.filter(handoff__opportunity_id=o).count() for o in deals[2:])
    print(f"hub time per deal {hub * 1000:.1f} ms vs bare calls replayed {bare * 1000:.1f} ms "
          f"({calls:.1f} calls per deal): ratio {hub / bare:.2f}")
    salesforce.close()


def _replay(handoff: Handoff) -> float:
    """The same HTTP calls as the hub made for this deal, by a minimal requests script."""
    return _replay_calls(list(SyncAttempt.objects.filter(handoff=handoff).order_by("pk")
                              .values("system", "operation", "method", "url", "request")))


def _replay_calls(attempts: list[dict[str, Any]]) -> float:
    """Make these recorded calls again (system, operation, method, url, request), as a minimal
    requests script would: the floor the hub is measured against."""
    session = requests.Session()
    session.trust_env = False
    csrf: dict[str, str] = {}
    started = time.perf_counter()
    for attempt in attempts:
        body = (attempt["request"] or {}).get("body")
        headers = {"Accept": "application/json"}
        if attempt["system"] == "salesforce":
            headers["Authorization"] = "Bearer sandbox"
            auth = None
        else:
            auth = ("sandbox", "sandbox")
            if attempt["method"] in {"POST", "PATCH", "PUT", "MERGE", "DELETE"}:
                service = attempt["url"].split("/sap/opu/odata/sap/")[1].split("/")[0]
                if service not in csrf:
                    fetched = session.head(attempt["url"].split(service)[0] + service + "/", auth=auth,
                                           headers={"X-CSRF-Token": "Fetch"}, timeout=15)
                    csrf[service] = fetched.headers.get("x-csrf-token", "")
                headers["X-CSRF-Token"] = csrf[service]
            if attempt["operation"].startswith("csrf_fetch"):
                continue
        url = attempt["url"].replace("https://127.0.0.1", "http://127.0.0.1", 1)  # simple-salesforce forces https
        session.request(attempt["method"], url, json=body if body is not None else None, headers=headers,
                        auth=auth, timeout=15)
    return time.perf_counter() - started
