"""Escalation-policy and business-calendar screens for admins: lists, edit forms with a live
"what this would do" preview, and each setting's change history.

Non-admins get 404 like every other screen here. Writes go through the audited services in
exceptions.policies; previews build unsaved objects and never write.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache
from typing import Any, cast
from zoneinfo import ZoneInfo, available_timezones

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from exceptions.calendar import business_add, business_elapsed, calendar_default
from exceptions.escalation import hours_label
from exceptions.models import (
    BusinessCalendar,
    EscalationAction,
    EscalationCondition,
    EscalationLevel,
    EscalationPolicy,
    Queue,
    SettingChange,
    SettingKind,
)
from exceptions.permissions import queue_workers
from exceptions.policies import (
    CALENDAR_PERM,
    SLA_HOURS_MAX,
    WEEKDAY_NAMES,
    action_label,
    business_calendar_clean,
    business_calendar_save,
    can_edit_settings,
    escalation_policy_preview,
    holidays_parse,
    levels_summary,
    policy_queues_for,
    queue_escalation_save,
    queue_policy,
    setting_changes_for,
    weekdays_label,
)
from exceptions.screens import screen_render, screen_sidebar
from integration_hub.http import AuthenticatedHttpRequest

PREVIEW_SIZE = 20
PREVIEW_HOURS = (4, 8)
POLICY_TEMPLATE = "exceptions/escalation_form.html"
CALENDAR_TEMPLATE = "exceptions/calendar_form.html"


def _admin(request: AuthenticatedHttpRequest, perm: str) -> None:
    if not can_edit_settings(request.user, perm):
        raise Http404("no such page")


def _messages(errors: list[ValidationError]) -> list[str]:
    return [" ".join(error.messages) for error in errors]


# -- history ------------------------------------------------------------------------------------------
FIELD_LABELS = {
    "active": "active", "notify_only": "notify-only", "conditions": "escalates at once when",
    "condition_action": "a met condition", "levels": "timers", "calendar": "calendar", "sla_hours": "SLA hours",
    "name": "name", "time_zone": "time zone", "weekdays": "working days", "day_start": "day starts",
    "day_end": "day ends", "holidays": "holidays",
}
CONDITION_LABELS = dict(EscalationCondition.choices)
CONDITION_ACTION_LABELS = dict(EscalationPolicy._meta.get_field("condition_action").choices or [])


def _level_text(row: dict[str, Any]) -> str:
    """A level of an audit snapshot (exceptions.policies.policy_snapshot), as the summaries say it."""
    return action_label(str(row.get("action") or ""), manager=row.get("manager") or row.get("manager_email") or "",
                        reassign_to=row.get("reassign_to") or "")


def _shown(key: str, value: Any) -> str:
    if value is None or value == [] or value == "":
        return "none" if key in ("levels", "conditions", "holidays") else "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if key == "levels":
        return "; ".join(f"{row.get('after_hours')} h → {_level_text(row)}" for row in value)
    if key == "conditions":
        return ", ".join(str(CONDITION_LABELS.get(c, c)) for c in value)
    if key == "condition_action":
        return str(CONDITION_ACTION_LABELS.get(value, value)).lower()
    if key == "weekdays":
        return weekdays_label(value)
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def _change_lines(change: SettingChange) -> list[dict[str, str]]:
    """What changed, field by field, in words ("timers: 4 h → notify lead  ⟶  2 h → notify lead")."""
    before, after = change.before or {}, change.after or {}
    lines = []
    for key in dict.fromkeys([*after, *before]):
        old, new = before.get(key), after.get(key)
        if before and old == new:
            continue
        line = {"field": FIELD_LABELS.get(key, key), "before": _shown(key, old) if before else "",
                "after": _shown(key, new)}
        if key == "holidays" and before:
            added = sorted(set(new or []) - set(old or []))
            removed = sorted(set(old or []) - set(new or []))
            line["before"], line["after"] = "", " ".join([*(f"+{d}" for d in added), *(f"−{d}" for d in removed)])
        lines.append(line)
    return lines


def _history(changes: Any) -> list[dict[str, Any]]:
    return [{"change": c, "lines": _change_lines(c)} for c in changes]


# -- escalation policies ----------------------------------------------------------------------------
@login_required
@require_GET
def escalation_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    editable = policy_queues_for(request.user)
    if not editable.exists():
        raise Http404("no such page")
    default = calendar_default()
    queues = (editable.select_related("calendar", "escalation_policy")
              .prefetch_related("escalation_policy__levels__manager", "escalation_policy__levels__reassign_to")
              .order_by("name"))
    rows = []
    for queue in queues:
        policy = queue_policy(queue)
        rows.append({
            "queue": queue, "policy": policy,
            "timers": levels_summary(policy.levels.all()) if policy else "",
            "conditions": [CONDITION_LABELS.get(c, c) for c in (policy.conditions if policy else [])],
            "calendar": queue.calendar or default,
        })
    # A lead reads their queues' history only (the same rule as the API's).
    changes = setting_changes_for(request.user).filter(kind__in=[SettingKind.ESCALATION_POLICY, SettingKind.QUEUE])
    context = {"rows": rows, "history": _history(changes.select_related("actor")[:20]), "sidebar": screen_sidebar(request),
               "can_edit_calendars": can_edit_settings(request.user, CALENDAR_PERM)}
    return screen_render(request, "exceptions/escalation.html", "escalation-policies", context)


class PolicyForm(forms.ModelForm):
    conditions = forms.MultipleChoiceField(choices=EscalationCondition.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
                                           label="Escalate at once when")
    calendar = forms.ModelChoiceField(queryset=BusinessCalendar.objects.none(), required=False,
                                      label="Business calendar", help_text="the timers count only its working hours")
    sla_hours = forms.IntegerField(min_value=1, max_value=SLA_HOURS_MAX, label="SLA (hours)",
                                   help_text="older open exceptions show as breaching the SLA")

    class Meta:
        model = EscalationPolicy
        fields = ["active", "notify_only", "conditions", "condition_action"]
        labels = {"active": "Policy is active", "notify_only": "Notify only (dry run)",
                  "condition_action": "A met condition"}
        help_texts = {"active": "off: nothing on this queue escalates",
                      "notify_only": "reassign and raise-priority steps only notify",
                      "condition_action": "the leads are notified either way"}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `fields` is typed as plain `Field`; this one is the model's foreign key.
        field = cast("forms.ModelChoiceField[BusinessCalendar]", self.fields["calendar"])
        field.queryset = BusinessCalendar.objects.order_by("name")
        field.empty_label = "Default calendar"


class LevelForm(forms.Form):
    after_hours = forms.DecimalField(max_digits=6, decimal_places=2, label="After (business hours)",
                                     widget=forms.NumberInput(attrs={"step": "0.5", "min": "0.5"}))
    action = forms.ChoiceField(choices=EscalationAction.choices, label="Then")
    manager = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False, label="Manager",
                                     empty_label="—")
    manager_email = forms.EmailField(required=False, label="or manager email",
                                     widget=forms.EmailInput(attrs={"placeholder": "manager@example.com"}))
    reassign_to = forms.ModelChoiceField(queryset=get_user_model().objects.none(), required=False,
                                         label="Reassign to", empty_label="—")

    def __init__(self, *args: Any, queue: Queue, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast("forms.ModelChoiceField[User]", self.fields["manager"]).queryset = get_user_model().objects.filter(
            is_active=True).order_by("username")
        cast("forms.ModelChoiceField[User]", self.fields["reassign_to"]).queryset = queue_workers(queue=queue)
        row = (self.prefix or "").rsplit("-", 1)[-1]
        for field in self.fields.values():
            field.widget.attrs.setdefault(
                "aria-label", f"Level {int(row) + 1}: {field.label}" if row.isdigit() else str(field.label))


LevelFormSet = forms.formset_factory(LevelForm, extra=0)
LEVELS_PREFIX = "levels"


def _level_initial(level: EscalationLevel) -> dict[str, Any]:
    return {"after_hours": hours_label(level.after_hours), "action": level.action, "manager": level.manager_id,
            "manager_email": level.manager_email, "reassign_to": level.reassign_to_id}


def _rows(formset: Any) -> list[dict[str, Any]]:
    """The levels as posted (raw values, valid or not)."""
    return [{name: form[name].value() for name in form.fields} for form in formset.forms]


def _with_rows(post: QueryDict, rows: list[dict[str, Any]]) -> QueryDict:
    """`post` with its level rows replaced by `rows` (renumbered), as if the browser had sent them."""
    data = post.copy()
    for key in list(data):
        if key.startswith(f"{LEVELS_PREFIX}-"):
            del data[key]
    data.update({f"{LEVELS_PREFIX}-TOTAL_FORMS": str(len(rows)), f"{LEVELS_PREFIX}-INITIAL_FORMS": "0"})
    for i, row in enumerate(rows):
        for name, value in row.items():
            data[f"{LEVELS_PREFIX}-{i}-{name}"] = "" if value is None else str(value)
    return data


def _next_hours(rows: list[dict[str, Any]]) -> str:
    try:
        last = max(Decimal(str(row.get("after_hours") or 0)) for row in rows) if rows else Decimal(0)
    except ArithmeticError:
        last = Decimal(0)
    return hours_label(last + 4)


def _levels(formset: Any) -> list[EscalationLevel]:
    return [EscalationLevel(level=number, after_hours=form.cleaned_data["after_hours"],
                            action=form.cleaned_data["action"], manager=form.cleaned_data.get("manager"),
                            manager_email=form.cleaned_data.get("manager_email") or "",
                            reassign_to=form.cleaned_data.get("reassign_to"))
            for number, form in enumerate(formset.forms, start=1)]


def _draft(queue: Queue, saved: EscalationPolicy | None, form: PolicyForm,
           formset: Any) -> tuple[EscalationPolicy, list[EscalationLevel], BusinessCalendar | None, int] | None:
    """The policy, levels, calendar and SLA on screen: the saved ones, or the edited ones when they parse."""
    if not form.is_bound:
        levels = list(saved.levels.select_related("manager", "reassign_to")) if saved else []
        return saved or EscalationPolicy(queue=queue), levels, queue.calendar, queue.sla_hours
    if not (form.is_valid() and formset.is_valid()):
        return None
    return form.save(commit=False), _levels(formset), form.cleaned_data.get("calendar"), form.cleaned_data["sla_hours"]


def _policy_preview(queue: Queue, draft: tuple[EscalationPolicy, list[EscalationLevel], BusinessCalendar | None, int]
                    | None, *, now: datetime | None = None) -> dict[str, Any]:
    """The queue's open exceptions (oldest first) and their deadlines under the edited, unsaved policy."""
    if draft is None:
        return {"invalid": True}
    now = now or timezone.now()
    policy, levels, calendar, sla_hours = draft
    preview = escalation_policy_preview(queue=queue, policy=policy, levels=levels, calendar=calendar,
                                        sla_hours=sla_hours, limit=PREVIEW_SIZE, now=now)
    rows = [{"exception": row.exception, "deadlines": row.deadlines,
             "at_once": [CONDITION_LABELS.get(m, m) for m in row.conditions_met],
             "condition_fired": row.condition_fired, "sla_due": row.sla_due, "sla_breached": row.sla_breached}
            for row in preview.rows]
    return {"invalid": False, "problems": _messages(preview.problems), "rows": rows, "active": policy.active,
            "notify_only": policy.notify_only, "calendar": preview.calendar,
            "zone": preview.calendar.time_zone or "UTC", "timers": levels_summary(levels),
            "open_count": preview.open_count, "limit": PREVIEW_SIZE, "now": now}


