"""REST API on escalation policies, business calendars and their audit trail: everything the admin
screens in exceptions.escalation_views do (list, edit, preview, history).

Same people as the screens (exceptions.policies.can_edit_settings: staff, superusers, holders of
exceptions.change_escalationpolicy for policies, exceptions.change_businesscalendar for calendars);
everyone else gets 404 on every endpoint. Writes go through the audited services in
exceptions.policies, so validation and the `SettingChange` rows are the screens'; the services'
errors answer 400 with the same messages keyed by field (timer levels under "levels", each message
naming its level)."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.generics import GenericAPIView
from rest_framework.response import Response
from rest_framework.settings import api_settings

from exceptions.api import AllowedOr404, DeadlineSerializer, username_field
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
from exceptions.permissions import queues_for
from exceptions.policies import (
    CALENDAR_PERM,
    SLA_HOURS_MAX,
    PolicyPreview,
    business_calendar_save,
    can_edit_settings,
    escalation_policy_preview,
    levels_summary,
    policy_queues_for,
    queue_escalation_save,
    queue_membership_set,
    queue_policy,
    setting_changes_for,
    setting_history_readable,
)
from exceptions.selectors import queue_people
from integration_hub.http import AuthenticatedRequest

PREVIEW_SIZE = 20  # as on the screen
PREVIEW_MAX = 100
CONDITION_ACTION_CHOICES = EscalationPolicy._meta.get_field("condition_action").choices or []


def _invalid(error: DjangoValidationError) -> ValidationError:
    """A service's ValidationError as a 400 with the same messages, keyed by field."""
    if hasattr(error, "error_dict"):
        return ValidationError(error.message_dict)
    return ValidationError({api_settings.NON_FIELD_ERRORS_KEY: error.messages})


# -- escalation policies ----------------------------------------------------------------------------
class EscalationLevelSerializer(serializers.Serializer):
    level = serializers.IntegerField(min_value=1, required=False,
                                     help_text="1, 2, …: the order the timers fire in; omitted: its place in the list")
    after_hours = serializers.DecimalField(max_digits=6, decimal_places=2,
                                           help_text="business hours unresolved; each level waits longer than the last")
    action = serializers.ChoiceField(choices=EscalationAction.choices)
    manager = username_field("notify_manager: the manager's username (or give manager_email)")
    manager_email = serializers.EmailField(required=False, allow_blank=True,
                                           help_text="notify_manager: an address, when the manager is no user")
    reassign_to = username_field("reassign: the username of someone who can work the queue")


class EscalationPolicySerializer(serializers.Serializer):
    """A queue's escalation as the editor shows it. On write, omitted fields keep their saved value
    (a PUT must send the levels: they are replaced as a whole)."""

    queue = serializers.CharField(read_only=True, help_text="queue slug")
    queue_id = serializers.IntegerField(read_only=True, help_text="object_id of its `queue` setting changes")
    id = serializers.IntegerField(read_only=True, allow_null=True,
                                  help_text="object_id of its `escalation_policy` setting changes; null: never saved")
    active = serializers.BooleanField(required=False, help_text="off: nothing on this queue escalates")
    notify_only = serializers.BooleanField(required=False,
                                           help_text="reassign and raise-priority steps only notify (a dry run)")
    conditions = serializers.ListField(child=serializers.ChoiceField(choices=EscalationCondition.choices),
                                       required=False, help_text="escalate at once when any of these holds")
    condition_action = serializers.ChoiceField(choices=CONDITION_ACTION_CHOICES, required=False,
                                               help_text="what a met condition does (the leads are notified either way)")
    levels = EscalationLevelSerializer(many=True, help_text="the timer levels, replacing the saved ones")
    calendar = serializers.PrimaryKeyRelatedField(
        queryset=BusinessCalendar.objects.all(), required=False, allow_null=True,
        help_text="business calendar id the timers count on; null: the default calendar",
        error_messages={"does_not_exist": "There is no calendar {pk_value}."},
    )
    sla_hours = serializers.IntegerField(
        min_value=1, max_value=SLA_HOURS_MAX, required=False,
        help_text="an open exception older than this breaches the queue's SLA",
        error_messages={key: f"The SLA must be 1 to {SLA_HOURS_MAX} hours." for key in ("min_value", "max_value")},
    )


def _policy_data(queue: Queue) -> dict[str, Any]:
    saved = queue_policy(queue)
    shown = saved or EscalationPolicy(queue=queue)  # what a first save starts from
    return {"queue": queue.slug, "queue_id": queue.pk, "id": saved.pk if saved else None, "active": shown.active,
            "notify_only": shown.notify_only, "conditions": list(shown.conditions or []),
            "condition_action": shown.condition_action, "levels": list(saved.levels.all()) if saved else [],
            "calendar": queue.calendar, "sla_hours": queue.sla_hours}


