"""The operations dashboard's numbers (issue 11 §4): DESIGN.md's seven health metrics with their
weekly trends and breakdowns, revenue at risk per queue, and the API budget of both systems.

One module computes them for the screen (`integration_hub.dashboard_views`) and the JSON API
(`integration_hub.dashboard_api`), so a number means the same thing in both. Everything is
aggregated in the database (conditional `Count`s grouped by `TruncWeek` / `TruncDate`) and
computed at request time: nothing is cached, so no number on the screen is older than the page.
Percentiles are taken by ordering in SQL and reading one row at the rank (portable to the
embedded SQLite, which has no `percentile_cont`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import (
    Count,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
)
from django.db.models.functions import TruncDate, TruncWeek
from django.urls import reverse
from django.utils import timezone

from exceptions.models import (
    CATALOGUE,
    DATA_DEFECT_TYPES,
    NON_HOLDING_TYPES,
    ExceptionStatus,
    ExceptionType,
    Queue,
    SyncException,
)
from exceptions.permissions import queues_for
from exceptions.selectors import sla_cutoffs, sla_used
from integration_hub.ap.selectors import three_way_match_rate
from integration_hub.connectors.salesforce import api_usage_from_headers
from integration_hub.connectors.sap import SERVICES as SAP_SERVICES
from integration_hub.models import Handoff, HandoffStatus, SyncAttempt, TransformationLog
from integration_hub.selectors import (
    CONFIDENT,
    FINISHED_STATUSES,
    ORDERED_STATUSES,
    handoff_held,
    handoff_touched,
    user_is_integration_user,
)

Viewer = User | AnonymousUser

WEEKS = 12
BUDGET_DAYS = 14
# The headline window: days back from now, and how the screen names it.
PERIODS: dict[int, str] = {1: "last 24 hours", 7: "last 7 days", 30: "last 30 days"}
DEFAULT_DAYS = 7
# How far back to look for the latest `Sforce-Limit-Info`: every Salesforce answer carries it, so
# the newest few attempts have it unless they were transport errors.
LIMIT_HEADER_LOOKBACK = 50
# Confidence buckets of the distribution, as (label, lower bound inclusive, upper bound exclusive).
CONFIDENCE_BUCKETS: tuple[tuple[str, Decimal, Decimal | None], ...] = (
    ("< 0.50", Decimal("0"), Decimal("0.50")),
    ("0.50–0.80", Decimal("0.50"), Decimal("0.80")),
    ("0.80–0.90", Decimal("0.80"), CONFIDENT),
    ("0.90–0.95", CONFIDENT, Decimal("0.95")),
    ("≥ 0.95", Decimal("0.95"), None),
)
PRICING = ExceptionType.PRICING_MISMATCH
HOLDING_TYPES = frozenset(CATALOGUE) - NON_HOLDING_TYPES


# -- shapes ---------------------------------------------------------------------------------------
@dataclass
class BreakdownRow:
    label: str
    count: int
    share: float | None = None
    url: str = ""


@dataclass
class Breakdown:
    title: str
    rows: list[BreakdownRow]


@dataclass
class Series:
    label: str
    values: list[float | None]


@dataclass
class Metric:
    key: str
    label: str
    value: float | None
    unit: str  # "ratio" | "seconds"
    target: float
    better: str  # "above" | "below": which side of the target is good
    target_text: str
    definition: str
    numerator: int | None = None
    denominator: int | None = None
    detail: str = ""
    url: str = ""
    series: list[Series] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)
    available: bool = True
    # The weekly values again, one row per week (the screen's table behind the chart).
    trend: list[tuple[date, list[float | None]]] = field(default_factory=list)

    @property
    def met(self) -> bool | None:
        """Whether the number meets its target; None while there is nothing to measure."""
        if self.value is None:
            return None
        return self.value > self.target if self.better == "above" else self.value < self.target


@dataclass
class RiskRow:
    queue: Queue
    currency: str
    deals: int
    amount: Decimal
    weighted: Decimal
    sla_used_max: float
    breached: int
    without_amount: int
    url: str = ""


@dataclass
class RevenueAtRisk:
    currencies: list[tuple[str, list[RiskRow]]]
    quarter_end: date
    days_to_quarter_end: int


@dataclass
class BudgetDay:
    day: date
    calls: int
    errors: int
    share: float | None = None  # of the allowance


@dataclass
class SapServiceDay:
    day: date
    calls: dict[str, int]
    total: int
    errors: int


@dataclass
class ApiBudget:
    salesforce_days: list[BudgetDay]
    allowance: int | None
    org_used: int | None
    allowance_seen_at: datetime | None
    sap_services: list[str]
    sap_days: list[SapServiceDay]


@dataclass
class Dashboard:
    now: datetime
    days: int
    period_label: str
    since: datetime
    weeks: list[date]
    metrics: list[Metric]
    confidence_buckets: list[BreakdownRow]
    revenue: RevenueAtRisk
    budget: ApiBudget
    handoffs: int


# -- helpers --------------------------------------------------------------------------------------
def _ratio(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def week_starts(now: datetime, weeks: int = WEEKS) -> list[date]:
    """The Mondays of the last `weeks` weeks, oldest first, in the hub's time zone (as TruncWeek)."""
    today = timezone.localtime(now).date()
    monday = today - timedelta(days=today.weekday())
    return [monday - timedelta(weeks=n) for n in range(weeks - 1, -1, -1)]


