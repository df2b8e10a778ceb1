"""Reads on handoffs."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, User
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.utils import timezone

from approvals.selectors import approvals_visible
from exceptions.models import (
    CATALOGUE,
    NON_HOLDING_TYPES,
    ExceptionStatus,
    ExceptionType,
    Queue,
    SyncException,
)
from exceptions.permissions import queues_for
from integration_hub.models import (
    WORKABLE_STATUSES,
    Handoff,
    HandoffEvent,
    HandoffStatus,
    ReconciliationRun,
    TransformationLog,
    salesforce_id_18,
)

RECONCILIATION_QUEUE = CATALOGUE[ExceptionType.RECONCILIATION_MISSING_ORDER].queue_slug


def user_may_reconcile(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Staff, or a member or lead of the integration-ops queue: who starts and reads reconciliations."""
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return user.is_staff or user.is_superuser or Queue.objects.filter(
        Q(members=user) | Q(leads=user), slug=RECONCILIATION_QUEUE).exists()


def reconciliation_run_get(*, user: AbstractBaseUser | AnonymousUser, run_id: int) -> ReconciliationRun | None:
    """The run if `user` may see it (None for an unknown run and for anyone else alike)."""
    if not user_may_reconcile(user=user):
        return None
    return ReconciliationRun.objects.filter(pk=run_id).first()


def reconciliation_run_list(*, user: AbstractBaseUser | AnonymousUser, limit: int = 20) -> list[ReconciliationRun]:
    """The latest runs, newest first (none for anyone who may not reconcile)."""
    if not user_may_reconcile(user=user):
        return []
    return list(ReconciliationRun.objects.order_by("-created_at", "-pk")[:limit])


