"""Who may see, work and administer a queue (django-guardian object permissions).

Three sources grant a queue permission, checked together everywhere (UI and API):
staff and superusers hold every permission on every queue; a guardian object permission on
the queue (given to the user or one of their groups, e.g. from the admin); and membership —
members view + work, leads also administer. Membership still counts on its own because other
apps (the demo, the handoff API) add members directly; `queue_member_add` writes both.
"""

from __future__ import annotations

from typing import Literal, cast

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user, get_users_with_perms

from exceptions.models import Queue

Perm = Literal["view", "work", "administer"]
Viewer = User | AnonymousUser


# Each screen asks several times per request (the page's queue, the list's scope, the sidebar,
# "may work?"); the answer is kept on the user object, which Django builds afresh per request.
_MEMO = "_queue_perm_memo"


def _queue_ids(user: Viewer, perm: Perm) -> frozenset[int]:
    memo: dict[str, frozenset[int]] | None = getattr(user, _MEMO, None)
    if memo is None:
        memo = {}
        setattr(user, _MEMO, memo)
    if perm not in memo:
        guarded = get_objects_for_user(
            user, f"exceptions.{perm}_queue", klass=Queue, accept_global_perms=False, with_superuser=False
        )
        by_role = Q(leads=user) if perm == "administer" else Q(members=user) | Q(leads=user)
        memo[perm] = frozenset(guarded.values_list("pk", flat=True)) | frozenset(
            Queue.objects.filter(by_role).values_list("pk", flat=True)
        )
    return memo[perm]


def queue_perms_forget(user: Viewer) -> None:
    """Drop the memo after a membership or grant of `user` changed (exceptions.services)."""
    if getattr(user, _MEMO, None) is not None:
        setattr(user, _MEMO, None)


def queues_for(*, user: Viewer, perm: Perm = "view") -> QuerySet[Queue]:
    """Queues on which `user` holds `perm`."""
    if not user.is_authenticated:
        return Queue.objects.none()
    if user.is_staff or user.is_superuser:
        return Queue.objects.all()
    return Queue.objects.filter(pk__in=_queue_ids(user, perm))


def queue_has_perm(*, user: Viewer, queue: Queue, perm: Perm) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_staff or user.is_superuser:
        return True
    return queue.pk in _queue_ids(user, perm)


def can_edit(user: Viewer, perm: str) -> bool:
    """Who edits a triage setting guarded by a model permission (routing rules, escalation policies,
    business calendars): staff, superusers and holders of `perm`, on the screens and in the API."""
    return bool(user.is_authenticated and (
        user.is_staff or user.is_superuser or user.has_perm(perm)))


def can_be_assigned(*, user: Viewer | None, queue: Queue) -> bool:
    """Whether an exception in `queue` may be given to `user`: an active person who may work the
    queue. One rule for every channel that assigns — the screens, the API, bulk actions and jobs,
    an escalation level's "reassign to" (when it is saved and again when it fires)."""
    return bool(user is not None and user.is_authenticated and getattr(user, "is_active", False)
                and queue_has_perm(user=user, queue=queue, perm="work"))


def queue_workers(*, queue: Queue) -> QuerySet[User]:
    """Active users who may work `queue`, for the assignee pickers: members, leads and holders of
    the guardian `work_queue` permission, themselves or by group. Each of them `can_be_assigned`;
    staff and superusers, who may work every queue, are assignable too but not listed."""
    # guardian annotates the return as `Any | list[str]`; without `attach_perms` it is a user queryset.
    granted = cast("QuerySet[User]", get_users_with_perms(queue, only_with_perms_in=["work_queue"],
                                                          with_group_users=True, with_superusers=False))
    return (get_user_model().objects.filter(is_active=True)
            .filter(Q(pk__in=granted.values("pk")) | Q(exception_queues=queue) | Q(led_exception_queues=queue))
            .distinct().order_by("username"))
