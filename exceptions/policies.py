"""Escalation policies, business calendars and a queue's calendar/SLA, as edited on the triage
screens: validation, the audited writes (one `SettingChange` row per change) and the summaries
the screens show. The escalation *behaviour* stays in exceptions.escalation and exceptions.calendar.

The services raise django's `ValidationError` keyed by field name, so a view can hand it to
`form.add_error(None, error)`; errors about timer levels sit under "levels" and name the level.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.contrib.auth.models import User
from django.core.exceptions import ObjectDoesNotExist, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from exceptions.calendar import business_add, calendar_default
from exceptions.escalation import Deadline, conditions_met, exception_deadlines, hours_label, unmapped_backlog
from exceptions.models import (
    BusinessCalendar,
    EscalationAction,
    EscalationCondition,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    ExceptionStatus,
    Queue,
    SettingChange,
    SettingKind,
    SyncException,
)
from exceptions.permissions import can_be_assigned, can_edit, queues_for
from exceptions.services import queue_member_add, queue_member_remove

POLICY_PERM = "exceptions.change_escalationpolicy"
CALENDAR_PERM = "exceptions.change_businesscalendar"
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
CONDITION_ACTIONS = {"notify_lead", "raise_priority"}
SLA_HOURS_MAX = 2000
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def can_edit_settings(user: Any, perm: str) -> bool:
    """Who sees and edits escalation policies (`POLICY_PERM`) or business calendars
    (`CALENDAR_PERM`), on the screens and in the API alike."""
    return can_edit(user, perm)


def policy_queues_for(user: Any) -> Any:
    """Queues whose escalation policy, calendar choice and SLA `user` may edit: every queue for
    settings editors (POLICY_PERM), otherwise the queues they administer (their leads)."""
    if can_edit_settings(user, POLICY_PERM):
        return Queue.objects.all()
    return queues_for(user=user, perm="administer")


def setting_history_readable(user: Any) -> bool:
    """Whether `user` may read any settings history at all: calendar editors, and whoever edits
    at least one queue's policy (settings editors, leads). The API's 404 and the screens agree."""
    return can_edit_settings(user, CALENDAR_PERM) or policy_queues_for(user).exists()


def setting_changes_for(user: Any) -> QuerySet[SettingChange]:
    """The settings history `user` may read, newest first: one rule for the screens and the API
    (GET /api/v1/setting-changes/). Each person reads the history of what they may edit:

    - business calendars: calendar editors (CALENDAR_PERM);
    - a queue's escalation policy and its calendar & SLA: whoever edits that queue's policy
      (settings editors for every queue, a lead for theirs — policy_queues_for);
    - a queue's members: whoever administers the queue (its leads, staff), who manage them.
    """
    visible = Q(pk__in=[])
    if can_edit_settings(user, CALENDAR_PERM):
        visible |= Q(kind=SettingKind.CALENDAR)
    editable = policy_queues_for(user)
    visible |= Q(kind=SettingKind.QUEUE, object_id__in=editable.values("pk"))
    visible |= Q(kind=SettingKind.ESCALATION_POLICY,
                 object_id__in=EscalationPolicy.objects.filter(queue__in=editable).values("pk"))
    if can_edit_settings(user, POLICY_PERM):  # also a deleted queue's or policy's history
        visible |= Q(kind__in=[SettingKind.QUEUE, SettingKind.ESCALATION_POLICY])
    visible |= Q(kind=SettingKind.MEMBERS, object_id__in=queues_for(user=user, perm="administer").values("pk"))
    return SettingChange.objects.filter(visible)


def queue_policy(queue: Queue) -> EscalationPolicy | None:
    """The queue's saved escalation policy, if it has one (uses a select_related one when loaded)."""
    try:
        return queue.escalation_policy
    except ObjectDoesNotExist:
        return None


def queue_role(queue: Queue, user: User) -> str | None:
    """"lead", "member" or None, from the queue's own membership lists."""
    if queue.leads.filter(pk=user.pk).exists():
        return "lead"
    return "member" if queue.members.filter(pk=user.pk).exists() else None


