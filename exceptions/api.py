"""REST API on exceptions: everything the triage screens do (list/filter, assign, comment, tag,
resolve with each path, bulk, bulk jobs with progress). A user sees their queues' exceptions, staff see all; anything
outside a user's queues is a 404, reads and writes alike."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response

from exceptions.bulk import (
    BULK_ACTIONS,
    BULK_LIMIT,
    bulk_ids_for_filter,
    bulk_job_start,
    exception_bulk,
)
from exceptions.errors import BulkError, ExceptionNotOpen, ResolutionError
from exceptions.escalation import exception_deadlines
from exceptions.forms import FilterForm, ListFilters
from exceptions.models import BulkJob, ExceptionStatus, ExceptionType, Queue, SyncException
from exceptions.permissions import can_be_assigned, queue_has_perm, queues_for
from exceptions.resolution import PATHS, exception_resolve_path
from exceptions.selectors import exception_list
from exceptions.services import (
    exception_assign,
    exception_comment,
    exception_tags_set,
    exception_unwait,
    exception_wait,
)
from integration_hub.api import enum_field, salesforce_id_param
from integration_hub.http import AuthenticatedRequest
from integration_hub.security import security_denied


class AllowedOr404(permissions.BasePermission):
    """The view's `allowed(user)` decides; anyone else gets 404, never 403, so the API does not
    confirm that a setting or a queue it does not show exists (as the screens do)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not view.allowed(request.user):
            raise NotFound
        return True


def username_field(help_text: str, **kwargs: Any) -> serializers.SlugRelatedField:
    """An active user by username (null allowed), with messages a person understands."""
    return serializers.SlugRelatedField(
        slug_field="username", queryset=get_user_model().objects.filter(is_active=True), required=False,
        allow_null=True, help_text=help_text,
        error_messages={"does_not_exist": "There is no active user “{value}”.", "invalid": "Give a username."},
        **kwargs)


# The list's filters under their API names; the screen's FilterForm checks both (one rule).
FILTER_PARAMS = {"type": "type_code", "status": "status", "age": "age", "assignee": "assignee",
                 "amount_min": "amount_min", "amount_max": "amount_max", "customer": "customer",
                 "product": "product", "tag": "tag", "cause": "cause"}


def list_filters(params: Mapping[str, Any]) -> ListFilters:
    """The list's query parameters, checked as the screen checks them: a bad value ("NaN" as an
    amount, an unknown status) is a 400 keyed by the parameter, never a filter silently dropped."""
    form = FilterForm({field: params.get(name) for field, name in FILTER_PARAMS.items()})
    if not form.is_valid():
        raise serializers.ValidationError({FILTER_PARAMS.get(field, field): [str(e) for e in errors]
                                           for field, errors in form.errors.items()})
    return form.filters()


class SyncExceptionSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField[Queue] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    opportunity_id = serializers.CharField(source="handoff.opportunity_id", read_only=True, allow_null=True,
                                           help_text="null for an accounts-payable exception (a vendor invoice)")
    type_label = serializers.CharField(source="get_type_code_display", read_only=True)
    status = enum_field(ExceptionStatus)
    assignee: serializers.SlugRelatedField[User] = serializers.SlugRelatedField(
        slug_field="username", read_only=True, allow_null=True, help_text="username; null: nobody")

    class Meta:
        model = SyncException
        fields = [
            "id",
            "type_code",
            "type_label",
            "queue",
            "status",
            "priority",
            "title",
            "message",
            "evidence",
            "handoff",
            "vendor_invoice",
            "opportunity_id",
            "occurrences",
            "first_seen",
            "last_seen",
            "resolved_at",
            "resolution_note",
            "assignee",
            "tags",
            "snoozed_until",
            "amount",
            "currency",
            "customer_name",
            "product_code",
            "waiting_since",
            "waiting_on",
        ]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer):
    assignee = serializers.CharField(allow_blank=True, help_text='"me", a username, or "" to unassign')


class CommentSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=5000)


class TagsSerializer(serializers.Serializer):
    tags = serializers.ListField(child=serializers.CharField(max_length=40), allow_empty=True)


class WaitSerializer(serializers.Serializer):
    waiting = serializers.BooleanField(help_text="true: waiting on someone outside (timers pause); false: resume")
    on = serializers.CharField(required=False, allow_blank=True, max_length=200)


class DeadlineSerializer(serializers.Serializer):
    level = serializers.IntegerField()
    after_hours = serializers.DecimalField(max_digits=6, decimal_places=2)
    action = serializers.CharField()
    # The API field `label` shadows DRF's Field.label (a serializer is a field too).
    label = serializers.CharField()  # type: ignore[assignment]
    due_at = serializers.DateTimeField(allow_null=True, help_text="null while the timers are paused")
    fired_at = serializers.DateTimeField(allow_null=True)