def _draft(queue: Queue, data: dict[str, Any]) -> tuple[EscalationPolicy, list[EscalationLevel],
                                                        BusinessCalendar | None, int]:
    """The posted policy, levels, calendar and SLA over the saved ones (unsaved objects)."""
    saved = queue_policy(queue)
    base = saved or EscalationPolicy(queue=queue)
    policy = EscalationPolicy(queue=queue, **{name: data.get(name, getattr(base, name))
                                              for name in ("active", "notify_only", "conditions", "condition_action")})
    if "levels" in data:
        levels = [EscalationLevel(level=row.get("level") or number, after_hours=row["after_hours"],
                                  action=row["action"], manager=row.get("manager"),
                                  manager_email=row.get("manager_email") or "", reassign_to=row.get("reassign_to"))
                  for number, row in enumerate(data["levels"], start=1)]
    else:
        levels = list(saved.levels.all()) if saved else []
    return policy, levels, data.get("calendar", queue.calendar), data.get("sla_hours", queue.sla_hours)


class PreviewQuerySerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=PREVIEW_MAX, default=PREVIEW_SIZE,
                                     help_text=f"how many open exceptions, oldest first (at most {PREVIEW_MAX})")


class PolicyPreviewRowSerializer(serializers.Serializer):
    exception = serializers.IntegerField()
    title = serializers.CharField()
    type_code = serializers.CharField()
    first_seen = serializers.DateTimeField()
    waiting = serializers.BooleanField(help_text="waiting on someone outside: the timers are paused")
    conditions_met = serializers.ListField(child=serializers.CharField(),
                                           help_text="conditions that would escalate it at once")
    condition_fired = serializers.BooleanField(help_text="it already escalated on a condition (that fires once)")
    deadlines = DeadlineSerializer(many=True)
    sla_due = serializers.DateTimeField()
    sla_breached = serializers.BooleanField()


class PolicyPreviewSerializer(serializers.Serializer):
    queue = serializers.CharField()
    active = serializers.BooleanField(help_text="false: nothing would escalate (no rows)")
    notify_only = serializers.BooleanField()
    calendar = serializers.IntegerField(help_text="the calendar the timers count on (the default one when none is set)")
    time_zone = serializers.CharField()
    timers = serializers.CharField(help_text='e.g. "4 h → notify lead; 8 h → manager cfo@example.com"')
    limit = serializers.IntegerField()
    open_count = serializers.IntegerField(help_text="open exceptions considered, at most `limit`")
    rows = PolicyPreviewRowSerializer(many=True)


def _preview_payload(queue: Queue, policy: EscalationPolicy, levels: list[EscalationLevel], preview: PolicyPreview,
                     limit: int) -> dict[str, Any]:
    return {
        "queue": queue.slug, "active": policy.active, "notify_only": policy.notify_only,
        "calendar": preview.calendar.pk, "time_zone": preview.calendar.time_zone or "UTC",
        "timers": levels_summary(levels), "limit": limit, "open_count": preview.open_count,
        "rows": [{"exception": row.exception.pk, "title": row.exception.title, "type_code": row.exception.type_code,
                  "first_seen": row.exception.first_seen, "waiting": row.exception.waiting_since is not None,
                  "conditions_met": row.conditions_met, "condition_fired": row.condition_fired,
                  "deadlines": DeadlineSerializer(row.deadlines, many=True).data, "sla_due": row.sla_due,
                  "sla_breached": row.sla_breached} for row in preview.rows],
    }


QUEUE_PARAM = OpenApiParameter("queue", str, OpenApiParameter.PATH, description="queue slug, e.g. master-data")