@transaction.atomic
def queue_membership_set(*, queue: Queue, user: User, role: str | None,
                         actor: User | None) -> int:
    """Make `user` a "member" or "lead" of `queue`, or take them out (None), with an audit row.

    A lead cannot take away their own lead role (the queue would lose the person who can give it
    back); an admin can. Returns how many open exceptions were unassigned on the way out."""
    if role not in ("member", "lead", None):
        raise ValidationError({"role": ValidationError("Choose member, lead or remove.", code="invalid")})
    if not user.is_active:
        raise ValidationError({"user": ValidationError("%(user)s is not an active user.", code="inactive",
                                                       params={"user": user.get_username()})})
    before_role = queue_role(queue, user)
    if before_role == role:
        return 0
    if (actor is not None and actor.pk == user.pk and before_role == "lead" and role != "lead"
            and not can_edit_settings(actor, POLICY_PERM)):
        raise ValidationError({"role": ValidationError(
            "You cannot remove your own lead role; ask another lead or an admin.", code="self")})
    unassigned = 0
    if role == "lead":
        queue_member_add(queue=queue, user=user, lead=True)
    elif role == "member":
        if before_role == "lead":
            queue_member_remove(queue=queue, user=user, actor=actor, leads_only=True)
        queue_member_add(queue=queue, user=user)
    elif before_role is not None:
        unassigned = queue_member_remove(queue=queue, user=user, actor=actor)
    _audit(kind=SettingKind.MEMBERS, object_id=queue.pk, label=f"{queue.name} members", actor=actor,
           before={"user": user.get_username(), "role": before_role} if before_role else {},
           after={"user": user.get_username(), "role": role, **({"unassigned": unassigned} if unassigned else {})})
    return unassigned


# -- summaries ------------------------------------------------------------------------------------------
def action_label(action: str, *, manager: str = "", reassign_to: str = "") -> str:
    """Short, for summaries and history: "notify lead", "manager Ana Ruiz", "reassign to ana",
    "raise priority". Takes names, so a saved level and an audit snapshot read the same."""
    if action == EscalationAction.NOTIFY_LEAD:
        return "notify lead"
    if action == EscalationAction.NOTIFY_MANAGER:
        return f"manager {manager}" if manager else "manager (not set)"
    if action == EscalationAction.REASSIGN:
        return f"reassign to {reassign_to}" if reassign_to else "reassign (not set)"
    return "raise priority"


def level_action_label(level: EscalationLevel) -> str:
    manager = (level.manager.get_full_name() or level.manager.get_username()) if level.manager else level.manager_email
    return action_label(level.action, manager=manager or "",
                        reassign_to=level.reassign_to.get_username() if level.reassign_to else "")


def levels_summary(levels: Iterable[EscalationLevel]) -> str:
    """"4 h → notify lead; 8 h → manager cfo@example.com" (empty: no timers)."""
    return "; ".join(f"{hours_label(Decimal(level.after_hours))} h → {level_action_label(level)}"
                     for level in sorted(levels, key=lambda row: row.level))


def weekdays_label(weekdays: Iterable[int]) -> str:
    """"Mon–Fri", "Mon–Thu, Sat", "" for none."""
    days = sorted({int(d) for d in weekdays})
    runs: list[list[int]] = []
    for day in days:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return ", ".join(WEEKDAY_NAMES[r[0]] if len(r) == 1 else
                     f"{WEEKDAY_NAMES[r[0]]}{'–' if len(r) > 2 else ', '}{WEEKDAY_NAMES[r[-1]]}" for r in runs)


# -- validation -----------------------------------------------------------------------------------------
def holidays_parse(values: Iterable[Any]) -> list[str]:
    """ISO dates (YYYY-MM-DD), deduplicated and sorted. The error names every entry that is not one."""
    parsed: set[date] = set()
    bad: list[str] = []
    for value in values:
        if isinstance(value, date):
            parsed.add(value)
            continue
        text = str(value).strip()
        if not text:
            continue
        try:
            # fromisoformat alone would also take "20261224" or "2026-W52-4"; people write the long form.
            if not ISO_DATE.fullmatch(text):
                raise ValueError(text)
            parsed.add(date.fromisoformat(text))
        except ValueError:
            bad.append(text)
    if bad:
        raise ValidationError([ValidationError("%(entry)s is not a date (YYYY-MM-DD)", code="invalid_date",
                                               params={"entry": entry}) for entry in bad])
    return [d.isoformat() for d in sorted(parsed)]


