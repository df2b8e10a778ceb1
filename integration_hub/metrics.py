"""`/metrics` for Prometheus: the hub's health read from the database at scrape time.

Web and workers are separate processes (and there may be several of each), so counters kept in
one process's memory would each tell part of the story. A custom collector instead turns the
rows every process writes (handoffs, their events, sync attempts, ERP → CRM status writes,
exceptions) into gauges, counters and histograms on each scrape; totals over all rows only grow,
so Prometheus' `rate()` works on them. Celery's queue depth comes from the broker itself.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, QuerySet, Sum
from prometheus_client.core import (
    CollectorRegistry,
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from exceptions.models import ExceptionStatus, SyncException
from integration_hub.breaker import breakers_list
from integration_hub.celery import app as celery_app
from integration_hub.dashboard import ordered_latency
from integration_hub.models import BreakerState, ErpStatusWrite, Handoff, HandoffStatus, SyncAttempt

# Seconds. DESIGN.md's target for closed won → order is 2 minutes; the ERP → CRM poll runs every
# 30 s in the demo, so both need resolution around a minute and a tail up to hours.
LATENCY_BUCKETS = (5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 4 * 3600.0, 24 * 3600.0)
BROKER_TIMEOUT_SECONDS = 1.0


def _histogram(name: str, documentation: str, qs: QuerySet[Any], expression: str) -> HistogramMetricFamily:
    """A histogram of the duration `expression` over `qs`, counted in one aggregate query."""
    aggregates: dict[str, Any] = {
        f"le{i}": Count("pk", filter=Q(**{f"{expression}__lte": timedelta(seconds=bound)}))
        for i, bound in enumerate(LATENCY_BUCKETS)
    }
    row = qs.aggregate(count=Count("pk"), total=Sum(expression), **aggregates)
    buckets: list[tuple[str, float]] = [(_bound(b), float(row[f"le{i}"])) for i, b in enumerate(LATENCY_BUCKETS)]
    buckets.append(("+Inf", float(row["count"])))
    total = row["total"]
    seconds = total.total_seconds() if isinstance(total, timedelta) else float(total or 0) / 1_000_000
    family = HistogramMetricFamily(name, documentation)
    family.add_metric([], buckets, seconds)
    return family


def _bound(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def celery_queues() -> list[str]:
    """The queues workers read: the default one plus any declared in the Celery settings."""
    names = [str(celery_app.conf.task_default_queue or "celery")]
    for queue in celery_app.conf.task_queues or ():
        name = getattr(queue, "name", queue)
        if str(name) not in names:
            names.append(str(name))
    return names


def celery_queue_depth() -> tuple[str, dict[str, int] | None]:
    """(broker kind, messages waiting per queue); None when the broker did not answer.

    Redis keeps a queue as a list (`LLEN`); the embedded filesystem broker as one file per
    message named `…<queue>.msg` in its in-folder.
    """
    url = str(settings.CELERY_BROKER_URL)
    queues = celery_queues()
    if url.startswith("filesystem:"):
        folder = Path(str(settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("data_folder_in", "")))
        if not folder.is_dir():
            return "filesystem", dict.fromkeys(queues, 0)
        names = [path.name for path in folder.iterdir()]
        return "filesystem", {q: sum(1 for n in names if n.endswith(f".{q}.msg")) for q in queues}
    if url.startswith(("redis:", "rediss:")):
        try:
            client = redis.Redis.from_url(url, socket_timeout=BROKER_TIMEOUT_SECONDS,
                                          socket_connect_timeout=BROKER_TIMEOUT_SECONDS)
            return "redis", {q: int(client.llen(q)) for q in queues}
        except redis.RedisError:
            return "redis", None
    return url.split(":", 1)[0], None


class HubCollector(Collector):
    """Everything `/metrics` reports, computed from the database on each `collect()`."""

    def collect(self) -> Iterator[Metric]:
        by_status = dict(Handoff.objects.order_by().values_list("status").annotate(n=Count("pk")))
        handoffs = GaugeMetricFamily("hub_handoffs", "Handoffs by lifecycle status.", labels=["status"])
        for status in HandoffStatus.values:
            handoffs.add_metric([status], float(by_status.get(status, 0)))
        yield handoffs

        yield _histogram("hub_closed_won_to_order_seconds",
                         "Handoff received (closed won) to its SAP order created, per handoff with an order.",
                         ordered_latency(), "latency")
        erp_writes = (ErpStatusWrite.objects.order_by().filter(written=True, erp_changed_at__isnull=False)
                      .annotate(latency=ExpressionWrapper(F("created_at") - F("erp_changed_at"),
                                                          output_field=DurationField())))
        yield _histogram("hub_erp_event_to_crm_seconds",
                         "ERP change of an order to its status written in the CRM, per record written.",
                         erp_writes, "latency")

        open_exceptions = GaugeMetricFamily("hub_open_exceptions", "Open exceptions by queue and type.",
                                            labels=["queue", "type"])
        for queue, type_code, n in (SyncException.objects.order_by().filter(status=ExceptionStatus.OPEN)
                                    .values_list("queue__slug", "type_code").annotate(n=Count("pk"))
                                    .order_by("queue__slug", "type_code")):
            open_exceptions.add_metric([queue, type_code], float(n))
        yield open_exceptions

        calls = CounterMetricFamily("hub_external_calls", "Calls to external systems (sync attempts).",
                                    labels=["system"])
        for system, n in (SyncAttempt.objects.order_by().values_list("system").annotate(n=Count("pk"))
                          .order_by("system")):
            calls.add_metric([system], float(n))
        yield calls
        errors = CounterMetricFamily("hub_external_call_errors", "Failed calls to external systems by error class.",
                                     labels=["system", "error_class"])
        for system, error_class, n in (SyncAttempt.objects.order_by().filter(ok=False)
                                       .values_list("system", "error_class").annotate(n=Count("pk"))
                                       .order_by("system", "error_class")):
            # An HTTP error the connector did not classify still counts, as "http".
            errors.add_metric([system, error_class or "http"], float(n))
        yield errors

        breaker = GaugeMetricFamily(
            "hub_circuit_breaker_state", "ERP circuit breaker per target: 0 closed, 1 half-open, 2 open.",
            labels=["target"])
        parked = GaugeMetricFamily("hub_handoffs_parked", "Handoffs waiting behind an open circuit breaker.",
                                   labels=["target"])
        for view in breakers_list():
            breaker.add_metric([view.target], float(BREAKER_LEVEL[view.state]))
            parked.add_metric([view.target], float(view.parked))
        yield breaker
        yield parked

        broker, depth = celery_queue_depth()
        up = GaugeMetricFamily("hub_celery_broker_up", "Whether the Celery broker answered the scrape.",
                               labels=["broker"])
        up.add_metric([broker], 0.0 if depth is None else 1.0)
        yield up
        queue_depth = GaugeMetricFamily("hub_celery_queue_depth", "Messages waiting in a Celery queue.",
                                        labels=["queue", "broker"])
        for queue, n in (depth or {}).items():
            queue_depth.add_metric([queue, broker], float(n))
        yield queue_depth


BREAKER_LEVEL: dict[str, int] = {BreakerState.CLOSED: 0, BreakerState.HALF_OPEN: 1, BreakerState.OPEN: 2}


def metrics_registry() -> CollectorRegistry:
    """A registry of the hub's collector alone: no process or platform metrics of the one web
    process that happens to answer the scrape."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(HubCollector())
    return registry