def _local_midnight(monday: date) -> datetime:
    return timezone.make_aware(datetime.combine(monday, datetime.min.time()))


def _as_date(value: Any) -> date:
    return timezone.localtime(value).date() if isinstance(value, datetime) else value


def quarter_end(today: date) -> date:
    """The last day of `today`'s calendar quarter."""
    last_month = (today.month - 1) // 3 * 3 + 3
    first_after = date(today.year + 1, 1, 1) if last_month == 12 else date(today.year, last_month + 1, 1)
    return first_after - timedelta(days=1)


def deals_url(segment: str, days: int) -> str:
    """The drill-down list of the handoffs behind a number."""
    return f"{reverse('dashboard:deals')}?{urlencode({'segment': segment, 'days': days})}"


def _triage_url(queue_slug: str, visible: set[str], **params: str) -> str:
    """The triage list of a queue, filtered; empty when the viewer may not see that queue."""
    if queue_slug not in visible:
        return ""
    query = urlencode({k: v for k, v in params.items() if v})
    return reverse("exceptions:list", args=[queue_slug]) + (f"?{query}" if query else "")


# -- the handoff side: one aggregate rule for the period and for each week ------------------------
def _handoff_aggregates() -> dict[str, Count]:
    """The counts every handoff metric is made of, for the period and for each week alike.
    "Needed a person" is the rule the drill-down filters on too (selectors.handoff_list)."""
    needed = handoff_held() | handoff_touched()
    priced = Exists(SyncException.objects.filter(handoff=OuterRef("pk"), type_code=PRICING))
    return {
        "total": Count("pk"),
        "finished": Count("pk", filter=Q(status__in=FINISHED_STATUSES)),
        "automated": Count("pk", filter=Q(status__in=ORDERED_STATUSES) & ~needed),
        "manual": Count("pk", filter=needed),
        "priced": Count("pk", filter=Q(priced)),
    }


def _handoffs() -> QuerySet[Handoff]:
    return Handoff.objects.order_by()


def ordered_latency() -> QuerySet[Handoff]:
    """Handoffs that reached `created`, with `latency`: received (the row's creation) → its first
    transition to `created`. A re-created order after a failure keeps its first time.

    A join grouped by handoff rather than a correlated subquery: an aggregate over it (the
    `/metrics` histogram's ten buckets) then reads each handoff once, in a derived table."""
    return (Handoff.objects.order_by()
            .annotate(ordered_at=Min("events__created_at", filter=Q(events__to_status=HandoffStatus.CREATED)))
            .filter(ordered_at__isnull=False)
            .annotate(latency=ExpressionWrapper(F("ordered_at") - F("created_at"), output_field=DurationField())))