def business_calendar_clean(calendar: BusinessCalendar) -> None:
    """Check and normalise a calendar in place (weekdays and holidays sorted and deduplicated)."""
    errors: dict[str, list[ValidationError]] = {}
    if not (calendar.name or "").strip():
        errors.setdefault("name", []).append(ValidationError("Give the calendar a name.", code="required"))
    elif BusinessCalendar.objects.filter(name=calendar.name.strip()).exclude(pk=calendar.pk).exists():
        errors.setdefault("name", []).append(
            ValidationError("Another calendar is called “%(name)s”.", code="unique", params={"name": calendar.name}))
    try:
        ZoneInfo(calendar.time_zone or "")
    except (ZoneInfoNotFoundError, ValueError):
        errors.setdefault("time_zone", []).append(ValidationError(
            "“%(zone)s” is not a time zone (e.g. Europe/Berlin).", code="invalid", params={"zone": calendar.time_zone}))
    try:
        weekdays = sorted({int(d) for d in calendar.weekdays or ()})
    except (TypeError, ValueError):
        weekdays = [-1]
    if not weekdays or any(not 0 <= d <= 6 for d in weekdays):
        errors.setdefault("weekdays", []).append(ValidationError("Pick at least one working day.", code="required"))
    else:
        calendar.weekdays = weekdays
    try:
        start = calendar.day_start if isinstance(calendar.day_start, time) else time.fromisoformat(str(calendar.day_start))
        end = calendar.day_end if isinstance(calendar.day_end, time) else time.fromisoformat(str(calendar.day_end))
    except ValueError:
        errors.setdefault("day_end", []).append(ValidationError("Enter the working hours as HH:MM.", code="invalid"))
    else:
        if end <= start:
            errors.setdefault("day_end", []).append(ValidationError(
                "The working day must end after it starts (%(start)s).", code="order",
                params={"start": start.strftime("%H:%M")}))
    try:
        calendar.holidays = holidays_parse(calendar.holidays or [])
    except ValidationError as error:
        errors.setdefault("holidays", []).extend(error.error_list)
    if errors:
        raise ValidationError(errors)
    calendar.name = calendar.name.strip()


def escalation_levels_check(*, queue: Queue, levels: Sequence[EscalationLevel]) -> list[ValidationError]:
    """What is wrong with these timer levels, each message naming its level (params["level"])."""
    problems: list[ValidationError] = []
    numbers = sorted(level.level for level in levels)
    if numbers != list(range(1, len(levels) + 1)):
        problems.append(ValidationError("Levels must be numbered 1 to %(n)s without gaps (got %(got)s).",
                                        code="numbering", params={"n": len(levels), "level": None,
                                                                  "got": ", ".join(map(str, numbers))}))
        return problems
    previous: EscalationLevel | None = None
    for level in sorted(levels, key=lambda row: row.level):
        params: dict[str, Any] = {"level": level.level}
        hours = level.after_hours
        if hours is None or Decimal(hours) <= 0:
            problems.append(ValidationError("Level %(level)s: the hours must be more than 0.", code="hours",
                                            params=params))
        elif previous is not None and previous.after_hours is not None and Decimal(hours) <= Decimal(previous.after_hours):
            problems.append(ValidationError(
                "Level %(level)s fires after %(hours)s h, which is not later than level %(prev)s (%(prev_hours)s h): "
                "each level must wait longer than the one before.", code="order",
                params={**params, "hours": hours_label(Decimal(hours)), "prev": previous.level,
                        "prev_hours": hours_label(Decimal(previous.after_hours))}))
        if level.action not in EscalationAction.values:
            problems.append(ValidationError("Level %(level)s: pick an action.", code="action", params=params))
        elif level.action == EscalationAction.NOTIFY_MANAGER and not (level.manager_id or level.manager_email):
            problems.append(ValidationError("Level %(level)s notifies a manager: pick one or enter an email address.",
                                            code="manager", params=params))
        elif level.action == EscalationAction.REASSIGN:
            if level.reassign_to is None:
                problems.append(ValidationError("Level %(level)s reassigns: pick who to reassign to.",
                                                code="reassign_to", params=params))
            elif not can_be_assigned(user=level.reassign_to, queue=queue):
                problems.append(ValidationError(
                    "Level %(level)s reassigns to %(who)s, who cannot work the %(queue)s queue.", code="reassign_to",
                    params={**params, "who": level.reassign_to, "queue": queue.name}))
        previous = level
    return problems


def escalation_policy_clean(*, policy: EscalationPolicy, levels: Sequence[EscalationLevel]) -> None:
    errors: dict[str, list[ValidationError]] = {}
    unknown = [c for c in policy.conditions or [] if c not in EscalationCondition.values]
    if unknown:
        errors["conditions"] = [ValidationError("Unknown condition(s): %(c)s.", code="invalid",
                                                params={"c": ", ".join(map(str, unknown))})]
    if policy.condition_action not in CONDITION_ACTIONS:
        errors["condition_action"] = [ValidationError("Pick what a met condition does.", code="invalid")]
    problems = escalation_levels_check(queue=policy.queue, levels=levels)
    if problems:
        errors["levels"] = problems
    if errors:
        raise ValidationError(errors)
    policy.conditions = [c for c in EscalationCondition.values if c in set(policy.conditions or [])]


