"""Who may see, work and administer a queue (django-guardian object permissions).

Three sources grant a queue permission, checked together everywhere (UI and API):
staff and superusers hold every permission on every queue; a guardian object permission on
the queue (given to the user or one of their groups, e.g. from the admin); and membership —
members view + work, leads also administer. Membership still counts on its own because other
apps (the demo, the handoff API) add members directly; `queue_member_add` writes both.
"""

from __future__ import annotations

from typing import Literal

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from exceptions.models import Queue

Perm = Literal["view", "work", "administer"]
User = AbstractBaseUser | AnonymousUser


def queues_for(*, user: User, perm: Perm = "view") -> QuerySet[Queue]:
    """Queues on which `user` holds `perm`."""
    if not user.is_authenticated:
        return Queue.objects.none()
    if user.is_staff or user.is_superuser:  # type: ignore[union-attr]
        return Queue.objects.all()
    guarded = get_objects_for_user(
        user, f"exceptions.{perm}_queue", klass=Queue, accept_global_perms=False, with_superuser=False
    )
    by_role = Q(leads=user) if perm == "administer" else Q(members=user) | Q(leads=user)
    ids = set(guarded.values_list("pk", flat=True)) | set(
        Queue.objects.filter(by_role).values_list("pk", flat=True)
    )
    return Queue.objects.filter(pk__in=ids)


def queue_has_perm(*, user: User, queue: Queue, perm: Perm) -> bool:
    return queues_for(user=user, perm=perm).filter(pk=queue.pk).exists()