def percentile(qs: QuerySet[Any], expression: str, fraction: float, *, count: int | None = None) -> float | None:
    """The nearest-rank percentile of `expression` (a duration) over `qs`, in seconds: ordered in
    SQL, one row read at the rank."""
    count = qs.count() if count is None else count
    if not count:
        return None
    rank = max(math.ceil(fraction * count) - 1, 0)
    value = qs.order_by(expression).values_list(expression, flat=True)[rank]
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def latency_percentiles(qs: QuerySet[Any], expression: str = "latency", *,
                        count: int | None = None) -> tuple[float | None, float | None]:
    count = qs.count() if count is None else count
    return percentile(qs, expression, 0.5, count=count), percentile(qs, expression, 0.95, count=count)


# -- the metrics ----------------------------------------------------------------------------------
def _weekly(rows: Iterable[dict[str, Any]], weeks: list[date]) -> dict[date, dict[str, Any]]:
    by_week = {_as_date(row["week"]): row for row in rows}
    return {week: by_week.get(week, {}) for week in weeks}


def dashboard_get(*, user: Viewer, days: int = DEFAULT_DAYS, now: datetime | None = None) -> Dashboard | None:
    """Everything the dashboard shows, for handoffs received in the last `days` days (and the last
    WEEKS weeks for the trends); None for anyone who may not look at handoffs."""
    if not user_is_integration_user(user=user):
        return None
    now = now or timezone.now()
    days = days if days in PERIODS else DEFAULT_DAYS
    since = now - timedelta(days=days)
    weeks = week_starts(now)
    trend_start = _local_midnight(weeks[0])
    visible = set(queues_for(user=user, perm="view").values_list("slug", flat=True))

    # Handoff counts: the period in one aggregate, the weeks in one grouped query.
    period = _handoffs().filter(created_at__gte=since).aggregate(**_handoff_aggregates())
    weekly = _weekly(_handoffs().filter(created_at__gte=trend_start).annotate(week=TruncWeek("created_at"))
                     .values("week").annotate(**_handoff_aggregates()), weeks)

    def weekly_ratio(numerator: str, denominator: str) -> list[float | None]:
        return [_ratio(row.get(numerator, 0), row.get(denominator, 0)) for row in weekly.values()]

    # Fields transformed and data defects, by the week the deal was received.
    logs = TransformationLog.objects.order_by()
    log_counts = {"fields": Count("pk"), "confident": Count("pk", filter=Q(confidence__gte=CONFIDENT))}
    period_logs = logs.filter(handoff__created_at__gte=since).aggregate(**log_counts)
    weekly_logs = _weekly(logs.filter(handoff__created_at__gte=trend_start)
                          .annotate(week=TruncWeek("handoff__created_at")).values("week").annotate(**log_counts), weeks)
    defects = SyncException.objects.order_by().filter(type_code__in=DATA_DEFECT_TYPES)
    period_defects = defects.filter(handoff__created_at__gte=since).count()
    weekly_defects = _weekly(defects.filter(handoff__created_at__gte=trend_start)
                             .annotate(week=TruncWeek("handoff__created_at")).values("week")
                             .annotate(defects=Count("pk")), weeks)

    # Exceptions raised on the period's deals, per queue and per type: the breakdowns.
    raised = (SyncException.objects.order_by().filter(handoff__created_at__gte=since)
              .values("queue__slug", "queue__name", "type_code")
              .annotate(deals=Count("handoff", distinct=True), n=Count("pk")))
    raised_rows = list(raised)

    def by_type(types: frozenset[str], *, value: str = "deals", denominator: int) -> Breakdown:
        counts: dict[str, int] = {}
        queue_of: dict[str, str] = {}
        for row in raised_rows:
            if row["type_code"] in types:
                counts[row["type_code"]] = counts.get(row["type_code"], 0) + row[value]
                queue_of[row["type_code"]] = row["queue__slug"]
        rows = [BreakdownRow(CATALOGUE[code].label, n, _ratio(n, denominator),
                             _triage_url(queue_of[code], visible, type=code, status=""))
                for code, n in sorted(counts.items(), key=lambda kv: -kv[1])]
        return Breakdown("By exception type", rows)

    def by_queue(types: frozenset[str], *, denominator: int) -> Breakdown:
        deals_per_queue = (SyncException.objects.order_by().filter(handoff__created_at__gte=since, type_code__in=types)
                           .values("queue__slug", "queue__name").annotate(deals=Count("handoff", distinct=True))
                           .order_by("-deals", "queue__name"))
        return Breakdown("By queue (deals)", [
            BreakdownRow(row["queue__name"], row["deals"], _ratio(row["deals"], denominator),
                         _triage_url(row["queue__slug"], visible, status=""))
            for row in deals_per_queue])

    total, finished = period["total"], period["finished"]
    ordered = ordered_latency()
    period_ordered = ordered.filter(created_at__gte=since)
    p50, p95 = latency_percentiles(period_ordered)
    weekly_latency: list[tuple[float | None, float | None]] = []
    week_bounds = [*(_local_midnight(w) for w in weeks), None]
    for start, end in zip(week_bounds, week_bounds[1:], strict=False):
        assert start is not None  # noqa: S101 - only the upper bound of the last week is open
        in_week = ordered.filter(created_at__gte=start, **({"created_at__lt": end} if end else {}))
        weekly_latency.append(latency_percentiles(in_week))

    fields_n, confident_n = period_logs["fields"], period_logs["confident"]
    accuracy = (max(1 - period_defects / fields_n, 0.0) if fields_n else None)
    weekly_accuracy = [
        (max(1 - weekly_defects[w].get("defects", 0) / weekly_logs[w]["fields"], 0.0)
         if weekly_logs[w].get("fields") else None) for w in weeks]

    ap_auto, ap_matched = three_way_match_rate(since=since)
    metrics = [
        Metric(
            key="automation_rate", label="Handoff automation rate", unit="ratio", target=0.85, better="above",
            target_text="> 85 %", value=_ratio(period["automated"], finished),
            numerator=period["automated"], denominator=finished,
            definition="Finished deals that became an SAP order with no person acting on them (no exception "
                       "that held the deal, no person moving it), out of all finished deals (ordered, "
                       "failed or cancelled).",
            url=deals_url("automated", days),
            series=[Series("Automation rate", weekly_ratio("automated", "finished"))],
            breakdowns=[by_queue(HOLDING_TYPES, denominator=finished)],
        ),
        Metric(
            key="data_accuracy", label="Field-level data accuracy", unit="ratio", target=0.98, better="above",
            target_text="> 98 %", value=accuracy, numerator=period_defects, denominator=fields_n,
            definition="1 − data exceptions ÷ fields transformed, for deals received in the period. Data "
                       "exceptions are the catalogue's data defects (customer not in SAP, pricing mismatch, "
                       "product not mapped, address invalid, missing required field, reconciliation amount "
                       "drift and line mismatch), each counted as one wrong field; fields transformed are "
                       "the transformation-log lines.",
            detail=f"{period_defects} data exception{'s' if period_defects != 1 else ''} in {fields_n} fields",
            url=deals_url("data_defect", days),
            series=[Series("Accuracy", weekly_accuracy)],
            breakdowns=[by_type(DATA_DEFECT_TYPES, value="n", denominator=fields_n)],
        ),
        Metric(
            key="order_latency", label="Closed-won → SAP order latency (p95)", unit="seconds", target=120.0,
            better="below", target_text="< 2 min", value=p95, denominator=period_ordered.count(),
            definition="From the handoff received (the closed-won deal reached the hub) to its first "
                       "transition to created (the SAP order exists), for deals received in the period that "
                       "have an order. The headline is the 95th percentile; p50 beside it.",
            detail=f"p50 {_seconds_text(p50)}",
            url=deals_url("ordered", days),
            series=[Series("p50", [pair[0] for pair in weekly_latency]),
                    Series("p95", [pair[1] for pair in weekly_latency])],
        ),
        Metric(
            key="manual_rate", label="Manual intervention rate", unit="ratio", target=0.15, better="below",
            target_text="< 15 %", value=_ratio(period["manual"], total), numerator=period["manual"],
            denominator=total,
            definition="Deals received in the period that needed a person: an exception held the deal, or a "
                       "person moved it (approved, re-ran, released, cancelled), out of all deals received.",
            url=deals_url("manual", days),
            series=[Series("Manual intervention", weekly_ratio("manual", "total"))],
            breakdowns=[by_queue(HOLDING_TYPES, denominator=total),
                        by_type(HOLDING_TYPES, denominator=total)],
        ),
        Metric(
            key="three_way_match", label="3-way match auto rate (AP)", unit="ratio", target=0.90, better="above",
            target_text="> 90 %", value=_ratio(ap_auto, ap_matched), numerator=ap_auto, denominator=ap_matched,
            available=ap_matched > 0,  # "not measured yet" until a vendor invoice has been matched
            definition="Vendor invoices received in the period and matched (posted, held or rejected) that SAP "
                       "got with no exception at all, out of all of them.",
            detail=f"{ap_auto} of {ap_matched} vendor invoice{'s' if ap_matched != 1 else ''} posted untouched",
        ),
        Metric(
            key="price_variance", label="Price variance exceptions", unit="ratio", target=0.10, better="below",
            target_text="< 10 %", value=_ratio(period["priced"], total), numerator=period["priced"],
            denominator=total,
            definition="Deals received in the period with a pricing mismatch (SAP's price differs from the "
                       "CRM's by more than the tolerance), out of all deals received.",
            url=deals_url("pricing", days),
            series=[Series("Deals with a price variance", weekly_ratio("priced", "total"))],
            breakdowns=[Breakdown("Open now", [BreakdownRow(
                "Pricing mismatches open", SyncException.objects.filter(type_code=PRICING,
                                                                        status=ExceptionStatus.OPEN).count(),
                url=_triage_url(CATALOGUE[PRICING].queue_slug, visible, type=PRICING))])],
        ),
        Metric(
            key="confidence", label="Fields with confidence ≥ 0.90", unit="ratio", target=0.95, better="above",
            target_text="> 95 % of fields", value=_ratio(confident_n, fields_n), numerator=confident_n,
            denominator=fields_n,
            definition="Transformation-log lines (derived fields) of deals received in the period whose "
                       "confidence is at or above 0.90, out of all of them.",
            url=deals_url("low_confidence", days),
            series=[Series("Fields ≥ 0.90", [_ratio(weekly_logs[w].get("confident", 0), weekly_logs[w].get(
                "fields", 0)) for w in weeks])],
            breakdowns=[_confidence_by_field(since)],
        ),
    ]
    for metric in metrics:
        metric.trend = [(week, [series.values[i] for series in metric.series]) for i, week in enumerate(weeks)]
    return Dashboard(
        now=now, days=days, period_label=PERIODS[days], since=since, weeks=weeks, metrics=metrics,
        confidence_buckets=_confidence_buckets(since, fields_n), revenue=revenue_at_risk(user=user, now=now),
        budget=api_budget(now=now), handoffs=total,
    )


