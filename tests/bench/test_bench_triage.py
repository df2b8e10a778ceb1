"""Benchmark (`make bench`): the triage list and its filters over 1M exceptions in PostgreSQL.

Prints the p50 / p95 server time of the queue list view per filter combination (target p95 < 100 ms),
of its next keyset page and of the queue overview.
Never asserts on time. Rows go in with COPY; a hundred handoffs carry them all.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from exceptions.models import CATALOGUE, SyncException
from exceptions.services import queue_ensure, queue_member_add
from integration_hub.models import HandoffStatus
from tests.factories import HandoffFactory, UserFactory

ROWS = int(os.environ.get("BENCH_TRIAGE_ROWS", "1000000"))
REPEAT = int(os.environ.get("BENCH_TRIAGE_REPEAT", "50"))
CUSTOMERS = ["Globex Corp", "Initech", "Umbrella GmbH", "Stark Industries", "Wayne Enterprises", "Acme Inc",
             "Hooli", "Soylent Co", "Tyrell Corp", "Cyberdyne Systems"]
COLUMNS = ["handoff_id", "type_code", "queue_id", "status", "priority", "title", "message", "evidence",
           "fingerprint", "occurrences", "first_seen", "last_seen", "resolution_note", "tags", "amount",
           "currency", "customer_name", "product_code", "country", "waiting_on", "paused_seconds", "assignee_id"]


def _load(assignee_id: int) -> None:
    rng = random.Random(42)
    handoffs = [HandoffFactory(status=HandoffStatus.BLOCKED).pk for _ in range(100)]
    queues = {t: queue_ensure(slug=e.queue_slug).pk for t, e in CATALOGUE.items()}
    types = list(queues)
    now = datetime.now(UTC)
    started = time.perf_counter()
    with connection.cursor() as cursor, cursor.connection.cursor().copy(
        f"COPY exceptions_syncexception ({', '.join(COLUMNS)}) FROM STDIN"
    ) as copy:
        for i in range(ROWS):
            type_code = types[i % len(types)]
            status = "open" if rng.random() < 0.3 else rng.choice(["resolved", "dismissed"])
            seen = now - timedelta(minutes=rng.randrange(60 * 24 * 90))
            product = f"SKU-{rng.randrange(5000):04d}"
            copy.write_row((
                handoffs[i % len(handoffs)], type_code, queues[type_code], status, rng.choice([10, 20, 20, 30, 40]),
                f"{CATALOGUE[type_code].label} {product}", "", "{}", f"{type_code}:{i}", 1, seen, seen, "",
                '["eu"]' if i % 17 == 0 else "[]", f"{rng.randrange(100, 500000)}.00", "USD",
                rng.choice(CUSTOMERS), product, rng.choice(["US", "DE", "GB", "FR"]), "", 0.0,
                assignee_id if i % 11 == 0 else None,
            ))
    # What autovacuum does to a table of this size in production soon after such a load: fresh
    # statistics, and the visibility map that lets the list's index-only scans skip the heap.
    with connection.cursor() as cursor:
        cursor.execute("VACUUM (ANALYZE) exceptions_syncexception")
    print(f"\nloaded {ROWS:,} exceptions in {time.perf_counter() - started:.1f} s")


def _p95(samples: list[float]) -> float:
    return statistics.quantiles(samples, n=20)[18] if len(samples) >= 20 else max(samples)


@pytest.mark.bench
@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)  # committed rows: VACUUM can mark them all-visible
def test_bench_triage_list_with_a_million_exceptions() -> None:
    analyst = UserFactory(username="bench_analyst")
    queue_member_add(queue=queue_ensure(slug="pricing"), user=analyst)
    _load(analyst.pk)
    assert SyncException.objects.count() >= ROWS
    client = Client()
    client.force_login(analyst)
    combos = {
        "default (open, priority)": "",
        "type + amount range": "type=pricing_mismatch&amount_min=10000&amount_max=200000",
        "customer contains": "customer=globex",
        "product": "product=SKU-0042",
        "assignee me": "assignee=me",
        "age 1-3 days, oldest first": "age=1d_3d&sort=oldest",
        "tag": "tag=eu",
        "all statuses": "status=",
    }
    client.get("/triage/q/pricing/")  # a served process has its templates compiled already
    print(f"{'filters':32} {'p50 ms':>8} {'p95 ms':>8}  rows")
    for label, query in combos.items():
        samples = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(f"/triage/q/pricing/?{query}")
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"{label:32} {statistics.median(samples):8.1f} {_p95(samples):8.1f}  "
              f"{response.context['total'] if response.context else '?'}")
    for label, url in (("queue overview", "/triage/"), ("next page (keyset)", None)):
        if url is None:
            first = client.get("/triage/q/pricing/")
            url = f"/triage/q/pricing/{first.context['next_url']}"
        samples = []
        for _ in range(REPEAT):
            started = time.perf_counter()
            response = client.get(url)
            samples.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
        print(f"{label:32} {statistics.median(samples):8.1f} {_p95(samples):8.1f}")
    # Where the time goes: the slowest SQL statements of one default list request.
    with CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        client.get("/triage/q/pricing/")
        total = (time.perf_counter() - started) * 1000
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    print(f"default list: {len(queries.captured_queries)} queries, {total:.0f} ms; slowest:")
    for q in slowest:
        print(f"  {float(q['time']) * 1000:7.1f} ms  {q['sql'][:160]}")


@pytest.mark.bench
@pytest.mark.timeout(900)
@pytest.mark.django_db(transaction=True)
def test_bench_bulk_assign_job() -> None:
    """A bulk job of BULK_LIMIT items: start time (the request) and items per second (the worker)."""
    from exceptions import bulk
    from exceptions.tasks import bulk_job_run
    from tests.factories import SyncExceptionFactory

    analyst = UserFactory(username="bench_bulk")
    queue = queue_ensure(slug="pricing")
    queue_member_add(queue=queue, user=analyst)
    handoff = HandoffFactory(status=HandoffStatus.BLOCKED)
    ids = [SyncExceptionFactory(handoff=handoff, type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:b{i}").pk
           for i in range(bulk.BULK_LIMIT)]
    started = time.perf_counter()
    with mock.patch.object(bulk_job_run, "delay"):  # the worker is this process, below
        job = bulk.bulk_job_start(user=analyst, queue=queue, ids=ids, action="assign_me")
    start_ms = (time.perf_counter() - started) * 1000
    started = time.perf_counter()
    done = bulk.bulk_job_run(job_id=job.pk)
    seconds = time.perf_counter() - started
    assert done is not None and done.changed == len(ids)
    print(f"\nbulk assign of {len(ids):,}: started in {start_ms:.0f} ms, worked in {seconds:.1f} s "
          f"({len(ids) / seconds:,.0f} items/s, one audit row each)")
