"""Reads on exceptions and queues."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet

from exceptions.models import Queue, SyncException
from integration_hub.models import salesforce_id_18


def queue_list_for_user(*, user: AbstractBaseUser | AnonymousUser) -> QuerySet[Queue]:
    """Queues a user works: all for staff, their memberships otherwise, none for anonymous."""
    if not user.is_authenticated:
        return Queue.objects.none()
    if user.is_staff:
        return Queue.objects.all()
    return Queue.objects.filter(members=user)


def exception_list(
    *,
    user: AbstractBaseUser | AnonymousUser,
    opportunity_id: str | None = None,
    status: str | None = None,
    queue_slug: str | None = None,
    type_code: str | None = None,
) -> QuerySet[SyncException]:
    """Exceptions a user may see (their queues' only, unless staff), filtered."""
    qs = SyncException.objects.select_related("queue", "handoff")
    if not user.is_authenticated:
        return qs.none()
    if not user.is_staff:
        qs = qs.filter(queue__members=user)
    if opportunity_id:
        try:
            qs = qs.filter(handoff__opportunity_id=salesforce_id_18(opportunity_id))
        except ValueError:
            return qs.none()
    if status:
        qs = qs.filter(status=status)
    if queue_slug:
        qs = qs.filter(queue__slug=queue_slug)
    if type_code:
        qs = qs.filter(type_code=type_code)
    return qs.distinct().order_by("-priority", "first_seen", "pk")