def _apply_errors(form: PolicyForm, error: ValidationError) -> list[ValidationError]:
    """Put a service's errors on the form; the level errors come back for the levels table."""
    level_errors: list[ValidationError] = []
    pairs = error.error_dict.items() if hasattr(error, "error_dict") else [(None, error.error_list)]
    for key, errors in pairs:
        if key == "levels":
            level_errors.extend(errors)
        else:
            form.add_error(key if key in form.fields else None, errors)
    return level_errors


@login_required
@require_http_methods(["GET", "POST"])
def escalation_edit(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    # Settings editors edit every queue's policy; a queue's leads (administer) edit their own.
    queue = get_object_or_404(policy_queues_for(request.user).select_related("calendar"), slug=slug)
    saved = EscalationPolicy.objects.filter(queue=queue).first()
    policy = saved or EscalationPolicy(queue=queue)
    level_errors: list[ValidationError] = []
    formset_kwargs: dict[str, Any] = {"prefix": LEVELS_PREFIX, "form_kwargs": {"queue": queue}}
    if request.method != "POST":
        form = PolicyForm(instance=policy, initial={"calendar": queue.calendar_id, "sla_hours": queue.sla_hours})
        initial = [_level_initial(level) for level in saved.levels.all()] if saved else []
        formset = LevelFormSet(initial=initial, **formset_kwargs)
        return _policy_page(request, queue, saved, form, formset, level_errors)

    data = request.POST
    form = PolicyForm(data, instance=policy)
    formset = LevelFormSet(data, **formset_kwargs)
    if "add_level" in data or "remove_level" in data:
        # "+ level" and "remove" post the whole form: without JS the page comes back with the
        # rows changed and nothing saved; with htmx only the levels table is swapped.
        rows = _rows(formset)
        if "add_level" in data:
            rows.append({"after_hours": _next_hours(rows), "action": EscalationAction.NOTIFY_LEAD,
                         "manager": "", "manager_email": "", "reassign_to": ""})
        elif data.get("remove_level", "").isdigit() and int(data["remove_level"]) < len(rows):
            del rows[int(data["remove_level"])]
        rebuilt = _with_rows(data, rows)
        form = PolicyForm(rebuilt, instance=policy)
        formset = LevelFormSet(rebuilt, **formset_kwargs)
        response = _policy_page(request, queue, saved, form, formset, level_errors, partial="escalation-levels")
        response["HX-Trigger-After-Swap"] = "levelsChanged"
        return response
    if "preview" in data:
        return _policy_page(request, queue, saved, form, formset, level_errors, partial="escalation-preview")
    if form.is_valid() and formset.is_valid():
        try:
            queue_escalation_save(queue=queue, policy=form.save(commit=False), levels=_levels(formset),
                                  calendar=form.cleaned_data.get("calendar"), sla_hours=form.cleaned_data["sla_hours"],
                                  actor=request.user)
        except ValidationError as error:
            level_errors = _apply_errors(form, error)
        else:
            messages.success(request, f"Escalation of {queue.name} saved.")
            return redirect("exceptions:escalation")
    return _policy_page(request, queue, saved, form, formset, level_errors, status=422)


def _policy_page(request: AuthenticatedHttpRequest, queue: Queue, saved: EscalationPolicy | None, form: PolicyForm,
                 formset: Any, level_errors: list[ValidationError], *, partial: str | None = None,
                 status: int = 200) -> HttpResponse:
    targets = Q(kind=SettingKind.QUEUE, object_id=queue.pk)
    if saved is not None:
        targets |= Q(kind=SettingKind.ESCALATION_POLICY, object_id=saved.pk)
    context = {
        "edited_queue": queue, "policy": saved, "form": form, "formset": formset,
        "level_errors": _messages(level_errors),
        "flagged": {e.params.get("level") for e in level_errors if e.params},
        # An htmx "+ level" swaps the table only; the preview then asks again (levelsChanged).
        "preview": None if partial == "escalation-levels" and request.htmx
        else _policy_preview(queue, _draft(queue, saved, form, formset)),
        "history": _history(setting_changes_for(request.user).filter(targets).select_related("actor")[:50]),
        "sidebar": screen_sidebar(request),
        "can_edit_calendars": can_edit_settings(request.user, CALENDAR_PERM),
    }
    return screen_render(request, POLICY_TEMPLATE, partial or "escalation-preview", context, status=status)


# -- business calendars --------------------------------------------------------------------------------
@cache
def _zones() -> list[tuple[str, str]]:
    return [(zone, zone) for zone in sorted(available_timezones())]


class HolidaysField(forms.CharField):
    """A list of ISO dates edited as text: one a line, or comma-separated."""

    widget = forms.Textarea(attrs={"rows": 6, "placeholder": "2026-12-24\n2026-12-25"})

    def prepare_value(self, value: Any) -> Any:
        return "\n".join(str(v) for v in value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        return [v.strip() for v in str(value or "").replace(",", "\n").splitlines() if v.strip()]

    def validate(self, value: Any) -> None:
        pass  # empty is fine; each entry is checked in clean()

    def clean(self, value: Any) -> list[str]:
        return holidays_parse(self.to_python(value))


class CalendarForm(forms.ModelForm):
    time_zone = forms.ChoiceField(choices=_zones, label="Time zone")
    weekdays = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAY_NAMES)), coerce=int, widget=forms.CheckboxSelectMultiple(attrs={"class": "checks"}),
        label="Working days",
        error_messages={"required": "Pick at least one working day."})
    day_start = forms.TimeField(label="Day starts", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    day_end = forms.TimeField(label="Day ends", widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    holidays = HolidaysField(required=False, label="Holidays",
                             help_text="one date a line (or comma-separated), YYYY-MM-DD")

    class Meta:
        model = BusinessCalendar
        fields = ["name", "time_zone", "weekdays", "day_start", "day_end", "holidays"]


def _calendar_preview(form: CalendarForm, calendar: BusinessCalendar | None, *,
                      now: datetime | None = None) -> dict[str, Any] | None:
    """When an exception raised now would reach 4 and 8 business hours on the edited calendar
    (the saved one before any edit; None for a new calendar not yet filled in)."""
    draft = calendar
    if form.is_bound:
        if form.is_valid():
            draft = form.save(commit=False)
            try:
                business_calendar_clean(draft)
            except ValidationError as error:
                form.add_error(None, error)
        if form.errors:
            # An ErrorList yields its messages as str (the stubs say ValidationError | str | promise).
            return {"errors": [f"{form.fields[k].label}: {' '.join(map(str, v))}" if k in form.fields
                               else " ".join(map(str, v)) for k, v in form.errors.items()]}
    if draft is None:
        return None
    now = now or timezone.now()
    zone = ZoneInfo(draft.time_zone or "UTC")
    step = timedelta(seconds=1)
    return {
        "errors": [], "zone": draft.time_zone, "now": now.astimezone(zone),
        "working_now": business_elapsed(draft, now, now + step) == step,
        "reach": [(hours, business_add(draft, now, timedelta(hours=hours)).astimezone(zone))
                  for hours in PREVIEW_HOURS],
    }


@login_required
@require_GET
def calendar_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _admin(request, CALENDAR_PERM)
    today = timezone.localdate()
    calendars = []
    for calendar in BusinessCalendar.objects.prefetch_related("queues").order_by("name"):
        upcoming = [d for d in calendar.holidays or [] if str(d) >= today.isoformat()]
        calendars.append({"calendar": calendar, "days": weekdays_label(calendar.weekdays or []),
                          "queues": list(calendar.queues.all()), "next_holiday": min(upcoming, default=None),
                          "holiday_count": len(calendar.holidays or [])})
    changes = setting_changes_for(request.user).filter(kind=SettingKind.CALENDAR).select_related("actor")[:20]
    context = {"calendars": calendars, "default_name": calendar_default().name, "history": _history(changes),
               "unassigned": Queue.objects.filter(calendar__isnull=True).order_by("name"),
               "sidebar": screen_sidebar(request)}
    return screen_render(request, "exceptions/calendars.html", "calendar-list", context)


@login_required
@require_http_methods(["GET", "POST"])
def calendar_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _admin(request, CALENDAR_PERM)
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    status = 200
    if request.method == "POST":
        form = CalendarForm(request.POST, instance=calendar or BusinessCalendar())
        if "preview" not in request.POST and form.is_valid():
            try:
                saved = business_calendar_save(calendar=form.save(commit=False), actor=request.user)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, f"Calendar “{saved.name}” saved.")
                return redirect("exceptions:calendars")
    else:
        form = CalendarForm(instance=calendar)
    # A new calendar previews its defaults until the first change.
    preview = _calendar_preview(form, calendar or form.instance)
    if form.is_bound and form.errors and "preview" not in request.POST:
        status = 422
    history = (setting_changes_for(request.user).filter(kind=SettingKind.CALENDAR, object_id=calendar.pk)
               .select_related("actor")[:50]) if calendar else []
    context = {"form": form, "calendar": calendar, "preview": preview, "history": _history(history),
               "queues": list(calendar.queues.order_by("name")) if calendar else [], "sidebar": screen_sidebar(request)}
    return screen_render(request, CALENDAR_TEMPLATE, "calendar-preview", context, status=status)