# -- preview -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class PolicyPreviewRow:
    exception: SyncException
    deadlines: list[Deadline]
    conditions_met: list[str]  # EscalationCondition values that would escalate it at once
    condition_fired: bool  # it already escalated on a condition (those fire once)
    sla_due: datetime
    sla_breached: bool


@dataclass(frozen=True)
class PolicyPreview:
    problems: list[ValidationError]  # what stops these levels from being saved (then no rows)
    calendar: BusinessCalendar  # the one the timers count on
    open_count: int  # open exceptions considered, at most the limit
    rows: list[PolicyPreviewRow]  # empty when the policy is off or its levels cannot be saved


def escalation_policy_preview(*, queue: Queue, policy: EscalationPolicy, levels: Sequence[EscalationLevel],
                              calendar: BusinessCalendar | None, sla_hours: int, limit: int,
                              now: datetime | None = None) -> PolicyPreview:
    """The queue's open exceptions (oldest first, at most `limit`) with their deadlines under an
    unsaved policy, calendar (None: the default one) and SLA. Reads only: the editor's preview."""
    now = now or timezone.now()
    problems = escalation_levels_check(queue=queue, levels=levels)
    calendar = calendar or calendar_default()
    sla = timedelta(hours=sla_hours)
    exceptions = list(SyncException.objects.filter(queue=queue, status=ExceptionStatus.OPEN)
                      .select_related("handoff", "queue").order_by("first_seen", "pk")[:limit])
    rows = []
    if policy.active and not problems:
        fired_at_once = set(EscalationStep.objects.filter(exception__in=exceptions, level=0)
                            .values_list("exception_id", flat=True))
        backlog = unmapped_backlog() if EscalationCondition.BACKLOG in policy.conditions else 0
        for exception in exceptions:
            fired = exception.pk in fired_at_once
            # The SLA counts business hours on the draft calendar, as the badges do (selectors.sla_cutoffs).
            sla_due = business_add(calendar, exception.first_seen, sla)
            rows.append(PolicyPreviewRow(
                exception=exception,
                deadlines=exception_deadlines(exception, now=now, levels=levels, calendar=calendar),
                conditions_met=[] if fired else conditions_met(exception, policy.conditions, backlog=backlog),
                condition_fired=fired, sla_due=sla_due, sla_breached=sla_due <= now,
            ))
    return PolicyPreview(problems=problems, calendar=calendar, open_count=len(exceptions), rows=rows)


# -- audited writes ---------------------------------------------------------------------------------------
def _user(user: Any) -> str | None:
    return user.get_username() if user is not None else None


def _level_snapshot(level: EscalationLevel) -> dict[str, Any]:
    return {"level": level.level, "after_hours": hours_label(Decimal(level.after_hours)), "action": level.action,
            "manager": _user(level.manager), "manager_email": level.manager_email or "",
            "reassign_to": _user(level.reassign_to)}


def policy_snapshot(policy: EscalationPolicy, levels: Iterable[EscalationLevel]) -> dict[str, Any]:
    return {"active": policy.active, "notify_only": policy.notify_only, "conditions": list(policy.conditions or []),
            "condition_action": policy.condition_action,
            "levels": [_level_snapshot(level) for level in sorted(levels, key=lambda row: row.level)]}


def calendar_snapshot(calendar: BusinessCalendar) -> dict[str, Any]:
    def hhmm(value: Any) -> str:
        return value.strftime("%H:%M") if isinstance(value, time) else str(value)[:5]

    return {"name": calendar.name, "time_zone": calendar.time_zone, "weekdays": list(calendar.weekdays or []),
            "day_start": hhmm(calendar.day_start), "day_end": hhmm(calendar.day_end),
            "holidays": list(calendar.holidays or [])}


def _audit(*, kind: str, object_id: int, label: str, actor: User | None, before: dict[str, Any],
           after: dict[str, Any]) -> SettingChange | None:
    if before == after:
        return None  # a save that changes nothing leaves the history alone
    return SettingChange.objects.create(kind=kind, object_id=object_id, label=label, actor=actor,
                                        action="update" if before else "create", before=before, after=after)


