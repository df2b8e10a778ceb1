"""Escalation: timer levels in business hours, catalogue conditions that escalate at once, and
the idempotent beat sweep. Its notices go through exceptions.notifications (digests by email and
chat); a reassigning level goes through exceptions.services.exception_assign like a person's.

The sweep is driven by the database only. Each fired step is an `EscalationStep(exception,
level)` row under a unique constraint, inserted before the action runs in the same
transaction: a second sweep racing on the same step blocks on the insert, then gets an
IntegrityError and skips it — so nothing escalates twice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from exceptions.calendar import CalendarLike, business_add, business_elapsed, calendar_for_queue
from exceptions.models import (
    EscalationAction,
    EscalationCondition,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    EventKind,
    ExceptionEvent,
    ExceptionStatus,
    ExceptionType,
    Priority,
    SyncException,
)
from exceptions.notifications import notifications_flush, notify, user_emails
from exceptions.permissions import can_be_assigned
from exceptions.routing import deal_facts
from exceptions.services import exception_assign

VARIANCE_LIMIT = Decimal("10")
BIG_DEAL = Decimal("100000")
BACKLOG_LIMIT = 5
RETRY_LIMIT = 3


# -- clocks -----------------------------------------------------------------------------------------
def unresolved_business_time(exception: SyncException, *, now: datetime,
                             calendar: CalendarLike | None = None) -> timedelta:
    """Business time the exception has been open, minus time spent waiting on someone outside
    (on the queue's calendar unless another is given)."""
    calendar = calendar if calendar is not None else calendar_for_queue(exception.queue)
    total = business_elapsed(calendar, exception.first_seen, now)
    total -= timedelta(seconds=exception.paused_seconds or 0)
    if exception.waiting_since:
        total -= business_elapsed(calendar, exception.waiting_since, now)
    return max(total, timedelta(0))


@dataclass(frozen=True)
class Deadline:
    level: int
    after_hours: Decimal
    action: str
    label: str
    due_at: datetime | None  # None while the clock is paused
    remaining: timedelta
    fired_at: datetime | None

    @property
    def fired(self) -> bool:
        return self.fired_at is not None


def exception_deadlines(exception: SyncException, *, now: datetime | None = None,
                        levels: Sequence[EscalationLevel] | None = None,
                        calendar: CalendarLike | None = None) -> list[Deadline]:
    """Every level of the queue's policy with its due time (not only the next), fired or not.

    `levels` and `calendar` stand in for the saved active policy's levels and the queue's
    calendar: the policy editor previews unsaved ones this way (skipping an inactive draft
    policy is then the caller's business)."""
    now = now or timezone.now()
    if levels is None:
        policy = EscalationPolicy.objects.filter(queue_id=exception.queue_id, active=True).first()
        if policy is None:
            return []
        levels = list(policy.levels.all())
    calendar = calendar if calendar is not None else calendar_for_queue(exception.queue)
    elapsed = unresolved_business_time(exception, now=now, calendar=calendar)
    fired = dict(exception.escalation_steps.values_list("level", "fired_at"))
    paused = exception.waiting_since is not None
    out = []
    for level in sorted(levels, key=lambda row: row.level):
        remaining = max(timedelta(hours=float(level.after_hours)) - elapsed, timedelta(0))
        due = None if paused and level.level not in fired else business_add(calendar, now, remaining)
        out.append(Deadline(level.level, level.after_hours, level.action, _level_label(level), due, remaining,
                            fired.get(level.level)))
    return out


def hours_label(value: Decimal) -> str:
    return str(int(value)) if value == int(value) else str(value.normalize())


def _level_label(level: EscalationLevel) -> str:
    if level.action == EscalationAction.NOTIFY_MANAGER:
        who = (level.manager.get_full_name() or level.manager.username) if level.manager else level.manager_email
        return f"notify manager {who}".strip()
    if level.action == EscalationAction.REASSIGN and level.reassign_to:
        return f"reassign to {level.reassign_to}"
    return level.get_action_display().lower()


# -- conditions -------------------------------------------------------------------------------------
def unmapped_backlog() -> int:
    return SyncException.objects.filter(
        status=ExceptionStatus.OPEN, type_code=ExceptionType.PRODUCT_NOT_MAPPED, queue__slug="product-ops"
    ).count()


def conditions_met(exception: SyncException, conditions: Iterable[str], *, backlog: int | None = None) -> list[str]:
    """The catalogue conditions (of `conditions`) that hold for this exception."""
    wanted = set(conditions)
    if not wanted:
        return []
    facts = deal_facts(exception)
    evidence = exception.evidence or {}
    met: list[str] = []
    if EscalationCondition.VARIANCE in wanted:
        try:
            variance = abs(Decimal(str(evidence.get("variance_percent"))))
        except Exception:  # noqa: BLE001 - absent or junk evidence: no variance
            variance = Decimal(0)
        if variance > VARIANCE_LIMIT:
            met.append(EscalationCondition.VARIANCE)
    if EscalationCondition.BIG_DEAL in wanted and facts.amount is not None and facts.amount > BIG_DEAL:
        met.append(EscalationCondition.BIG_DEAL)
    if EscalationCondition.STRATEGIC in wanted and facts.strategic:
        met.append(EscalationCondition.STRATEGIC)
    if EscalationCondition.INTERNATIONAL in wanted and (facts.international or evidence.get("international")):
        met.append(EscalationCondition.INTERNATIONAL)
    if (EscalationCondition.BACKLOG in wanted and exception.type_code == ExceptionType.PRODUCT_NOT_MAPPED
            and (unmapped_backlog() if backlog is None else backlog) > BACKLOG_LIMIT):
        met.append(EscalationCondition.BACKLOG)
    if EscalationCondition.THIRD_RETRY in wanted and exception.type_code == ExceptionType.SAP_CREATION_ERROR:
        try:
            attempts = int(evidence.get("attempts") or 0)
        except (TypeError, ValueError):
            attempts = 0
        if attempts >= RETRY_LIMIT:
            met.append(EscalationCondition.THIRD_RETRY)
    return met


# -- the sweep ----------------------------------------------------------------------------------------
def _fire(exception: SyncException, *, level: int, action: str, reason: str, policy: EscalationPolicy,
          level_row: EscalationLevel | None, now: datetime) -> bool:
    """Claim and run one step. Returns False when another sweep already fired it."""
    try:
        with transaction.atomic():
            EscalationStep.objects.create(exception=exception, level=level, action=action, reason=reason,
                                          fired_at=now)
    except IntegrityError:
        return False
    queue = exception.queue
    leads = user_emails(queue.leads.all())
    text = f"#{exception.pk} {exception.title} ({queue.name}): {reason}"
    recipients: list[str] = list(leads)
    effect = ""
    if action == EscalationAction.NOTIFY_MANAGER and level_row is not None:
        manager_email = (level_row.manager.email if level_row.manager else "") or level_row.manager_email
        recipients = [manager_email] if manager_email else leads
    elif action == EscalationAction.REASSIGN and level_row is not None and level_row.reassign_to:
        target = level_row.reassign_to
        if policy.notify_only:
            effect = f" (notify-only: would reassign to {target})"
        elif not can_be_assigned(user=target, queue=queue):
            # Checked when the level was saved; since then they may have left the queue.
            effect = f"; not reassigned: {target} can no longer work the {queue.name} queue"
        elif exception_assign(exception=exception, assignee=target, actor=None, actor_label="escalation", now=now):
            effect = f"; reassigned to {target}"
    elif action == EscalationAction.RAISE_PRIORITY:
        higher = min((p for p in Priority.values if p > exception.priority), default=None)
        if policy.notify_only:
            effect = " (notify-only: priority unchanged)"
        elif higher is not None:
            exception.priority = higher
            exception.save(update_fields=["priority"])
            effect = f"; priority raised to {Priority(higher).label}"
    ExceptionEvent.objects.create(
        exception=exception, actor_label="escalation", kind=EventKind.ESCALATE,
        from_status=exception.status, to_status=exception.status,
        reason=f"escalation level {level}: {reason}{effect}", data={"level": level, "action": action},
    )
    notify(recipients=recipients, kind="escalation", exception=exception, text=text + effect, now=now)
    return True


def escalation_sweep(*, now: datetime | None = None, flush: bool = True) -> dict[str, int]:
    """Fire every due escalation step once, then send the digests. Safe to run concurrently."""
    now = now or timezone.now()
    fired = 0
    backlog = unmapped_backlog()
    policies = EscalationPolicy.objects.filter(active=True).select_related("queue").prefetch_related(
        "levels__manager", "levels__reassign_to")
    for policy in policies:
        levels = list(policy.levels.all())
        open_qs = SyncException.objects.filter(queue_id=policy.queue_id, status=ExceptionStatus.OPEN)
        candidates: set[int] = set()
        if policy.conditions:
            candidates |= set(open_qs.exclude(
                Exists(EscalationStep.objects.filter(exception=OuterRef("pk"), level=0))).values_list("pk", flat=True))
        if levels:
            # Business time never exceeds wall time, so younger rows cannot be due yet.
            soonest = min(level.after_hours for level in levels)
            pending = open_qs.filter(first_seen__lte=now - timedelta(hours=float(soonest)),
                                     waiting_since__isnull=True)
            candidates |= set(pending.exclude(
                escalation_steps__level=max(level.level for level in levels)).values_list("pk", flat=True))
        for pk in sorted(candidates):
            fired += _sweep_one(pk, policy=policy, levels=levels, backlog=backlog, now=now)
    sent = notifications_flush(now=now) if flush else 0
    return {"fired": fired, "digests": sent}


def _sweep_one(pk: int, *, policy: EscalationPolicy, levels: list[EscalationLevel], backlog: int,
               now: datetime) -> int:
    fired = 0
    with transaction.atomic():
        exception = (SyncException.objects.select_related("queue__calendar", "handoff")
                     .filter(pk=pk, status=ExceptionStatus.OPEN, queue_id=policy.queue_id).first())
        if exception is None:
            return 0
        done = set(exception.escalation_steps.values_list("level", flat=True))
        if policy.conditions and 0 not in done:
            met = conditions_met(exception, policy.conditions, backlog=backlog)
            if met:
                labels = ", ".join(str(EscalationCondition(m).label) for m in met)
                fired += _fire(exception, level=0, action=policy.condition_action, reason=f"escalates at once: {labels}",
                               policy=policy, level_row=None, now=now)
        if exception.waiting_since is None:
            elapsed = unresolved_business_time(exception, now=now)
            for level in levels:
                if level.level in done or elapsed < timedelta(hours=float(level.after_hours)):
                    continue
                fired += _fire(exception, level=level.level, action=level.action,
                               reason=f"unresolved {hours_label(level.after_hours)} business hours → {_level_label(level)}",
                               policy=policy, level_row=level, now=now)
    return fired