@extend_schema_view(
    list=extend_schema(responses=EscalationPolicySerializer(many=True)),
    retrieve=extend_schema(parameters=[QUEUE_PARAM]),
    update=extend_schema(parameters=[QUEUE_PARAM]),
    partial_update=extend_schema(parameters=[QUEUE_PARAM]),
)
class EscalationPolicyViewSet(viewsets.GenericViewSet):
    """Each queue's escalation (timer levels in business hours, conditions that escalate at once),
    with the calendar its timers count on and its SLA. A queue never saved shows the defaults."""

    serializer_class = EscalationPolicySerializer
    permission_classes = [permissions.IsAuthenticated, AllowedOr404]
    queryset = Queue.objects.none()
    lookup_field = "slug"
    lookup_url_kwarg = "queue"
    lookup_value_regex = r"[-a-zA-Z0-9_]+"

    @staticmethod
    def allowed(user: Any) -> bool:
        # Settings editors, or the leads of at least one queue (they edit their own queues' policy).
        return policy_queues_for(user).exists()

    def get_queryset(self) -> QuerySet[Queue]:
        # Settings editors: every queue; a lead: the queues they administer (others are 404).
        return (policy_queues_for(self.request.user).select_related("calendar", "escalation_policy")
                .prefetch_related("escalation_policy__levels__manager", "escalation_policy__levels__reassign_to")
                .order_by("name"))

    def _answer(self, queue: Queue) -> Response:
        fresh = self.get_queryset().get(pk=queue.pk)
        return Response(EscalationPolicySerializer(_policy_data(fresh)).data)

    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        assert page is not None  # DEFAULT_PAGINATION_CLASS is set: a list is always paginated
        return self.get_paginated_response(EscalationPolicySerializer([_policy_data(q) for q in page], many=True).data)

    def retrieve(self, request: AuthenticatedRequest, queue: str | None = None) -> Response:
        return self._answer(self.get_object())

    def update(self, request: AuthenticatedRequest, queue: str | None = None, partial: bool = False) -> Response:
        edited = self.get_object()
        payload = EscalationPolicySerializer(data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        policy, levels, calendar, sla_hours = _draft(edited, payload.validated_data)
        try:
            queue_escalation_save(queue=edited, policy=policy, levels=levels, calendar=calendar,  # as on the screen
                                  sla_hours=sla_hours, actor=request.user)
        except DjangoValidationError as error:
            raise _invalid(error) from error
        return self._answer(edited)

    def partial_update(self, request: AuthenticatedRequest, queue: str | None = None) -> Response:
        return self.update(request, queue, partial=True)

    @extend_schema(request=EscalationPolicySerializer, responses=PolicyPreviewSerializer,
                   parameters=[QUEUE_PARAM, PreviewQuerySerializer])
    @action(detail=True, methods=["post"])
    def preview(self, request: AuthenticatedRequest, queue: str | None = None) -> Response:
        """The queue's open exceptions (oldest first) and their deadlines under the posted policy;
        nothing is saved. Levels that could not be saved answer 400, as a PUT would."""
        edited = self.get_object()
        query = PreviewQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        payload = EscalationPolicySerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        policy, levels, calendar, sla_hours = _draft(edited, payload.validated_data)
        limit = query.validated_data["limit"]
        preview = escalation_policy_preview(queue=edited, policy=policy, levels=levels, calendar=calendar,
                                            sla_hours=sla_hours, limit=limit)
        if preview.problems:
            raise ValidationError({"levels": [" ".join(problem.messages) for problem in preview.problems]})
        return Response(_preview_payload(edited, policy, levels, preview, limit))


# -- business calendars -----------------------------------------------------------------------------
class BusinessCalendarSerializer(serializers.ModelSerializer):
    # Blank or taken names, bad zones, days and holidays get the service's messages, as on the screen.
    name = serializers.CharField(max_length=100, allow_blank=True)
    time_zone = serializers.CharField(max_length=64, required=False, help_text="e.g. Europe/Berlin")
    weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0, max_value=6), required=False,
                                     help_text="working weekdays, 0 = Monday … 6 = Sunday")
    day_start = serializers.TimeField(required=False, help_text="in the calendar's time zone")
    day_end = serializers.TimeField(required=False, help_text="after day_start")
    holidays = serializers.ListField(child=serializers.CharField(allow_blank=True), required=False,
                                     help_text="ISO dates (YYYY-MM-DD) without work")
    queues: serializers.SlugRelatedField[Queue] = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True, help_text="queues whose timers count on it")

    class Meta:
        model = BusinessCalendar
        fields = ["id", "name", "time_zone", "weekdays", "day_start", "day_end", "holidays", "queues"]
        read_only_fields = ["id", "queues"]


