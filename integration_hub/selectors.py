"""Reads on handoffs."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet
from django.utils import timezone

from integration_hub.models import WORKABLE_STATUSES, Handoff, salesforce_id_18


def user_is_integration_user(*, user: AbstractBaseUser | AnonymousUser) -> bool:
    """Staff, or a member of any exception queue: the people who may look at handoffs."""
    if not user.is_authenticated:
        return False
    return bool(user.is_staff) or user.exception_queues.exists()  # type: ignore[union-attr]


def handoff_list(
    *, user: AbstractBaseUser | AnonymousUser, opportunity_id: str | None = None, status: str | None = None
) -> QuerySet[Handoff]:
    """Handoffs visible to `user`, with `open_exception_count` and open exceptions prefetched."""
    from exceptions.models import ExceptionStatus, SyncException

    if not user_is_integration_user(user=user):
        return Handoff.objects.none()
    qs = Handoff.objects.annotate(
        open_exception_count=Count("exceptions", filter=Q(exceptions__status=ExceptionStatus.OPEN))
    ).prefetch_related(
        Prefetch(
            "exceptions",
            queryset=SyncException.objects.filter(status=ExceptionStatus.OPEN).select_related("queue"),
            to_attr="open_exceptions",
        )
    )
    if opportunity_id:
        try:
            qs = qs.filter(opportunity_id=salesforce_id_18(opportunity_id))
        except ValueError:
            return Handoff.objects.none()
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def handoffs_due(*, now: datetime | None = None, stale_after_seconds: int = 60) -> QuerySet[Handoff]:
    """Work a lost message left behind: workable, unclaimed (or lease gone), and due.

    For the sweeper: a handoff is due when its `next_attempt_at` passed, or when it has none
    and has not moved for `stale_after_seconds`.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=stale_after_seconds)
    lease_expired = now - timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", 300))
    return (
        Handoff.objects.filter(status__in=WORKABLE_STATUSES)
        .filter(Q(claimed_at__isnull=True) | Q(claimed_at__lt=lease_expired))
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, updated_at__lte=stale))
    )