class ResolveSerializer(serializers.Serializer):
    path = serializers.ChoiceField(choices=list(PATHS))
    note = serializers.CharField(required=False, allow_blank=True)
    business_partner = serializers.CharField(required=False)
    components = serializers.ListField(child=serializers.DictField(), required=False)
    crm_product_name = serializers.CharField(required=False, allow_blank=True)
    nearest = serializers.IntegerField(required=False, min_value=0)
    street = serializers.CharField(required=False, allow_blank=True)
    city = serializers.CharField(required=False, allow_blank=True)
    region = serializers.CharField(required=False, allow_blank=True)
    postal_code = serializers.CharField(required=False, allow_blank=True)
    country = serializers.CharField(required=False, allow_blank=True)
    terms_key = serializers.CharField(required=False, allow_blank=True)
    use_default = serializers.BooleanField(required=False)


def exception_ids(**kwargs: Any) -> serializers.ListField:
    """A list of exception ids: positive and within a 64-bit key, so "-1", "1e3" or 2**64 is a
    400 naming the item, not a 500 from the database."""
    child = serializers.IntegerField(min_value=1, max_value=2**63 - 1, error_messages={
        "invalid": "An exception id is a whole number, e.g. 1042.",
        "min_value": "An exception id is a positive number.",
        "max_value": "No exception has an id that large (an exception id fits in 64 bits).",
        "max_string_length": "No exception has an id that large (an exception id fits in 64 bits).",
    })
    return serializers.ListField(child=child, **kwargs)