@extend_schema_view(create=extend_schema(responses={201: BusinessCalendarSerializer}))
class BusinessCalendarViewSet(viewsets.GenericViewSet):
    """Working time the escalation timers count: a time zone, working weekdays, daily hours, holidays."""

    serializer_class = BusinessCalendarSerializer
    permission_classes = [permissions.IsAuthenticated, AllowedOr404]

    @staticmethod
    def allowed(user: Any) -> bool:
        return can_edit_settings(user, CALENDAR_PERM)

    queryset = BusinessCalendar.objects.prefetch_related("queues").order_by("name")
    lookup_value_regex = r"[0-9]+"

    def _save(self, calendar: BusinessCalendar, request: AuthenticatedRequest, *, created: bool = False) -> Response:
        try:
            saved = business_calendar_save(calendar=calendar, actor=request.user)
        except DjangoValidationError as error:
            raise _invalid(error) from error
        return Response(BusinessCalendarSerializer(self.get_queryset().get(pk=saved.pk)).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    def list(self, request: AuthenticatedRequest) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(BusinessCalendarSerializer(page, many=True).data)

    def retrieve(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        return Response(BusinessCalendarSerializer(self.get_object()).data)

    def create(self, request: AuthenticatedRequest) -> Response:
        payload = BusinessCalendarSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        return self._save(BusinessCalendar(**payload.validated_data), request, created=True)

    def update(self, request: AuthenticatedRequest, pk: Any = None, partial: bool = False) -> Response:
        calendar = self.get_object()
        payload = BusinessCalendarSerializer(calendar, data=request.data, partial=partial)
        payload.is_valid(raise_exception=True)
        for name, value in payload.validated_data.items():
            setattr(calendar, name, value)
        return self._save(calendar, request)

    def partial_update(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        return self.update(request, pk, partial=True)


# -- the audit trail --------------------------------------------------------------------------------
class SettingChangeQuerySerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=SettingKind.choices, required=False)
    object_id = serializers.IntegerField(min_value=0, required=False,
                                         help_text="the policy, calendar or queue id (with `kind`)")


class SettingChangeSerializer(serializers.ModelSerializer):
    actor: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="username; null: the system")

    class Meta:
        model = SettingChange
        fields = ["id", "created_at", "kind", "object_id", "label", "action", "actor", "before", "after"]
        read_only_fields = fields


@extend_schema_view(list=extend_schema(parameters=[SettingChangeQuerySerializer]))
class SettingChangeViewSet(viewsets.GenericViewSet):
    """Edits of escalation policies, queues' calendar and SLA, queues' members and business
    calendars, newest first: who, what, before/after. Each editor reads the history of what they
    may edit, as on the screens (exceptions.policies.setting_changes_for): a lead their queues'."""

    serializer_class = SettingChangeSerializer
    permission_classes = [permissions.IsAuthenticated, AllowedOr404]

    @staticmethod
    def allowed(user: Any) -> bool:
        return setting_history_readable(user)

    queryset = SettingChange.objects.none()

    def get_queryset(self) -> QuerySet[SettingChange]:
        return setting_changes_for(self.request.user).select_related("actor").order_by("-created_at", "-pk")

    def list(self, request: AuthenticatedRequest) -> Response:
        query = SettingChangeQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        changes = self.get_queryset()
        if "kind" in query.validated_data:
            changes = changes.filter(kind=query.validated_data["kind"])
        if "object_id" in query.validated_data:
            changes = changes.filter(object_id=query.validated_data["object_id"])
        page = self.paginate_queryset(changes)
        return self.get_paginated_response(SettingChangeSerializer(page, many=True).data)


# -- queue members ----------------------------------------------------------------------------------
class QueueMemberSerializer(serializers.Serializer):
    username = serializers.CharField()
    name = serializers.CharField(read_only=True)
    role = serializers.ChoiceField(choices=["member", "lead"], allow_null=True,
                                   help_text='"member", "lead", or null to take the person out of the queue')
    open_assigned = serializers.IntegerField(read_only=True)


class QueueMembersView(GenericAPIView):
    """A queue's members and leads, for those who administer it (leads, staff): list, and set one
    person's role (null removes them; their open exceptions go back to the queue). Others: 404."""

    serializer_class = QueueMemberSerializer
    permission_classes = [permissions.IsAuthenticated]

    def _queue(self, slug: str) -> Queue:
        queue = queues_for(user=self.request.user, perm="administer").filter(slug=slug).first()
        if queue is None:
            raise NotFound
        return queue

    def _members(self, queue: Queue) -> list[dict[str, Any]]:
        return [{"username": p.username, "name": p.get_full_name() or p.username, "role": p.role,
                 "open_assigned": p.open_assigned} for p in queue_people(queue=queue)]

    @extend_schema(responses=QueueMemberSerializer(many=True))
    def get(self, request: AuthenticatedRequest, slug: str) -> Response:
        return Response(QueueMemberSerializer(self._members(self._queue(slug)), many=True).data)

    @extend_schema(request=QueueMemberSerializer, responses=QueueMemberSerializer(many=True))
    def post(self, request: AuthenticatedRequest, slug: str) -> Response:
        queue = self._queue(slug)
        payload = QueueMemberSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        person = get_user_model().objects.filter(username=payload.validated_data["username"]).first()
        if person is None:
            raise ValidationError({"username": [f"There is no user called '{payload.validated_data['username']}'."]})
        try:
            queue_membership_set(queue=queue, user=person, role=payload.validated_data["role"],
                                 actor=request.user)
        except DjangoValidationError as error:
            raise _invalid(error) from error
        return Response(QueueMemberSerializer(self._members(queue), many=True).data)
