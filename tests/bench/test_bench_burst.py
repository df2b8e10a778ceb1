"""Benchmarks of the API budget and of bursts (issue 13; `make bench`, figures printed, no gate on time).

On the production shape (PostgreSQL, Redis, both sandboxes and the web as processes, Celery
workers as separate nodes, each with its own environment as on separate machines):

1. calls per clean deal per system and SQL statements per deal, read off one deal;
2. a burst: 200 deals closed at once, drained by the workers, beside a bare script making the
   same Salesforce and SAP calls with the same concurrency (deals/s, ratio, p95, drain time),
   with the workers' resident memory at the start and at the end;
3. a steady 10 deals/s for 20 s: p95 closed won → SAP order;
4. latency-bound scaling: the sandboxes answering like real tenants (150 ms on every SAP call,
   80 ms on Salesforce) and 4 → 16 concurrent handoffs over two worker nodes: the curve;
   with every order counted (duplicates) and the wait for a worker (received → validating).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from unittest import mock

import psycopg
import pytest
import requests
from django.db import connection
from django.test.utils import CaptureQueriesContext

from approvals.models import RiskSettings
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.models import Handoff, HandoffEvent, HandoffStatus, SyncAttempt
from integration_hub.sandbox.dealflow import DealFlow
from integration_hub.sandbox.sap import store as sap_store
from integration_hub.sandbox.sap.sales import SO
from integration_hub.services import handoff_receive
from integration_hub.tasks import process_handoff
from tests.bench import test_bench
from tests.bench.test_bench import ORG_ID, Stack, _pct, _replay, _wait_all, machine_busy

stack = test_bench.stack  # the same processes as the other pipeline benchmark

pytestmark = [pytest.mark.bench, pytest.mark.timeout(1800)]
S = HandoffStatus
DONE = {S.WRITTEN_BACK, S.BLOCKED, S.FAILED}


class LockWaits:
    """Samples PostgreSQL every 20 ms for statements of this database waiting on a lock (a claim
    queued behind another worker's): how many waited and the longest wait seen."""

    def __init__(self) -> None:
        self.longest: dict[str, float] = {}  # per table the statement writes or reads first
        self.waited: set[tuple[int, float]] = set()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> LockWaits:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _sample(self) -> None:
        db = connection.settings_dict
        with psycopg.connect(host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"] or "postgres",
                             dbname=db["NAME"], autocommit=True) as conn:
            while not self._stop.wait(0.02):
                for pid, started, seconds, query in conn.execute(
                        "SELECT pid, extract(epoch FROM query_start), extract(epoch FROM now() - query_start), query "
                        "FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"):
                    self.waited.add((pid, float(started)))
                    table = next(iter(re.findall(r'"(\w+)"', query)), "?")
                    self.longest[table] = max(self.longest.get(table, 0.0), float(seconds))

    def __str__(self) -> str:
        return (f"{len(self.waited)} statement(s) waited on a lock; longest per table: "
                + (", ".join(f"{table} {seconds * 1000:.0f} ms" for table, seconds
                             in sorted(self.longest.items(), key=lambda item: -item[1])) or "none"))


def _rss_kb(pid: int) -> int:
    """Resident memory of a worker node: its main process and its pool's children."""
    total = 0
    pids = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        pids += [int(p) for p in children.read_text().split()]
    for one in pids:
        try:
            for line in Path(f"/proc/{one}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except FileNotFoundError:
            continue
    return total


def _times(opportunity_ids: list[str], to_status: str) -> dict[str, float]:
    return {e.handoff.opportunity_id: e.created_at.timestamp() for e in HandoffEvent.objects.select_related("handoff")
            .filter(handoff__opportunity_id__in=opportunity_ids, to_status=to_status)}


def _orders_per_deal(opportunity_ids: list[str]) -> Counter[str]:
    wanted = set(opportunity_ids)
    return Counter(row["PurchaseOrderByCustomer"] for row in sap_store.rows(SO, "A_SalesOrder")
                   if row.get("PurchaseOrderByCustomer") in wanted)


def _open(flow: DealFlow, count: int) -> list[str]:
    return [flow.open_deal(flow.planner.plan("clean")) for _ in range(count)]


def _bare_rate(opportunity_ids: list[str], concurrency: int) -> float:
    """The floor: the same HTTP calls the hub made for these deals, replayed by a minimal script
    with the same number of deals in flight."""
    handoffs = list(Handoff.objects.filter(opportunity_id__in=opportunity_ids))
    connection.close()  # each replay thread opens its own
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(_replay, handoffs))
    return len(handoffs) / (time.perf_counter() - started)


def _budget(hub: Stack, flow: DealFlow) -> None:
    """1. One known customer's clean deal, low risk: calls per system, SQL statements."""
    RiskSettings.objects.update_or_create(pk=1, defaults={"credit_medium_from_days": 3650,
                                                          "credit_high_above_days": 7300})
    planned = flow.planner.plan("clean")
    figures = []
    with mock.patch.object(process_handoff, "delay"), mock.patch.object(process_handoff, "apply_async"):
        for _ in range(2):  # the first meets the customer; the second is the known customer's deal
            opportunity_id = flow.open_deal(planned)
            flow.close_won(opportunity_id)
            with CaptureQueriesContext(connection) as queries:
                handoff, _ = handoff_receive(org_id=ORG_ID, opportunity_id=opportunity_id, source="poll",
                                             actor_label="bench")
                process_handoff(handoff.pk)
            figures.append((handoff, len(queries.captured_queries)))
    handoff, statements = figures[-1]
    calls = Counter(a.system for a in SyncAttempt.objects.filter(handoff=handoff)
                    if not a.operation.startswith(("metadata:", "csrf_fetch:")))
    first = Counter(a.system for a in SyncAttempt.objects.filter(handoff=figures[0][0])
                    if not a.operation.startswith(("metadata:", "csrf_fetch:")))
    print(f"calls per clean deal, known customer: Salesforce {calls['salesforce']}, SAP {calls['sap']} "
          f"(first deal of a customer: Salesforce {first['salesforce']}, SAP {first['sap']})")
    print(f"SQL statements per low-risk clean deal, received → written back: {statements}")
    for label, deal in (("first deal of a customer", figures[0][0]), ("known customer", handoff)):
        print(f"  {label}: " + ", ".join(f"{a.system}:{a.operation}" for a in SyncAttempt.objects
                                         .filter(handoff=deal).order_by("pk")))
    RiskSettings.objects.filter(pk=1).delete()


def _burst(hub: Stack, flow: DealFlow, *, count: int, nodes: int, concurrency: int) -> None:
    """2. `count` deals closed at once, drained by `nodes` worker nodes of `concurrency` processes."""
    for _ in range(nodes):
        hub.start_worker(concurrency=concurrency)
    warm = _open(flow, 4)
    for opportunity_id in warm:
        flow.close_won(opportunity_id)
    _wait_all(warm, 120)
    rss_start = [_rss_kb(p.pid) for p in hub.workers]
    deals = _open(flow, count)
    cpu_start, machine_start = hub.cpu(), machine_busy()
    closed_at = {}
    with LockWaits() as waits:
        with ThreadPoolExecutor(8) as pool:  # "at once": eight reps clicking Closed Won together
            for opportunity_id, moment in zip(deals, pool.map(lambda o: (flow.close_won(o), time.time())[1], deals),
                                              strict=True):
                closed_at[opportunity_id] = moment
        _wait_all(deals, 900)
    rss_end = [_rss_kb(p.pid) for p in hub.workers]
    cpu = {part: seconds - cpu_start.get(part, 0.0) for part, seconds in hub.cpu().items()}
    busy, total = (end - start for end, start in zip(machine_busy(), machine_start, strict=True))
    created = _times(deals, S.CREATED)
    written = _times(deals, S.WRITTEN_BACK)
    first_close = min(closed_at.values())
    drain = max(written.values()) - first_close
    latencies = [created[o] - closed_at[o] for o in deals if o in created]
    rate = len(deals) / drain
    composites = SyncAttempt.objects.filter(handoff__opportunity_id__in=deals, operation="composite:sobjects").count()
    single = SyncAttempt.objects.filter(handoff__opportunity_id__in=deals, system="salesforce",
                                        method="PATCH").exclude(operation="composite:sobjects").count()
    hub.stop_workers()
    duplicates = sum(n - 1 for n in _orders_per_deal(deals).values() if n > 1)  # before the replay re-creates them
    bare_cpu_start = hub.cpu()
    bare = _bare_rate(deals, nodes * concurrency)
    bare_cpu = {part: seconds - bare_cpu_start.get(part, 0.0) for part, seconds in hub.cpu().items()}
    print(f"burst of {count} deals closed at once, {nodes} node(s) × {concurrency} processes: drained in "
          f"{drain:.1f} s = {rate:.1f} deals/s vs bare script {bare:.1f} deals/s (same calls, {nodes * concurrency} "
          f"in flight): ratio {rate / bare:.2f}; p95 closed won → order {_pct(latencies, 0.95):.2f} s; "
          f"write-backs: {composites} composite call(s) + {single} single for {len(written)} deals; "
          f"{duplicates} duplicate orders")
    print(f"claim contention across the nodes: {waits}")
    print("CPU per deal, ms (hub | bare script): " + ", ".join(
        f"{part} {cpu[part] / count * 1000:.0f} | {bare_cpu.get(part, 0.0) / count * 1000:.0f}" for part in cpu)
        + f"; the machine was {busy / total:.0%} busy during the burst (PostgreSQL, Redis and anyone else included)")
    print(f"worker RSS across the burst: start {sum(rss_start) / 1024:.0f} MB, end {sum(rss_end) / 1024:.0f} MB "
          f"({', '.join(f'{a / 1024:.0f}→{b / 1024:.0f}' for a, b in zip(rss_start, rss_end, strict=True))} per node)")


def _steady(hub: Stack, flow: DealFlow, *, per_second: float, seconds: float) -> None:
    """3. Deals closing at a steady pace: p95 closed won → order."""
    hub.start_worker(concurrency=4)
    deals = _open(flow, int(per_second * seconds))
    closed_at = {}
    started = time.monotonic()
    for n, opportunity_id in enumerate(deals):
        time.sleep(max(0.0, started + n / per_second - time.monotonic()))
        flow.close_won(opportunity_id)
        closed_at[opportunity_id] = time.time()
    _wait_all(deals, 300)
    created = _times(deals, S.CREATED)
    latencies = [created[o] - closed_at[o] for o in deals if o in created]
    hub.stop_workers()
    print(f"steady {per_second:.0f} deals/s for {seconds:.0f} s ({len(deals)} deals, 1 node × 4 processes): "
          f"closed won → order p50 {_pct(latencies, 0.5):.2f} s, p95 {_pct(latencies, 0.95):.2f} s, "
          f"max {max(latencies):.2f} s")


def _fault(hub: Stack, system: str, latency_ms: int) -> None:
    url = hub.sap_url if system == "sap" else hub.sf_url
    auth: dict[str, Any] = ({"auth": ("sandbox", "sandbox")} if system == "sap"
                            else {"headers": {"Authorization": "Bearer sandbox"}})
    response = requests.post(f"{url}/_sandbox/faults", json={"kind": "latency", "latency_ms": latency_ms,
                                                             "operation": "*"}, timeout=10, **auth)
    assert response.status_code == 201, response.text


def _where_time_went(opportunity_ids: list[str]) -> str:
    """Mean seconds per step of these deals (from their events) and their calls per system."""
    steps: dict[str, list[float]] = {}
    last: dict[int, HandoffEvent] = {}
    for event in HandoffEvent.objects.filter(handoff__opportunity_id__in=opportunity_ids).order_by("handoff", "created_at", "pk"):
        before = last.get(event.handoff_id)
        if before is not None:
            step = f"{before.to_status}→{event.to_status}"
            steps.setdefault(step, []).append((event.created_at - before.created_at).total_seconds())
        last[event.handoff_id] = event
    attempts = SyncAttempt.objects.filter(handoff__opportunity_id__in=opportunity_ids)
    calls = Counter(a.system for a in attempts)
    waited = Counter[str]()
    for a in attempts:
        waited[a.system] += a.duration_ms / 1000
    n = len(opportunity_ids)
    return ("; ".join(f"{step} {sum(v) / len(v):.2f} s" for step, v in steps.items())
            + " | calls per deal " + ", ".join(f"{system} {calls[system] / n:.1f} ({waited[system] / n:.2f} s)"
                                               for system in calls))


def _curve(hub: Stack, flow: DealFlow, *, pool: str) -> None:
    """4. Throughput against concurrency when every call waits like a real tenant's: two worker
    nodes, each with `pool` (prefork: processes; threads: one process)."""
    points = []
    print(f"latency-bound scaling, 2 nodes with a {pool} pool each:")
    for concurrency in (2, 4, 8):  # per node; two nodes: 4, 8, 16 handoffs in flight
        for _ in range(2):
            hub.start_worker(concurrency=concurrency, pool=pool)
        deals = _open(flow, 48)
        with LockWaits() as waits:
            with ThreadPoolExecutor(8) as reps:
                closed = list(reps.map(lambda o: (flow.close_won(o), time.time())[1], deals))
            _wait_all(deals, 900)
        written = _times(deals, S.WRITTEN_BACK)
        received = {h.opportunity_id: h.created_at.timestamp() for h in Handoff.objects.filter(opportunity_id__in=deals)}
        validating = _times(deals, S.VALIDATING)
        claim_waits = [validating[o] - received[o] for o in deals if o in validating]
        rate = len(deals) / (max(written.values()) - min(closed))
        duplicates = sum(n - 1 for n in _orders_per_deal(deals).values() if n > 1)
        hub.stop_workers()
        points.append((2 * concurrency, rate))
        print(f"  {2 * concurrency:>2} handoffs in flight (2 nodes × {concurrency}): {rate:.2f} deals/s; "
              f"received → first step p95 {_pct(claim_waits, 0.95):.2f} s (queueing for a free worker); "
              f"{duplicates} duplicate orders; {waits}")
        print(f"     {_where_time_went(deals)}")
    print(f"latency-bound scaling, {pool} (SAP 150 ms, Salesforce 80 ms a call): "
          + ", ".join(f"{n} → {r:.2f}/s" for n, r in points)
          + f"; 16 vs 4: {points[-1][1] / points[0][1]:.1f}×")


def test_bench_budget_and_bursts(stack: Stack) -> None:
    salesforce = SalesforceClient.from_settings()
    flow = DealFlow(salesforce, seed=4242)
    # The workers run as in production: write-backs batched after the default linger (the suite
    # itself writes each deal back at once, tests/environment.py).
    stack.env.pop("HUB_WRITEBACK_LINGER_SECONDS", None)
    print("\n== API budget and bursts (PostgreSQL + Redis; sandboxes, web, worker nodes as processes) ==")
    parts = os.environ.get("BENCH_BURST_PARTS", "budget,burst,steady,curve").split(",")  # to rerun one part
    if "budget" in parts:
        _budget(stack, flow)
    if "burst" in parts:
        _burst(stack, flow, count=200, nodes=2, concurrency=2)
    if "steady" in parts:
        _steady(stack, flow, per_second=10, seconds=20)
    if "curve" in parts:
        _fault(stack, "sap", 150)
        _fault(stack, "salesforce", 80)
        _curve(stack, flow, pool="threads")
        _curve(stack, flow, pool="prefork")
    salesforce.close()