def _seconds_text(value: float | None) -> str:
    if value is None:
        return "—"
    if value < 120:
        return f"{value:.1f} s"
    return f"{value / 60:.1f} min" if value < 7200 else f"{value / 3600:.1f} h"


def _confidence_buckets(since: datetime, total: int) -> list[BreakdownRow]:
    counts: dict[str, Count] = {}
    for index, (_, low, high) in enumerate(CONFIDENCE_BUCKETS):
        condition = Q(confidence__gte=low) & (Q(confidence__lt=high) if high is not None else Q())
        counts[f"b{index}"] = Count("pk", filter=condition)
    row = TransformationLog.objects.order_by().filter(handoff__created_at__gte=since).aggregate(**counts)
    return [BreakdownRow(label, row[f"b{index}"], _ratio(row[f"b{index}"], total))
            for index, (label, _, _) in enumerate(CONFIDENCE_BUCKETS)]


def _confidence_by_field(since: datetime, limit: int = 8) -> Breakdown:
    """The fields least often confident (the share shown is the confident one)."""
    rows = (TransformationLog.objects.order_by().filter(handoff__created_at__gte=since).values("field_path")
            .annotate(n=Count("pk"), confident=Count("pk", filter=Q(confidence__gte=CONFIDENT))))
    ranked = sorted(rows, key=lambda r: (r["confident"] / r["n"], -r["n"], r["field_path"]))[:limit]
    return Breakdown("Least confident fields (share ≥ 0.90)",
                     [BreakdownRow(r["field_path"], r["n"], _ratio(r["confident"], r["n"])) for r in ranked])


