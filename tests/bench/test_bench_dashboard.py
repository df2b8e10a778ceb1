"""Benchmark (`make bench`): the operations dashboard, its JSON API and `/metrics` over a few
thousand handoffs in twelve weeks (BENCH_DASHBOARD_DEALS, default 3000).

Prints p50 / p95 server time (in-process Django test client, so no network) and the number of
queries per request. Never asserts on time.
"""

from __future__ import annotations

import os
import statistics
import time

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.dashboard.seed import seed_realistic
from tests.factories import make_cast

DEALS = int(os.environ.get("BENCH_DASHBOARD_DEALS", "3000"))
REPEAT = int(os.environ.get("BENCH_DASHBOARD_REPEAT", "15"))


@pytest.mark.bench
@pytest.mark.django_db
@pytest.mark.timeout(1800)
def test_bench_dashboard(settings) -> None:
    people = make_cast()
    started = time.perf_counter()
    seed_realistic(now=timezone.now(), deals=DEALS, actor=people.approver, attempts_per_day=200)
    print(f"\nseeded {DEALS} handoffs in {time.perf_counter() - started:.1f} s")
    settings.HUB_METRICS_TOKEN = "bench"
    client = Client()
    client.force_login(people.admin)
    for label, url, headers in (("dashboard page", "/dashboard/", {}),
                                ("dashboard JSON", "/api/v1/dashboard/", {}),
                                ("/metrics", "/metrics", {"HTTP_AUTHORIZATION": "Bearer bench"})):
        client.get(url, **headers)  # warm caches of the plan and the templates
        times = []
        for _ in range(REPEAT):
            with CaptureQueriesContext(connection) as queries:
                begin = time.perf_counter()
                response = client.get(url, **headers)
                times.append((time.perf_counter() - begin) * 1000)
            assert response.status_code == 200
        times.sort()
        p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
        print(f"{label:16} p50 {statistics.median(times):7.1f} ms  p95 {p95:7.1f} ms  "
              f"{len(queries.captured_queries)} queries")
