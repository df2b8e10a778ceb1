"""Resolve with undo: a resolution held for a few seconds before anything is written.

The list's "resolve and next" asks for a resolution here instead of running it. It is checked at
once (the path must apply, and a dry run of it inside a rolled-back transaction must pass, so a
refusal is said in place, not seconds later), then kept as a `PendingResolution` until `due_at`.
An undo deletes the row: no crosswalk row, override or re-run ever happened. At `due_at` a task
counted down to it applies the path through `exception_resolve_path`, the one entry point every
channel uses; the sweep applies any whose message was lost.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from exceptions.errors import ExceptionNotOpen, ResolutionError
from exceptions.models import EventKind, ExceptionStatus, ExceptionType, PendingResolution, SyncException
from exceptions.resolution import PATHS, PATHS_BY_TYPE, exception_resolve_path
from exceptions.services import exception_note
from integration_hub.dispatch import PENDING_RESOLUTION_APPLY, enqueue_on_commit

# Paths a list row can run without a form: nothing to type or pick.
QUICK_PATHS: dict[str, str] = {
    ExceptionType.PRICING_MISMATCH: "accept_sap",
    ExceptionType.CREDIT_CHECK_FAILED: "release",
    ExceptionType.SAP_CREATION_ERROR: "retry",
    ExceptionType.CRM_UPDATE_REJECTED: "retry",
}


class _DryRun(Exception):  # noqa: N818 - a control-flow signal, never raised out of this module
    """Raised inside the dry run's transaction to roll it back."""


def undo_seconds() -> float:
    return float(settings.HUB_UNDO_SECONDS)


def resolution_dry_run(*, exception: SyncException, actor: User | None, path: str, data: dict[str, Any]) -> None:
    """Run `path` and roll everything back: raises what the real run would (ResolutionError,
    ExceptionNotOpen, PermissionDenied). After-commit work of a rolled-back block never runs."""
    fresh = SyncException.objects.select_related("handoff", "queue").get(pk=exception.pk)
    spec = PATHS[path]
    checked = spec.check(fresh, data) if spec.check is not None else None  # SAP is asked outside
    try:
        with transaction.atomic():
            spec.run(fresh, actor, data, checked)
            raise _DryRun
    except _DryRun:
        pass


def resolution_schedule(*, exception: SyncException, actor: User | None, path: str, data: dict[str, Any],
                        now: datetime | None = None) -> PendingResolution:
    """Hold `path` on `exception` for `undo_seconds()`, then apply it. Raises what the path would."""
    if path not in PATHS_BY_TYPE.get(exception.type_code, ()):
        raise ResolutionError(f"{path!r} is not a resolution of {exception.get_type_code_display()}")
    if exception.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {exception.pk} is {exception.status}, not open")
    resolution_dry_run(exception=exception, actor=actor, path=path, data=data)
    now = now or timezone.now()
    with transaction.atomic():
        locked = SyncException.objects.select_for_update().get(pk=exception.pk)
        if locked.status != ExceptionStatus.OPEN:
            raise ExceptionNotOpen(f"exception {locked.pk} is {locked.status}, not open")
        PendingResolution.objects.filter(exception=locked).delete()
        pending = PendingResolution.objects.create(exception=locked, path=path, data=data, actor=actor,
                                                   due_at=now + timedelta(seconds=undo_seconds()))
        exception_note(locked, actor=actor, kind=EventKind.ACTION,
                       reason=f"{PATHS[path][0]} in {undo_seconds():g} s (undo until then)", path=path)
        enqueue_on_commit(PENDING_RESOLUTION_APPLY, pending.pk, countdown=undo_seconds())
    return pending


@transaction.atomic
def resolution_undo(*, exception: SyncException, actor: User | None) -> bool:
    """Cancel the held resolution of `exception`. False when there is none (already applied)."""
    pending = PendingResolution.objects.select_for_update().filter(exception_id=exception.pk).first()
    if pending is None:
        return False
    label = PATHS[pending.path][0] if pending.path in PATHS else pending.path
    pending.delete()
    exception_note(exception, actor=actor, kind=EventKind.UNDO, reason=f"undone: {label}", path=pending.path)
    return True


def resolution_apply(*, pending_id: int, now: datetime | None = None) -> str:
    """Apply a held resolution once it is due. Deleting the row is the claim, so two workers (a
    task and the sweep) never apply it twice. Returns what happened, for the task's log."""
    now = now or timezone.now()
    with transaction.atomic():
        pending = (PendingResolution.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("exception", "actor").filter(pk=pending_id, due_at__lte=now).first())
        if pending is None:
            return "not due, undone or applied"
        path, data, actor, exception = pending.path, dict(pending.data), pending.actor, pending.exception
        pending.delete()
    try:
        exception_resolve_path(exception=exception, actor=actor, path=path, data=data)
    except (ResolutionError, ExceptionNotOpen) as error:
        # The facts moved during the undo window (someone else resolved it, SAP changed): said on
        # the exception's history, where the person who asked will look.
        with transaction.atomic():
            exception_note(exception, actor=actor, kind=EventKind.ACTION,
                           reason=f"{PATHS[path][0]} not applied: {error}", path=path)
        return f"refused: {error}"
    return "applied"


def resolutions_due(*, now: datetime | None = None) -> list[int]:
    now = now or timezone.now()
    return list(PendingResolution.objects.filter(due_at__lte=now).order_by("due_at").values_list("pk", flat=True))


def resolutions_apply_due(*, now: datetime | None = None) -> int:
    """The sweep: apply every held resolution that is due (a lost or early message)."""
    return sum(resolution_apply(pending_id=pk, now=now) == "applied" for pk in resolutions_due(now=now))