# -- revenue at risk --------------------------------------------------------------------------------
def revenue_at_risk(*, user: Viewer, now: datetime | None = None) -> RevenueAtRisk:
    """Per queue, the deals its open holding exceptions block: their amount, and that amount
    weighted by the SLA used (the queue's business-hours SLA, capped at 1) of the deal's oldest
    open exception there — the queue to work first is the one with the most weighted money.

    A deal counts once per queue. Amounts stay in their currency (the hub keeps no exchange
    rates; reconciliation compares amounts only within a currency too): one list per currency.
    """
    now = now or timezone.now()
    visible = set(queues_for(user=user, perm="view").values_list("slug", flat=True))
    blocked = (SyncException.objects.order_by().filter(status=ExceptionStatus.OPEN)
               .exclude(type_code__in=NON_HOLDING_TYPES)
               .values("queue_id", "handoff_id")
               .annotate(first_seen=Min("first_seen"), amount=Max("amount"), currency=Max("currency")))
    queues = {q.pk: q for q in Queue.objects.select_related("calendar")}
    cutoffs = {pk: sla_cutoffs(q, now=now) for pk, q in queues.items()}
    rows: dict[tuple[int, str], RiskRow] = {}
    for deal in blocked:
        queue = queues[deal["queue_id"]]
        currency = deal["currency"] or ""
        row = rows.setdefault((queue.pk, currency), RiskRow(
            queue=queue, currency=currency, deals=0, amount=Decimal(0), weighted=Decimal(0), sla_used_max=0.0,
            breached=0, without_amount=0, url=_triage_url(queue.slug, visible, sort="amount")))
        used = sla_used(queue, deal["first_seen"], now=now, cutoffs=cutoffs[queue.pk])
        row.deals += 1
        row.breached += used >= 1.0
        row.sla_used_max = max(row.sla_used_max, used)
        if deal["amount"] is None:
            row.without_amount += 1
            continue
        row.amount += deal["amount"]
        row.weighted += (deal["amount"] * Decimal(str(round(used, 4)))).quantize(Decimal("0.01"))
    by_currency: dict[str, list[RiskRow]] = {}
    for row in rows.values():
        by_currency.setdefault(row.currency, []).append(row)
    for group in by_currency.values():
        # Weighted money first; outside business hours every SLA clock may stand at 0, and then
        # the bigger blocked amount goes first.
        group.sort(key=lambda r: (-r.weighted, -r.amount, r.queue.name))
    today = timezone.localtime(now).date()
    end = quarter_end(today)
    # The CRM's own currency first, then by the most weighted money.
    ordered = sorted(by_currency.items(), key=lambda kv: (kv[0] != settings.HUB_CRM_CURRENCY,
                                                          -sum(r.weighted for r in kv[1]), kv[0]))
    return RevenueAtRisk(currencies=ordered, quarter_end=end, days_to_quarter_end=(end - today).days)