def user_is_integration_user(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Staff, or a member of any exception queue: the people who may look at handoffs."""
    if not isinstance(user, User) or not user.is_authenticated:
        return False
    return user.is_staff or user.exception_queues.exists()


def user_sees_every_handoff(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Admins (staff, superusers) and integration ops (the people who reconcile), who watch every deal."""
    return user_may_reconcile(user=user)


def handoffs_visible(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Handoff]:
    """The handoffs `user` may open: a handoff carries customer data and the raw SAP and Salesforce
    calls, so besides admins and integration ops only the people who may see one of its exceptions
    (a queue they may view) or one of its approvals (assigned or delegated to them). One rule for
    the API, the dashboard's deal lists and the trace; anyone else gets 404 or "nothing matches"."""
    if not isinstance(user, User) or not user.is_authenticated:
        return Handoff.objects.none()
    if user_sees_every_handoff(user=user):
        return Handoff.objects.all()
    by_exception = Exists(SyncException.objects.filter(handoff=OuterRef("pk"),
                                                       queue__in=queues_for(user=user, perm="view")))
    by_approval = Exists(approvals_visible(user).filter(handoff=OuterRef("pk")))
    return Handoff.objects.filter(by_exception | by_approval)


# Handoffs that have come to an end: an order exists (and may be written back), or a person
# or the pipeline gave up on the deal. The dashboard's automation rate is out of these.
FINISHED_STATUSES: tuple[str, ...] = (HandoffStatus.CREATED, HandoffStatus.WRITTEN_BACK, HandoffStatus.FAILED,
                                      HandoffStatus.CANCELLED)
ORDERED_STATUSES: tuple[str, ...] = (HandoffStatus.CREATED, HandoffStatus.WRITTEN_BACK)
# At or above this a derived field needs nobody to look at it (DESIGN.md: address < 0.90 is an exception).
CONFIDENT = Decimal("0.90")


def handoff_held() -> Exists:
    """The handoff had a deal-holding exception (any status): a person had to fix its data."""
    return Exists(SyncException.objects.filter(handoff=OuterRef("pk")).exclude(type_code__in=NON_HOLDING_TYPES))


def handoff_touched() -> Exists:
    """A person moved the handoff (an approver, someone re-running, releasing or cancelling it)."""
    return Exists(HandoffEvent.objects.filter(handoff=OuterRef("pk"), actor__isnull=False))


def handoff_list(
    *, user: AbstractBaseUser | AnonymousUser, opportunity_id: str | None = None, status: str | None = None,
    statuses: Collection[str] | None = None, received_since: datetime | None = None,
    received_before: datetime | None = None, needed_person: bool | None = None,
    exception_types: Collection[str] | None = None, low_confidence: bool | None = None,
) -> QuerySet[Handoff]:
    """Handoffs visible to `user` (`handoffs_visible`), with `open_exception_count` and open exceptions
    prefetched.

    `opportunity_id` may be either form; raises `InvalidSalesforceId` when it is not an id.
    The other filters are the dashboard's drill-downs: `needed_person` (a holding exception or a
    person's transition, the rule of the manual intervention rate), `exception_types` (had one of
    them, any status), `low_confidence` (a transformed field below CONFIDENT).
    """
    qs = handoffs_visible(user=user).annotate(
        open_exception_count=Count("exceptions", filter=Q(exceptions__status=ExceptionStatus.OPEN))
    ).prefetch_related(
        Prefetch(
            "exceptions",
            queryset=SyncException.objects.filter(status=ExceptionStatus.OPEN).select_related("queue"),
            to_attr="open_exceptions",
        )
    )
    if opportunity_id:
        qs = qs.filter(opportunity_id=salesforce_id_18(opportunity_id))
    if status:
        qs = qs.filter(status=status)
    if statuses is not None:
        qs = qs.filter(status__in=statuses)
    if received_since is not None:
        qs = qs.filter(created_at__gte=received_since)
    if received_before is not None:
        qs = qs.filter(created_at__lt=received_before)
    if needed_person is not None:
        needed = handoff_held() | handoff_touched()
        qs = qs.filter(needed if needed_person else ~needed)
    if exception_types is not None:
        qs = qs.filter(Exists(SyncException.objects.filter(handoff=OuterRef("pk"), type_code__in=exception_types)))
    if low_confidence is not None:
        low = Exists(TransformationLog.objects.filter(handoff=OuterRef("pk"), confidence__lt=CONFIDENT))
        qs = qs.filter(low if low_confidence else ~low)
    return qs.order_by("-created_at", "-pk")



def health_metrics(*, since: datetime | None = None) -> dict[str, Any]:
    """The home page's counts over handoffs received since `since` (default: 7 days): handoffs by
    status and open exceptions by queue. The rates against DESIGN.md's targets are the
    dashboard's (integration_hub.dashboard), one rule for both screens."""
    since = since or timezone.now() - timedelta(days=7)
    handoffs = Handoff.objects.filter(created_at__gte=since)
    by_status = dict(handoffs.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    open_by_queue = list(
        SyncException.objects.filter(status=ExceptionStatus.OPEN).values("queue__slug", "queue__name")
        .annotate(n=Count("pk")).order_by("-n")
    )
    return {"since": since, "total": sum(by_status.values()), "by_status": by_status,
            "open_by_queue": open_by_queue}


def erp_customers_in_flight(*, erp_target: str, within: timedelta = timedelta(hours=1), limit: int = 500) -> list[str]:
    """The ERP customers of deals being worked on or touched lately: what the cache beat keeps warm."""
    since = timezone.now() - within
    rows = (
        Handoff.objects.filter(erp_target=erp_target)
        .filter(Q(status__in=[*WORKABLE_STATUSES, HandoffStatus.BLOCKED, HandoffStatus.AWAITING_APPROVAL])
                | Q(updated_at__gte=since))
        .filter(updated_at__gte=since - timedelta(days=1))
        .exclude(canonical__organization__sap_business_partner="")
        .values_list("canonical__organization__sap_business_partner", flat=True)
        .order_by("-updated_at")[: limit * 4]
    )
    seen: dict[str, None] = {}
    for number in rows:
        if number and isinstance(number, str):
            seen.setdefault(number, None)
    return list(seen)[:limit]