class BulkSerializer(serializers.Serializer):
    ids = exception_ids(min_length=1, max_length=1000)
    action = serializers.ChoiceField(choices=list(BULK_ACTIONS))
    path = serializers.ChoiceField(choices=list(PATHS), required=False, help_text='for action "resolve"')
    note = serializers.CharField(required=False, allow_blank=True)
    assignee = serializers.CharField(required=False, help_text='username, for action "assign"')


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "opportunity_id", OpenApiTypes.STR, description="15- or 18-character Opportunity Id"
            ),
            OpenApiParameter("status", OpenApiTypes.STR, enum=ExceptionStatus.values),
            OpenApiParameter("queue", OpenApiTypes.STR, description="queue slug, e.g. pricing"),
            OpenApiParameter("type_code", OpenApiTypes.STR, enum=ExceptionType.values),
            OpenApiParameter("assignee", OpenApiTypes.STR, description='"me", "none" or a username'),
            OpenApiParameter("age", OpenApiTypes.STR, enum=["lt4h", "4h_24h", "1d_3d", "gt3d"]),
            OpenApiParameter("amount_min", OpenApiTypes.NUMBER),
            OpenApiParameter("amount_max", OpenApiTypes.NUMBER),
            OpenApiParameter("customer", OpenApiTypes.STR),
            OpenApiParameter("product", OpenApiTypes.STR),
            OpenApiParameter("tag", OpenApiTypes.STR),
            OpenApiParameter("cause", OpenApiTypes.STR, description="root-cause fingerprint"),
        ]
    )
)
class SyncExceptionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SyncExceptionSerializer
    queryset = SyncException.objects.none()

    def get_queryset(self) -> QuerySet[SyncException]:
        params = self.request.query_params if self.action == "list" else {}
        return exception_list(
            user=self.request.user,
            opportunity_id=salesforce_id_param(params, "opportunity_id"),
            queue_slug=params.get("queue"),
            **list_filters(params),
        )

    def get_object(self) -> SyncException:
        try:
            return super().get_object()
        except Http404:
            pk = str(self.kwargs.get("pk", ""))
            if pk.isdigit() and SyncException.objects.filter(pk=int(pk)).exists():
                security_denied(self.request, f"exception {pk} is outside the user's queues")
            raise

    def _workable(self) -> SyncException:
        exception = self.get_object()
        if not queue_has_perm(user=self.request.user, queue=exception.queue, perm="work"):
            security_denied(self.request, f"exception {exception.pk}: may view queue {exception.queue.slug} "
                                          "but not work it")
            raise Http404  # viewing is not working; do not confirm more than the user may do
        return exception

    def _fresh(self, exception: SyncException) -> Response:
        exception.refresh_from_db()
        return Response(SyncExceptionSerializer(exception).data)

    @extend_schema(request=AssignSerializer, responses=SyncExceptionSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        exception = self._workable()
        payload = AssignSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        who = payload.validated_data["assignee"]
        assignee = request.user if who == "me" else get_user_model().objects.filter(username=who).first() if who else None
        if who and not can_be_assigned(user=assignee, queue=exception.queue):
            return Response({"assignee": ["not a member of this queue"]}, status=status.HTTP_400_BAD_REQUEST)
        exception_assign(exception=exception, assignee=assignee, actor=request.user)
        return self._fresh(exception)

    @extend_schema(request=CommentSerializer, responses=SyncExceptionSerializer)
    @action(detail=True, methods=["post"])
    def comment(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        exception = self._workable()
        payload = CommentSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        exception_comment(exception=exception, actor=request.user, body=payload.validated_data["body"])
        return self._fresh(exception)

    @extend_schema(request=TagsSerializer, responses=SyncExceptionSerializer)
    @action(detail=True, methods=["post"])
    def tags(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        exception = self._workable()
        payload = TagsSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        exception_tags_set(exception=exception, actor=request.user, tags=payload.validated_data["tags"])
        return self._fresh(exception)

    @extend_schema(request=WaitSerializer, responses=SyncExceptionSerializer)
    @action(detail=True, methods=["post"])
    def wait(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        exception = self._workable()
        payload = WaitSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        try:
            if payload.validated_data["waiting"]:
                exception_wait(exception=exception, actor=request.user, on=payload.validated_data.get("on", ""))
            else:
                exception_unwait(exception=exception, actor=request.user)
        except ExceptionNotOpen as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT)
        return self._fresh(exception)

    @extend_schema(request=None, responses=DeadlineSerializer(many=True))
    @action(detail=True, methods=["get"], pagination_class=None)  # the whole list, not a page
    def deadlines(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        """Every escalation level of the exception's queue with its due time (fired or not)."""
        return Response(DeadlineSerializer(exception_deadlines(self.get_object()), many=True).data)

    @extend_schema(request=ResolveSerializer, responses=SyncExceptionSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: AuthenticatedRequest, pk: Any = None) -> Response:
        exception = self._workable()
        payload = ResolveSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = dict(payload.validated_data)
        try:
            exception_resolve_path(exception=exception, actor=request.user, path=data.pop("path"), data=data)
        except DjangoPermissionDenied as error:
            raise PermissionDenied(str(error)) from error
        except (ResolutionError, ExceptionNotOpen) as error:
            return Response({"detail": str(error)}, status=status.HTTP_409_CONFLICT
                            if isinstance(error, ExceptionNotOpen) else status.HTTP_400_BAD_REQUEST)
        return self._fresh(exception)

    @extend_schema(request=BulkSerializer, responses={200: OpenApiTypes.OBJECT})
    @action(detail=False, methods=["post"])
    def bulk(self, request: AuthenticatedRequest) -> Response:
        payload = BulkSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        try:
            outcome = exception_bulk(user=request.user, queue=None, ids=data["ids"], action=data["action"],
                                     data={"path": data.get("path", "retry"), "note": data.get("note", ""),
                                           "assignee": data.get("assignee", "")})
        except BulkError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(outcome)


# -- bulk jobs: the screen's bulk bar, with progress ---------------------------------------------------
class BulkJobSerializer(serializers.ModelSerializer):
    queue: serializers.SlugRelatedField[Queue] = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    total = serializers.IntegerField(read_only=True)
    processed = serializers.IntegerField(read_only=True)
    changed = serializers.IntegerField(read_only=True)
    unchanged = serializers.IntegerField(read_only=True)
    failed = serializers.IntegerField(read_only=True)
    results = serializers.DictField(child=serializers.CharField(), read_only=True,
                                    help_text='exception id → "changed", "unchanged" or "failed: <reason>"')

    class Meta:
        model = BulkJob
        fields = ["id", "label", "action", "queue", "status", "total", "processed", "changed", "unchanged", "failed",
                  "results", "created_at", "finished_at"]
        read_only_fields = fields


class BulkJobStartSerializer(serializers.Serializer):
    queue = serializers.SlugField(help_text="the queue's slug; the selection must be in it")
    ids = exception_ids(required=False, max_length=BULK_LIMIT)
    filter = serializers.CharField(required=False, allow_blank=True,
                                   help_text='instead of ids: the list filter\'s query string, e.g. "customer=acme"')
    action = serializers.ChoiceField(choices=[a for a in BULK_ACTIONS if a != "resolve"])
    assignee = serializers.CharField(required=False, help_text='username, for action "assign"')

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "ids" not in attrs and "filter" not in attrs:
            raise serializers.ValidationError("Send the ids, or a filter.")
        return attrs


@extend_schema_view(create=extend_schema(request=BulkJobStartSerializer, responses={202: BulkJobSerializer}))
class BulkJobViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """A bulk action as a job a worker applies item by item (the screen's bulk bar): start one,
    then read its progress and each item's outcome. A person sees their own jobs, staff all."""

    serializer_class = BulkJobSerializer
    queryset = BulkJob.objects.none()
    request: AuthenticatedRequest  # IsAuthenticated, the default permission

    def get_queryset(self) -> QuerySet[BulkJob]:
        jobs = BulkJob.objects.select_related("queue").order_by("-created_at", "-pk")
        return jobs if self.request.user.is_staff else jobs.filter(actor=self.request.user)

    def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        payload = BulkJobStartSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        data = payload.validated_data
        queue = queues_for(user=request.user, perm="work").filter(slug=data["queue"]).first()
        if queue is None:
            raise Http404
        try:
            ids = data["ids"] if "ids" in data else bulk_ids_for_filter(user=request.user, queue=queue,
                                                                        query=data["filter"])
            job = bulk_job_start(user=request.user, queue=queue, ids=ids, action=data["action"],
                                 assignee=data.get("assignee", ""))
        except BulkError as error:
            return Response({"detail": str(error)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(BulkJobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
