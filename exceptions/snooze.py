"""Snooze until a condition: "until the business partner exists in SAP", "until this product is
mapped", "until Monday 9:00".

A snooze hides the exception from the list (`snoozed_until`, as a timed snooze always did); a
conditional one sets `snoozed_until` to a far horizon and names its condition. The sweep
(exceptions.tasks.snooze_sweep, on beat) checks the conditions and, once one holds, wakes the
exception and re-checks it the way a person's "Retry" would (`resolve_retry`: the deal is
validated again, which either finds the partner / mapping and goes on, or raises what is still
wrong, now visible). A timed snooze that ran out is woken with a note and its list row returns.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from crosswalks.models import CustomerMapping, ProductMapping
from crosswalks.suggestions import account_candidates, is_confident
from exceptions.errors import ExceptionNotOpen, ResolutionError
from exceptions.models import EventKind, ExceptionStatus, ExceptionType, SnoozeCondition, SyncException
from exceptions.resolution import resolve_retry
from exceptions.services import exception_note

# How long a conditional snooze waits at most: past this it wakes anyway, so nothing sleeps forever.
CONDITION_HORIZON = timedelta(days=30)

# Which conditions each type may wait for (time: any type).
CONDITIONS_BY_TYPE: dict[str, tuple[str, ...]] = {
    ExceptionType.CUSTOMER_NOT_FOUND: (SnoozeCondition.PARTNER_EXISTS,),
    ExceptionType.PRODUCT_NOT_MAPPED: (SnoozeCondition.PRODUCT_MAPPED,),
}


def snooze_conditions_for(exception: SyncException) -> list[tuple[str, str]]:
    """(value, label) of the conditions the snooze form offers for this exception."""
    codes = [*CONDITIONS_BY_TYPE.get(exception.type_code, ()), SnoozeCondition.TIME]
    return [(code, SnoozeCondition(code).label) for code in codes]


def next_monday_nine(*, now: datetime | None = None) -> datetime:
    """The snooze form's suggested time: next Monday 09:00, local time."""
    local = timezone.localtime(now or timezone.now())
    days = (7 - local.weekday()) % 7 or 7
    return (local + timedelta(days=days)).replace(hour=9, minute=0, second=0, microsecond=0)


def _key_for(exception: SyncException, condition: str) -> str:
    evidence = exception.evidence or {}
    if condition == SnoozeCondition.PARTNER_EXISTS:
        return str(evidence.get("account") or "")[:120]
    if condition == SnoozeCondition.PRODUCT_MAPPED:
        return str(evidence.get("product_code") or exception.product_code or "")[:120]
    return ""


@transaction.atomic
def exception_snooze_until(*, exception: SyncException, actor: User | None, condition: str,
                           until: datetime | None = None, now: datetime | None = None) -> SyncException:
    """Snooze an open exception until `condition` holds (or, for "time", until `until`).
    Raises ResolutionError for a condition the type cannot wait for or a time not in the future."""
    now = now or timezone.now()
    locked = SyncException.objects.select_for_update().get(pk=exception.pk)
    if locked.status != ExceptionStatus.OPEN:
        raise ExceptionNotOpen(f"exception {locked.pk} is {locked.status}, not open")
    allowed = dict(snooze_conditions_for(locked))
    if condition not in allowed:
        raise ResolutionError("choose what to wait for: " + "; ".join(allowed.values()))
    if condition == SnoozeCondition.TIME:
        if until is None or until <= now:
            raise ResolutionError("pick a time in the future to wake it up")
        if until > now + CONDITION_HORIZON * 12:
            raise ResolutionError("snooze for at most a year")
        key, wake, reason = "", until, f"snoozed until {timezone.localtime(until):%a %d %b %H:%M %Z}"
    else:
        key = _key_for(locked, condition)
        if not key:
            raise ResolutionError("the exception names nothing to wait for")
        wake, reason = now + CONDITION_HORIZON, f"snoozed {allowed[condition]} ({key})"
    locked.snoozed_until, locked.snooze_condition, locked.snooze_key = wake, condition, key
    locked.save(update_fields=["snoozed_until", "snooze_condition", "snooze_key"])
    exception_note(locked, actor=actor, kind=EventKind.SNOOZE, reason=reason, condition=condition, key=key,
                   until=wake.isoformat())
    return locked


def snooze_condition_holds(exception: SyncException, *, now: datetime | None = None) -> bool:
    """Whether what the exception waits for is true now (a timed snooze: its time has come)."""
    now = now or timezone.now()
    condition, key = exception.snooze_condition, exception.snooze_key
    if condition == SnoozeCondition.PRODUCT_MAPPED:
        return ProductMapping.objects.filter(crm_product_code__iexact=key, active=True).exists()
    if condition == SnoozeCondition.PARTNER_EXISTS:
        if CustomerMapping.objects.filter(org_id=exception.deal.org_id, crm_account_id=key).exists():
            return True
        return any(is_confident("account", c.confidence) for c in account_candidates(exception.evidence or {},
                                                                                   limit=1))
    return exception.snoozed_until is not None and exception.snoozed_until <= now


def exception_wake(*, exception: SyncException, reason: str, recheck: bool) -> bool:
    """End a snooze. With `recheck`, re-run the deal from validation (it checks itself again).
    False when someone else woke or closed it first."""
    with transaction.atomic():
        locked = SyncException.objects.select_for_update().filter(pk=exception.pk, status=ExceptionStatus.OPEN).first()
        if locked is None or not (locked.snooze_condition or locked.snoozed_until):
            return False
        locked.snoozed_until, locked.snooze_condition, locked.snooze_key = None, "", ""
        locked.save(update_fields=["snoozed_until", "snooze_condition", "snooze_key"])
        exception_note(locked, actor=None, kind=EventKind.SNOOZE, reason=f"woken up: {reason}", actor_label="system")
        if recheck:
            resolve_retry(exception=locked, actor=None, note=f"re-checked: {reason}")
    return True


def snooze_sweep(*, now: datetime | None = None, limit: int = 500) -> int:
    """Wake the conditional snoozes whose condition holds, and the timed ones that ran out (a
    conditional one past its horizon too). Returns how many woke."""
    now = now or timezone.now()
    woke = 0
    waiting = (SyncException.objects.select_related("handoff").defer("handoff__canonical")
               .filter(status=ExceptionStatus.OPEN).exclude(snooze_condition="").order_by("pk")[:limit])
    for exception in waiting:
        if exception.snooze_condition != SnoozeCondition.TIME and snooze_condition_holds(exception, now=now):
            label = SnoozeCondition(exception.snooze_condition).label.removeprefix("until ")
            woke += exception_wake(exception=exception, reason=f"{label} ({exception.snooze_key})", recheck=True)
        elif exception.snoozed_until is not None and exception.snoozed_until <= now:
            woke += exception_wake(exception=exception, reason="the snooze time came", recheck=False)
    return woke