@transaction.atomic
def escalation_policy_save(*, policy: EscalationPolicy, levels: Sequence[EscalationLevel],
                           actor: User | None) -> EscalationPolicy:
    """Save a queue's policy with exactly these timer levels (numbered 1..n, each waiting longer
    than the one before), and audit the change. Existing level rows are updated in place by
    number, surplus ones deleted, so fired steps (keyed by level number) keep their meaning."""
    escalation_policy_clean(policy=policy, levels=levels)
    before: dict[str, Any] = {}
    existing: dict[int, EscalationLevel] = {}
    saved = EscalationPolicy.objects.select_for_update().filter(queue_id=policy.queue_id).first()
    if saved is not None:
        policy.pk = saved.pk
        existing = {row.level: row for row in EscalationLevel.objects.select_for_update(of=("self",))
                    .select_related("manager", "reassign_to").filter(policy=saved)}
        before = policy_snapshot(saved, existing.values())
    policy.save()
    EscalationLevel.objects.filter(policy=policy).exclude(level__in=[row.level for row in levels]).delete()
    for row in levels:
        target = existing.get(row.level) or EscalationLevel(policy=policy, level=row.level)
        target.after_hours = row.after_hours
        target.action = row.action
        target.manager = row.manager if row.action == EscalationAction.NOTIFY_MANAGER else None
        target.manager_email = row.manager_email if row.action == EscalationAction.NOTIFY_MANAGER else ""
        target.reassign_to = row.reassign_to if row.action == EscalationAction.REASSIGN else None
        target.save()
    fresh = list(EscalationLevel.objects.select_related("manager", "reassign_to").filter(policy=policy))
    _audit(kind=SettingKind.ESCALATION_POLICY, object_id=policy.pk, label=f"{policy.queue.name} escalation",
           actor=actor, before=before, after=policy_snapshot(policy, fresh))
    return policy


@transaction.atomic
def business_calendar_save(*, calendar: BusinessCalendar, actor: User | None) -> BusinessCalendar:
    """Create or update a calendar after checking it (a real time zone, at least one working day,
    the day ending after it starts, holidays that are dates — deduplicated and sorted); audited."""
    business_calendar_clean(calendar)
    before: dict[str, Any] = {}
    if calendar.pk:
        before = calendar_snapshot(BusinessCalendar.objects.select_for_update().get(pk=calendar.pk))
    calendar.save()
    calendar.refresh_from_db()
    _audit(kind=SettingKind.CALENDAR, object_id=calendar.pk, label=calendar.name, actor=actor,
           before=before, after=calendar_snapshot(calendar))
    return calendar


@transaction.atomic
def queue_calendar_set(*, queue: Queue, calendar: BusinessCalendar | None, sla_hours: int,
                       actor: User | None) -> Queue:
    """Set the calendar a queue's timers count on (None: the default calendar) and its SLA hours."""
    if not isinstance(sla_hours, int) or not 1 <= sla_hours <= SLA_HOURS_MAX:
        raise ValidationError({"sla_hours": ValidationError("The SLA must be 1 to %(max)s hours.", code="invalid",
                                                            params={"max": SLA_HOURS_MAX})})
    locked = Queue.objects.select_for_update(of=("self",)).select_related("calendar").get(pk=queue.pk)

    def snapshot(q: Queue, cal: BusinessCalendar | None) -> dict[str, Any]:
        return {"calendar": cal.name if cal else None, "sla_hours": q.sla_hours}

    before = snapshot(locked, locked.calendar)
    locked.calendar = calendar
    locked.sla_hours = sla_hours
    locked.save(update_fields=["calendar", "sla_hours"])
    _audit(kind=SettingKind.QUEUE, object_id=locked.pk, label=f"{locked.name} calendar & SLA", actor=actor, before=before,
           after=snapshot(locked, calendar))
    queue.calendar, queue.sla_hours = calendar, sla_hours
    return locked


@transaction.atomic
def queue_escalation_save(*, queue: Queue, policy: EscalationPolicy, levels: Sequence[EscalationLevel],
                          calendar: BusinessCalendar | None, sla_hours: int,
                          actor: User | None) -> EscalationPolicy:
    """What the escalation screen and API save together: the queue's policy with its timer levels,
    and the calendar and SLA its clock runs on. Both or neither (each audited on its own)."""
    saved = escalation_policy_save(policy=policy, levels=levels, actor=actor)
    queue_calendar_set(queue=queue, calendar=calendar, sla_hours=sla_hours, actor=actor)
    return saved
