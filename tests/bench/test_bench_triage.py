"""Benchmark (`make bench`): the triage list and its filters over 1M exceptions in PostgreSQL.

Prints the p50 / p95 time of the queue list per filter combination (target p95 < 100 ms), of its
next keyset page and of the queue overview, as round trips to the web server production runs
(waitress in its own process) — an upper bound of the server time.
Never asserts on time. Rows go in with COPY; a hundred handoffs carry them all.
"""

from __future__ import annotations

import html
import os
import random
import re
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
import requests
from django.conf import settings
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from exceptions.models import CATALOGUE, SyncException
from exceptions.services import queue_ensure, queue_member_add
from integration_hub.models import HandoffStatus
from tests.bench.test_bench import _free_port, _wait_port
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


@contextmanager
def _served(tmp_path: Path) -> Iterator[str]:
    """The web server as production runs it (waitress, its own process, persistent DB connection)."""
    db = connection.settings_dict
    port = _free_port()
    env = {**os.environ, "DB_CONN_MAX_AGE": "60", "HUB_LOG_LEVEL": "WARNING", "HUB_VAR_DIR": str(tmp_path),
           "DATABASE_URL": f"postgres://{db['USER'] or 'postgres'}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                           f"/{db['NAME']}"}
    log = (tmp_path / "web.log").open("ab")
    web = subprocess.Popen([str(Path(sys.executable).parent / "waitress-serve"), f"--listen=127.0.0.1:{port}",  # noqa: S603
                            "--threads=4", "integration_hub.wsgi:application"], env=env,
                           cwd=str(settings.BASE_DIR), stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        os.killpg(web.pid, signal.SIGTERM)
        web.wait(timeout=10)


def _login(base: str, username: str, password: str) -> requests.Session:
    session = requests.Session()
    session.get(f"{base}/accounts/login/", timeout=30)
    response = session.post(f"{base}/accounts/login/", timeout=30, allow_redirects=False, data={
        "username": username, "password": password, "csrfmiddlewaretoken": session.cookies["csrftoken"]})
    assert response.status_code == 302, response.status_code
    return session


def _timed(session: requests.Session, url: str) -> tuple[list[float], requests.Response]:
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        response = session.get(url, timeout=30)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples, response


@pytest.mark.bench
@pytest.mark.timeout(3600)
@pytest.mark.django_db(transaction=True)  # committed rows: the server process sees them, VACUUM marks them visible
def test_bench_triage_list_with_a_million_exceptions(tmp_path: Path) -> None:
    analyst = UserFactory(username="bench_analyst")
    analyst.set_password("bench-password")
    analyst.save()
    queue_member_add(queue=queue_ensure(slug="pricing"), user=analyst)
    _load(analyst.pk)
    assert SyncException.objects.count() >= ROWS
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
    with _served(tmp_path) as base:
        session = _login(base, "bench_analyst", "bench-password")
        first = session.get(f"{base}/triage/q/pricing/", timeout=30)  # a served process is warm
        next_page = re.search(r'href="(\?[^"]*after=[^"]+)"', first.text)
        assert next_page is not None
        print(f"\nround trips to waitress over loopback, {REPEAT} each ({ROWS:,} exceptions)")
        print(f"{'screen / filters':32} {'p50 ms':>8} {'p95 ms':>8}  matching")
        for label, query in combos.items():
            samples, response = _timed(session, f"{base}/triage/q/pricing/?{query}")
            matching = re.search(r'<span class="muted">([\d,+]+) matching', response.text)
            print(f"{label:32} {statistics.median(samples):8.1f} {_p95(samples):8.1f}  "
                  f"{matching.group(1) if matching else '?'}")
        for label, url in (("next page (keyset)", f"{base}/triage/q/pricing/{html.unescape(next_page.group(1))}"),
                           ("queue overview", f"{base}/triage/")):
            samples, _ = _timed(session, url)
            print(f"{label:32} {statistics.median(samples):8.1f} {_p95(samples):8.1f}")
    # Where the time goes: the SQL of one default list request, in this process.
    client = Client()
    client.force_login(analyst)
    with CaptureQueriesContext(connection) as queries:
        client.get("/triage/q/pricing/")
    sql_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    slowest = sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:3]
    print(f"default list: {len(queries.captured_queries)} queries, {sql_ms:.0f} ms of SQL; slowest:")
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
