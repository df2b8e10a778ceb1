"""Reads on exceptions and queues: filtered, permission-scoped lists, keyset pages, overview
counts and the evidence a resolution form needs."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Count, F, Min, Q, QuerySet, Value
from django.db.models.functions import Abs, Coalesce
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from crosswalks.matching import best_matches
from crosswalks.models import PaymentTermsMapping, ProductMappingComponent
from crosswalks.suggestions import Candidate, account_candidates, is_confident, suggest_materials
from exceptions.calendar import business_elapsed, business_subtract, calendar_for_queue
from exceptions.errors import InvalidCursor
from exceptions.models import ExceptionStatus, PendingResolution, Queue, SyncException
from exceptions.permissions import queues_for
from integration_hub.lookups import JSONArrayHas
from integration_hub.models import salesforce_id_18

Viewer = User | AnonymousUser


def queue_list_for_user(*, user: Viewer) -> QuerySet[Queue]:
    """Queues a user may view: all for staff, their memberships / guardian grants otherwise."""
    return queues_for(user=user, perm="view")


AGE_BUCKETS: dict[str, tuple[timedelta | None, timedelta | None]] = {
    "lt4h": (None, timedelta(hours=4)),
    "4h_24h": (timedelta(hours=4), timedelta(hours=24)),
    "1d_3d": (timedelta(days=1), timedelta(days=3)),
    "gt3d": (timedelta(days=3), None),
}
AGE_LABELS = {"lt4h": "< 4 h", "4h_24h": "4–24 h", "1d_3d": "1–3 days", "gt3d": "> 3 days"}


def _decimal(value: Any) -> Decimal | None:
    """A finite Decimal, or None: "NaN" and "Infinity" parse as Decimals but compare with nothing."""
    try:
        number = None if value in (None, "") else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if number is not None and number.is_finite() else None


def exception_list(
    *,
    user: Viewer,
    opportunity_id: str | None = None,
    status: str | None = None,
    queue_slug: str | None = None,
    queue: Queue | None = None,
    type_code: str | None = None,
    assignee: str | None = None,
    age: str | None = None,
    amount_min: Any = None,
    amount_max: Any = None,
    customer: str | None = None,
    product: str | None = None,
    tag: str | None = None,
    fingerprint: str | None = None,
    include_snoozed: bool = True,
    now: datetime | None = None,
) -> QuerySet[SyncException]:
    """Exceptions a user may see (their queues' only, unless staff), filtered.

    `opportunity_id` may be either form; raises `InvalidSalesforceId` when it is not an id.
    """
    qs = SyncException.objects.select_related("queue", "handoff", "assignee")
    if not user.is_authenticated:
        return qs.none()
    if not (user.is_staff or user.is_superuser):
        qs = qs.filter(queue__in=queues_for(user=user, perm="view"))
    if opportunity_id:
        qs = qs.filter(handoff__opportunity_id=salesforce_id_18(opportunity_id))
    if status:
        qs = qs.filter(status=status)
    if queue is not None:
        qs = qs.filter(queue_id=queue.pk)
    elif queue_slug:
        qs = qs.filter(queue__slug=queue_slug)
    if type_code:
        qs = qs.filter(type_code=type_code)
    if assignee == "me":
        # By id: `user` is authenticated here, but the type checker cannot narrow AnonymousUser away.
        qs = qs.filter(assignee_id=user.pk)
    elif assignee == "none":
        qs = qs.filter(assignee__isnull=True)
    elif assignee:
        qs = qs.filter(assignee__username=assignee)
    now = now or timezone.now()
    if age in AGE_BUCKETS:
        older, younger = AGE_BUCKETS[age]
        if older is not None:
            qs = qs.filter(first_seen__lte=now - older)
        if younger is not None:
            qs = qs.filter(first_seen__gt=now - younger)
    if (low := _decimal(amount_min)) is not None:
        qs = qs.filter(amount__gte=low)
    if (high := _decimal(amount_max)) is not None:
        qs = qs.filter(amount__lte=high)
    if customer:
        qs = qs.filter(customer_name__icontains=customer)
    if product:
        qs = qs.filter(product_code__icontains=product)
    if tag:
        qs = qs.filter(JSONArrayHas(F("tags"), tag.strip().lower()))
    if fingerprint:
        qs = qs.filter(fingerprint=fingerprint)
    if not include_snoozed:
        qs = qs.filter(Q(snoozed_until__isnull=True) | Q(snoozed_until__lte=now))
    return qs.order_by("-priority", "first_seen", "pk")


# -- sorting and keyset pagination -----------------------------------------------------------------
# Each sort is a tuple of (field, descending); the last key is unique so pages never overlap.
# Every column of the list sorts; "-<key>" is the same sort the other way round (validated here:
# an unknown key falls back to the default, never reaches ORDER BY).
SORTS: dict[str, tuple[str, tuple[tuple[str, bool], ...]]] = {
    "priority": ("Priority", (("priority", True), ("first_seen", False), ("pk", False))),
    "oldest": ("Oldest first", (("first_seen", False), ("pk", False))),
    "newest": ("Newest first", (("first_seen", True), ("pk", True))),
    "amount": ("Largest deal", (("amount_sort", True), ("pk", False))),
    "variance": ("Largest price variance", (("variance_sort", True), ("pk", False))),
    "exposure": ("Largest credit exposure", (("exposure_sort", True), ("pk", False))),
    "customer": ("Customer A–Z", (("customer_name", False), ("pk", False))),
    "product": ("Product A–Z", (("product_code", False), ("pk", False))),
    "assignee": ("Assignee A–Z", (("assignee_sort", False), ("pk", False))),
}
# Annotations the sorts read: an empty value sorts last (after every real number / name).
SORT_ANNOTATIONS: dict[str, Any] = {
    "amount_sort": lambda: Coalesce(F("amount"), Value(Decimal("-1"))),
    "variance_sort": lambda: Coalesce(Abs(F("variance_pct")), Value(Decimal("-1"))),
    "exposure_sort": lambda: Coalesce(F("exposure"), Value(Decimal("-1"))),
    "assignee_sort": lambda: Coalesce(F("assignee__username"), Value("\uffff")),
}
DECIMAL_KEYS = frozenset({"amount_sort", "variance_sort", "exposure_sort"})
TEXT_KEYS = frozenset({"customer_name", "product_code", "assignee_sort"})


def sort_keys(sort: str) -> tuple[str, tuple[tuple[str, bool], ...]]:
    """The validated sort name and its keys; "-name" reverses every key (so keyset pages still work)."""
    name = sort.removeprefix("-")
    if name not in SORTS:
        return "priority", SORTS["priority"][1]
    keys = SORTS[name][1]
    if sort.startswith("-"):
        return sort, tuple((key, not desc) for key, desc in keys)
    return name, keys


@dataclass
class Page:
    rows: list[SyncException]
    next_cursor: str = ""
    sort: str = "priority"
    extra: dict[str, Any] = field(default_factory=dict)


def _encode(values: list[Any]) -> str:
    raw = json.dumps([v.isoformat() if isinstance(v, datetime) else str(v) for v in values])
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


# An integer key (priority, id) outside a signed 64-bit range cannot come from a page this list
# handed out, and PostgreSQL would refuse to compare it with a bigint (a 500, not an empty page).
INT_KEY_RANGE = range(-(2**63), 2**63)


def _decode(cursor: str, keys: tuple[tuple[str, bool], ...]) -> list[Any]:
    """The sort keys a cursor carries; `InvalidCursor` for anything `_encode` did not write."""
    invalid = InvalidCursor("The list's page link is invalid (an invalid cursor): start again from the first page.")
    try:
        values = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (ValueError, TypeError) as error:
        raise invalid from error
    if not isinstance(values, list) or len(values) != len(keys):
        raise invalid
    out: list[Any] = []
    for (name, _), value in zip(keys, values, strict=True):
        if name == "first_seen":
            try:
                parsed = parse_datetime(str(value))  # "2024-02-30T…" is well formed but no date: ValueError
            except ValueError as error:
                raise invalid from error
            if parsed is None or timezone.is_naive(parsed):
                raise invalid
            out.append(parsed)
        elif name in TEXT_KEYS:
            if not isinstance(value, str) or len(value) > 255:
                raise invalid
            out.append(value)
        elif name in DECIMAL_KEYS:
            amount = _decimal(value)
            if amount is None:
                raise invalid
            out.append(amount)
        else:
            try:
                number = int(str(value))
            except ValueError as error:
                raise invalid from error
            if number not in INT_KEY_RANGE:
                raise invalid
            out.append(number)
    return out


def _after(keys: tuple[tuple[str, bool], ...], values: list[Any]) -> Q:
    """Rows strictly after `values` in the order of `keys` (mixed directions)."""
    condition = Q()
    for i in range(len(keys) - 1, -1, -1):
        name, desc = keys[i]
        beyond = Q(**{f"{name}__{'lt' if desc else 'gt'}": values[i]})
        condition = beyond if i == len(keys) - 1 else beyond | (Q(**{name: values[i]}) & condition)
    return condition


# The list shows neither the evidence nor the handoff's payloads; fifty rows of them would be
# megabytes per refresh.
LIST_DEFER = ("evidence", "message", "resolution_note", "handoff__canonical", "handoff__overrides",
              "handoff__last_error")


def exception_page(qs: QuerySet[SyncException], *, sort: str = "priority", cursor: str = "",
                   size: int = 50) -> Page:
    """One keyset page of `qs` in `sort` order, and the cursor of the next page; raises
    `InvalidCursor` when `cursor` is not one a page handed out.

    Two steps (a "deferred join"): the page's ids and sort keys come from the covering list
    indexes alone (an index-only scan, whatever the filters), then only those rows are read whole.
    """
    sort, keys = sort_keys(sort)
    for name, _ in keys:
        if name in SORT_ANNOTATIONS:
            qs = qs.annotate(**{name: SORT_ANNOTATIONS[name]()})
    order = [f"-{name}" if desc else name for name, desc in keys]
    qs = qs.order_by(*order)
    if cursor:
        qs = qs.filter(_after(keys, _decode(cursor, keys)))
    hits = list(qs.values_list(*[name for name, _ in keys])[: size + 1])
    next_cursor = ""
    if len(hits) > size:
        hits = hits[:size]
        next_cursor = _encode(list(hits[-1]))
    ids = [hit[-1] for hit in hits]  # the last key is always the pk
    found = (SyncException.objects.select_related("queue", "handoff", "assignee").defer(*LIST_DEFER)
             .in_bulk(ids))
    return Page(rows=[found[pk] for pk in ids if pk in found], next_cursor=next_cursor, sort=sort)


# -- overview ---------------------------------------------------------------------------------------
@dataclass
class QueueStats:
    queue: Queue
    open: int = 0
    assigned: int = 0
    snoozed: int = 0
    resolved_today: int = 0
    ages: dict[str, int] = field(default_factory=dict)
    breached: int = 0
    at_risk: int = 0
    oldest: SyncException | None = None
    mine: int = 0  # open ones assigned to the viewer (my_work)


def queue_overview(*, user: Viewer, now: datetime | None = None) -> list[QueueStats]:
    """Per visible queue: open / assigned / snoozed counts, age buckets, SLA breached and at
    risk (past 75 % of the queue's SLA, in business hours of its calendar), the oldest open item."""
    now = now or timezone.now()
    queues = list(queues_for(user=user, perm="view").select_related("calendar").order_by("name"))
    stats = {q.pk: QueueStats(queue=q) for q in queues}
    open_qs = SyncException.objects.filter(queue__in=queues, status=ExceptionStatus.OPEN)
    aggregates: dict[str, Any] = {
        "open": Count("pk"),
        "assigned": Count("pk", filter=Q(assignee__isnull=False)),
        "snoozed": Count("pk", filter=Q(snoozed_until__gt=now)),
        "oldest": Min("first_seen"),
    }
    for key, (older, younger) in AGE_BUCKETS.items():
        condition = Q()
        if older is not None:
            condition &= Q(first_seen__lte=now - older)
        if younger is not None:
            condition &= Q(first_seen__gt=now - younger)
        aggregates[f"age_{key}"] = Count("pk", filter=condition)
    for row in open_qs.values("queue_id").annotate(**aggregates):
        s = stats[row["queue_id"]]
        s.open, s.assigned, s.snoozed = row["open"], row["assigned"], row["snoozed"]
        s.ages = {key: row[f"age_{key}"] for key in AGE_BUCKETS}
    for s in stats.values():
        cutoffs = sla_cutoffs(s.queue, now=now)
        mine = open_qs.filter(queue=s.queue)
        s.breached = mine.filter(first_seen__lte=cutoffs.breached).count()
        s.at_risk = mine.filter(first_seen__lte=cutoffs.at_risk, first_seen__gt=cutoffs.breached).count()
        s.oldest = mine.order_by("first_seen", "pk").first()
        s.resolved_today = SyncException.objects.filter(
            queue=s.queue, status=ExceptionStatus.RESOLVED, resolved_at__gte=now - timedelta(hours=24)
        ).count()
        if not s.ages:
            s.ages = dict.fromkeys(AGE_BUCKETS, 0)
    return list(stats.values())


def my_work(*, user: Viewer, now: datetime | None = None) -> list[QueueStats]:
    """The queues a person works (not only views), with the overview's counts and how many of
    the open ones are assigned to them: what their home page opens on."""
    if not user.is_authenticated:
        return []
    workable = set(queues_for(user=user, perm="work").values_list("pk", flat=True))
    stats = [s for s in queue_overview(user=user, now=now) if s.queue.pk in workable]
    mine = dict(SyncException.objects.filter(queue_id__in=workable, status=ExceptionStatus.OPEN, assignee_id=user.pk)
                .order_by().values_list("queue_id").annotate(n=Count("pk")).values_list("queue_id", "n"))
    for s in stats:
        s.mine = mine.get(s.queue.pk, 0)
    return stats


@dataclass(frozen=True)
class SlaCutoffs:
    """An open exception first seen at or before `breached` has been open the queue's SLA in
    business hours of its calendar; at or before `at_risk`, 75 % of it."""

    breached: datetime
    at_risk: datetime


def sla_cutoffs(queue: Queue, *, now: datetime | None = None) -> SlaCutoffs:
    """The queue's SLA counted like its escalation timers: business hours of its calendar (a
    weekend or a holiday does not breach anything). One pair of instants per queue, so a list
    or a count compares `first_seen` in SQL instead of walking calendars row by row."""
    now = now or timezone.now()
    calendar = calendar_for_queue(queue)
    sla = timedelta(hours=queue.sla_hours)
    return SlaCutoffs(breached=business_subtract(calendar, now, sla),
                      at_risk=business_subtract(calendar, now, sla * 0.75))


def sla_state(exception: SyncException, *, now: datetime | None = None, cutoffs: SlaCutoffs | None = None) -> str:
    """"breached", "at_risk" or "" for an open exception against its queue's SLA (business hours)."""
    if exception.status != ExceptionStatus.OPEN:
        return ""
    cutoffs = cutoffs or sla_cutoffs(exception.queue, now=now)
    if exception.first_seen <= cutoffs.breached:
        return "breached"
    if exception.first_seen <= cutoffs.at_risk:
        return "at_risk"
    return ""


def sla_used(queue: Queue, first_seen: datetime, *, now: datetime, cutoffs: SlaCutoffs | None = None) -> float:
    """The fraction of the queue's SLA an open exception first seen at `first_seen` has used, in
    business hours of its calendar like `sla_cutoffs` (so 1.0 is what the overview calls
    breached), capped at 1.0. Past the breach cutoff it answers without walking the calendar."""
    cutoffs = cutoffs or sla_cutoffs(queue, now=now)
    if first_seen <= cutoffs.breached:
        return 1.0
    sla = timedelta(hours=queue.sla_hours)
    return min(business_elapsed(calendar_for_queue(queue), first_seen, now) / sla, 1.0)


def queue_people(*, queue: Queue) -> list[Any]:
    """A queue's members and leads, each with `role` ("lead" / "member") and `open_assigned`
    (their open exceptions in this queue), by username: the members screen and API."""
    open_assigned = Count("assigned_exceptions", filter=Q(assigned_exceptions__queue=queue,
                                                          assigned_exceptions__status=ExceptionStatus.OPEN))
    people: list[Any] = list(get_user_model().objects.filter(Q(exception_queues=queue) | Q(led_exception_queues=queue))
                  .distinct().annotate(open_assigned=open_assigned).order_by("username"))
    leads = set(queue.leads.values_list("pk", flat=True))
    for person in people:
        person.role = "lead" if person.pk in leads else "member"
    return people


def root_causes(*, user: Viewer, queue: Queue | None = None, limit: int = 8) -> list[dict[str, Any]]:
    """Open causes shared by more than one exception (same type + fingerprint), biggest first."""
    qs = exception_list(user=user, status=ExceptionStatus.OPEN)
    if queue is not None:
        qs = qs.filter(queue=queue)
    causes = list(
        qs.order_by()
        .values("fingerprint", "type_code")
        .annotate(count=Count("pk"), handoffs=Count("handoff", distinct=True), first=Min("pk"))
        .filter(count__gt=1)
        .order_by("-count", "fingerprint")[:limit]
    )
    evidence = dict(SyncException.objects.filter(pk__in=[c["first"] for c in causes]).values_list("pk", "evidence"))
    for cause in causes:
        cause["label"] = cause_label(cause["fingerprint"], evidence.get(cause["first"]) or {})
    return causes


def pending_due(*, exception_ids: list[int]) -> dict[int, datetime]:
    """When each of these exceptions' held resolution (resolve and next, exceptions.undo) applies."""
    return dict(PendingResolution.objects.filter(exception_id__in=exception_ids).values_list("exception_id", "due_at"))


def cause_label(fingerprint: str, evidence: dict[str, Any]) -> str:
    """What a person calls a root cause: the product or account by name, else the fingerprint's
    identity ("pricing_mismatch:price:P0" → "price P0")."""
    for key in ("product_name", "account_name"):
        if evidence.get(key):
            return str(evidence[key])
    return fingerprint.split(":", 1)[-1].replace(":", " ")


# -- evidence for resolution forms ----------------------------------------------------------------
def product_suggestions(*, exception: SyncException, limit: int = 5) -> list[dict[str, Any]]:
    """SAP materials for the unmapped CRM product, best first.

    From the local copy of SAP's material descriptions when it is filled (the crosswalk
    workbench's ranking, description + code); otherwise from materials the crosswalk already uses.
    """
    evidence = exception.evidence or {}
    query = str(evidence.get("product_name") or evidence.get("product_code") or "")
    ranked = suggest_materials(str(evidence.get("product_code") or ""), str(evidence.get("product_name") or ""),
                               limit=limit)
    if ranked:
        return [{"sap_material": c.value, "score": c.confidence, "known_as": c.name[:120], "why": c.why,
                 "confident": is_confident("product", c.confidence)} for c in ranked]
    texts: dict[str, list[str]] = {}
    for material, name, code in ProductMappingComponent.objects.values_list(
        "sap_material", "mapping__crm_product_name", "mapping__crm_product_code"
    ):
        texts.setdefault(material, []).append(f"{name} {code}")
    choices = {material: f"{material} {' '.join(names)}" for material, names in texts.items()}
    return [
        {"sap_material": material, "score": score, "known_as": ", ".join(sorted(set(texts[material])))[:120],
         "why": f"words shared with the products already mapped to it {round(score * 100)}%",
         "confident": is_confident("product", score)}
        for material, score in best_matches(query, choices, limit=limit, cutoff=0.3)
    ]


def customer_candidates(*, exception: SyncException, limit: int = 5) -> list[Candidate]:
    """SAP business partners for the account of a customer_not_found exception: the same
    ranking the crosswalk Suggestions screen shows for that account (one selector, one answer)."""
    return account_candidates(exception.evidence or {}, limit=limit)


def payment_terms_choices() -> list[tuple[str, str]]:
    return [(row.sap_terms_key, f"{row.sap_terms_key} — {row.crm_value}") for row in PaymentTermsMapping.objects.all()]