# -- API budget ---------------------------------------------------------------------------------------
def api_budget(*, now: datetime | None = None, days: int = BUDGET_DAYS) -> ApiBudget:
    """Calls per day to each system over the last `days` days: Salesforce against the org's daily
    allowance (from the newest stored `Sforce-Limit-Info`), SAP per OData service."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    first = today - timedelta(days=days - 1)
    start = _local_midnight(first)
    attempts = SyncAttempt.objects.order_by().filter(created_at__gte=start).annotate(day=TruncDate("created_at"))
    allowance = org_used = None
    seen_at = None
    for headers, created in (SyncAttempt.objects.filter(system="salesforce").order_by("-created_at", "-pk")
                             .values_list("response__headers", "created_at")[:LIMIT_HEADER_LOOKBACK]):
        usage = api_usage_from_headers(headers) if isinstance(headers, dict) else None
        if usage:
            org_used, allowance = usage
            seen_at = created
            break
    sf = {row["day"]: row for row in attempts.filter(system="salesforce").values("day")
          .annotate(calls=Count("pk"), errors=Count("pk", filter=Q(ok=False)))}
    services = {f"s{i}": Count("pk", filter=Q(url__contains=f"/{name}/")) for i, name in enumerate(SAP_SERVICES)}
    sap = {row["day"]: row for row in attempts.filter(system="sap").values("day")
           .annotate(total=Count("pk"), errors=Count("pk", filter=Q(ok=False)), **services)}
    calendar = [first + timedelta(days=n) for n in range(days)]
    sf_days = []
    for day in calendar:
        row = sf.get(day, {})
        calls = row.get("calls", 0)
        sf_days.append(BudgetDay(day, calls, row.get("errors", 0), _ratio(calls, allowance or 0)))
    sap_days = []
    used_services: set[str] = set()
    for day in calendar:
        row = sap.get(day, {})
        calls = {name: row.get(f"s{i}", 0) for i, name in enumerate(SAP_SERVICES)}
        other = row.get("total", 0) - sum(calls.values())
        if other:
            calls["other"] = other
        used_services |= {name for name, n in calls.items() if n}
        sap_days.append(SapServiceDay(day, calls, row.get("total", 0), row.get("errors", 0)))
    shown = [name for name in (*SAP_SERVICES, "other") if name in used_services]
    return ApiBudget(salesforce_days=sf_days, allowance=allowance, org_used=org_used, allowance_seen_at=seen_at,
                     sap_services=shown, sap_days=sap_days)


# -- the drill-down -------------------------------------------------------------------------------
SEGMENTS: dict[str, tuple[str, dict[str, Any]]] = {
    "finished": ("Finished deals", {"statuses": FINISHED_STATUSES}),
    "automated": ("Deals ordered with no person acting", {"statuses": ORDERED_STATUSES, "needed_person": False}),
    "manual": ("Deals that needed a person", {"needed_person": True}),
    "ordered": ("Deals with an SAP order", {"statuses": (*ORDERED_STATUSES,)}),
    "pricing": ("Deals with a pricing mismatch", {"exception_types": (PRICING,)}),
    "data_defect": ("Deals with a data exception", {"exception_types": tuple(sorted(DATA_DEFECT_TYPES))}),
    "low_confidence": ("Deals with a field below 0.90 confidence", {"low_confidence": True}),
}


def segment_filters(segment: str, *, days: int, now: datetime | None = None) -> tuple[str, dict[str, Any]] | None:
    """The title and `handoff_list` filters of a drill-down segment (None for an unknown one)."""
    if segment not in SEGMENTS:
        return None
    now = now or timezone.now()
    days = days if days in PERIODS else DEFAULT_DAYS
    title, filters = SEGMENTS[segment]
    return f"{title}, {PERIODS[days]}", {**filters, "received_since": now - timedelta(days=days)}
