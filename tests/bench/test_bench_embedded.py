"""Benchmark (`make bench`): a burst on the embedded demo — what a new user runs first.

`manage.py demo` itself, on the embedded defaults (SQLite, the filesystem broker, a local cache;
no DATABASE_URL, REDIS_URL or HUB_CACHE_URL) in a folder of its own: web, worker, beat, the
sandboxes and the demo's own trickles. Deals booked in S/4HANA are closed at once in the
Salesforce sandbox, drained through the Outbound Message webhook; then the same Salesforce and SAP
calls are replayed by a minimal script with as many in flight as the demo's worker has processes
(the floor). Prints deals/s beside the floor, their ratio, p95 closed won → order and the drain
time. Never asserts on time.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings as django_settings

from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.demo import DEMO_NETSUITE_COUNTRIES
from integration_hub.sandbox.dealflow import DealFlow, PlannedDeal
from tests.bench.test_bench import _free_port, _pct, _replay_calls, _wait_port

pytestmark = [pytest.mark.bench, pytest.mark.timeout(1200)]
DEALS = int(os.environ.get("BENCH_EMBEDDED_DEALS", "60"))
WORKER_PROCESSES = 2  # the demo's default (`manage.py demo --workers`)
DONE = ("written_back", "blocked", "failed")


@dataclass
class Demo:
    folder: Path
    sf_url: str
    process: subprocess.Popen[bytes]

    def db(self) -> sqlite3.Connection:
        return sqlite3.connect(f"file:{self.folder / 'hub.sqlite3'}?mode=ro", uri=True, timeout=30)


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    web, sf, sap, netsuite = _free_port(), _free_port(), _free_port(), _free_port()
    env = {key: value for key, value in os.environ.items()
           if key not in {"DATABASE_URL", "REDIS_URL", "HUB_CACHE_URL", "HUB_WRITEBACK_LINGER_SECONDS"}}
    env.update({"HUB_SANDBOX": "1", "HUB_VAR_DIR": str(tmp_path), "HUB_PORT": str(web),
                "SANDBOX_SALESFORCE_PORT": str(sf), "SANDBOX_SAP_PORT": str(sap),
                "SANDBOX_NETSUITE_PORT": str(netsuite), "HUB_LOG_LEVEL": "WARNING",
                # the trickles start one deal and one invoice, then wait: the burst is the bench's
                "HUB_DEMO_DEAL_INTERVAL": "86400", "HUB_DEMO_INVOICE_INTERVAL": "86400"})
    manage = str(django_settings.BASE_DIR / "manage.py")
    log = (tmp_path / "demo.log").open("ab")
    for step in (["migrate", "--noinput"], ["seed_demo"]):
        subprocess.run([sys.executable, manage, *step], env=env, check=True, stdout=log,  # noqa: S603
                       stderr=subprocess.STDOUT, cwd=str(django_settings.BASE_DIR))
    process = subprocess.Popen([sys.executable, manage, "demo"], env=env, stdout=log,  # noqa: S603
                               stderr=subprocess.STDOUT, cwd=str(django_settings.BASE_DIR), start_new_session=True)
    try:
        for port in (web, sf, sap):
            _wait_port(port, timeout=60)
        yield Demo(tmp_path, f"http://127.0.0.1:{sf}", process)
    finally:
        os.killpg(process.pid, signal.SIGINT)  # the demo's Ctrl-C: it stops its children
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _moments(demo: Demo, opportunity_ids: list[str], status: str) -> dict[str, float]:
    marks = ",".join("?" * len(opportunity_ids))
    with demo.db() as db:
        rows = db.execute(
            "SELECT h.opportunity_id, MIN(e.created_at) FROM integration_hub_handoffevent e "
            f"JOIN integration_hub_handoff h ON h.id = e.handoff_id WHERE h.opportunity_id IN ({marks}) "
            "AND e.to_status = ? GROUP BY h.opportunity_id", [*opportunity_ids, status]).fetchall()
    return {opportunity_id: datetime.fromisoformat(moment).timestamp() for opportunity_id, moment in rows}


def _settled(demo: Demo, opportunity_ids: list[str]) -> dict[str, str]:
    marks = ",".join("?" * len(opportunity_ids))
    with demo.db() as db:
        return dict(db.execute(f"SELECT opportunity_id, status FROM integration_hub_handoff WHERE opportunity_id "
                               f"IN ({marks})", opportunity_ids).fetchall())


def _wait_settled(demo: Demo, opportunity_ids: list[str], timeout: float) -> dict[str, str]:
    deadline = time.monotonic() + timeout
    while True:
        statuses = _settled(demo, opportunity_ids)
        if sum(status in DONE for status in statuses.values()) == len(opportunity_ids):
            return statuses
        if time.monotonic() > deadline:
            raise AssertionError(f"only {sum(s in DONE for s in statuses.values())}/{len(opportunity_ids)} "
                                 f"deals settled on the embedded demo in {timeout:.0f} s")
        time.sleep(0.25)


def _steps(demo: Demo, opportunity_ids: list[str]) -> str:
    """Mean seconds per step of these deals, from their events."""
    marks = ",".join("?" * len(opportunity_ids))
    with demo.db() as db:
        rows = db.execute(
            "SELECT e.handoff_id, e.to_status, e.created_at FROM integration_hub_handoffevent e JOIN "
            f"integration_hub_handoff h ON h.id = e.handoff_id WHERE h.opportunity_id IN ({marks}) "
            "ORDER BY e.handoff_id, e.created_at, e.id", opportunity_ids).fetchall()
    steps: dict[str, list[float]] = {}
    for (handoff, before, at), (same, after, then) in zip(rows, rows[1:], strict=False):
        if handoff == same:
            seconds = datetime.fromisoformat(then).timestamp() - datetime.fromisoformat(at).timestamp()
            steps.setdefault(f"{before}→{after}", []).append(seconds)
    return "; ".join(f"{step} {sum(v) / len(v):.2f} s" for step, v in steps.items())


def _calls(demo: Demo, opportunity_id: str) -> list[dict[str, Any]]:
    with demo.db() as db:
        rows = db.execute(
            "SELECT a.system, a.operation, a.method, a.url, a.request FROM integration_hub_syncattempt a "
            "JOIN integration_hub_handoff h ON h.id = a.handoff_id WHERE h.opportunity_id = ? ORDER BY a.id",
            [opportunity_id]).fetchall()
    return [{"system": system, "operation": operation, "method": method, "url": url,
             "request": json.loads(request or "{}")} for system, operation, method, url, request in rows]


def _s4_deal(flow: DealFlow) -> PlannedDeal:
    """A clean deal the demo books in S/4HANA (its UK entity's deals go to NetSuite)."""
    while True:
        planned = flow.planner.plan("clean")
        if planned.company.sales_area.country not in DEMO_NETSUITE_COUNTRIES:
            return planned


def test_bench_burst_on_the_embedded_demo(demo: Demo, settings: Any, transactional_db: None) -> None:
    settings.SALESFORCE_INSTANCE_URL = demo.sf_url
    salesforce = SalesforceClient.from_settings()
    flow = DealFlow(salesforce, seed=1313)
    print(f"\n== burst on the embedded demo (SQLite, filesystem broker; manage.py demo, worker × {WORKER_PROCESSES}) ==")
    warm = [flow.open_deal(_s4_deal(flow)) for _ in range(3)]
    for opportunity_id in warm:
        flow.close_won(opportunity_id)
    _wait_settled(demo, warm, 180)
    deals = [flow.open_deal(_s4_deal(flow)) for _ in range(DEALS)]
    with ThreadPoolExecutor(8) as pool:  # eight reps clicking Closed Won together
        closed_at = dict(zip(deals, pool.map(lambda o: (flow.close_won(o), time.time())[1], deals), strict=True))
    statuses = _wait_settled(demo, deals, 900)
    created = _moments(demo, deals, "created")
    written = _moments(demo, deals, "written_back")
    drain = max(written.values() or [time.time()]) - min(closed_at.values())
    rate = len(deals) / drain
    latencies = [created[o] - closed_at[o] for o in deals if o in created]
    replays = [_calls(demo, o) for o in deals]
    started = time.perf_counter()
    with ThreadPoolExecutor(WORKER_PROCESSES) as pool:
        list(pool.map(_replay_calls, replays))
    bare = len(deals) / (time.perf_counter() - started)
    outcome = ", ".join(f"{status} {sum(s == status for s in statuses.values())}" for status in DONE)
    print(f"burst of {len(deals)} deals closed at once: drained in {drain:.1f} s = {rate:.2f} deals/s vs bare script "
          f"{bare:.2f} deals/s (same calls, {WORKER_PROCESSES} in flight): ratio {rate / bare:.2f}; p95 closed won → "
          f"order {_pct(latencies, 0.95):.2f} s ({outcome})")
    print(f"  mean per step: {_steps(demo, deals)}")
    salesforce.close()
