"""REST API on handoffs (read-only). Visibility comes from the selector: outsiders see nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db.models import Prefetch, QuerySet, TextChoices
from django.http import Http404
from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, status, viewsets
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integration_hub.errors import InvalidSalesforceId, TraceNotFound, TraceQueryInvalid
from integration_hub.models import (
    Handoff,
    HandoffEvent,
    HandoffSource,
    HandoffStatus,
    ReconciliationRun,
    ReconciliationStatus,
    SyncAttempt,
    salesforce_id_18,
)
from integration_hub.ports import DEFAULT_ERP_TARGET
from integration_hub.security import security_denied
from integration_hub.selectors import handoff_list, reconciliation_run_get, user_may_reconcile
from integration_hub.services import reconciliation_run_request
from integration_hub.trace import HELP, trace_for


class EnumChoiceField(serializers.ChoiceField):
    """A choice field that knows its TextChoices class, so the schema names its enum after it.

    Several models have a `status` or `source` with different choice sets; left to
    drf-spectacular, the enum names collide and it warns. Naming each enum after its choices
    class keeps the schema stable without settings-level overrides.
    """

    def __init__(self, choices_class: type[TextChoices], **kwargs: Any) -> None:
        self.choices_class = choices_class
        super().__init__(choices=choices_class.choices, **kwargs)


class EnumChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = EnumChoiceField

    def get_name(self) -> str:
        return f"{self.target.choices_class.__name__}Enum"

    def map_serializer_field(self, auto_schema: Any, direction: Any) -> dict[str, Any]:
        return {"type": "string", "enum": list(self.target.choices_class.values)}


def enum_field(choices_class: type[TextChoices], **kwargs: Any) -> EnumChoiceField:
    return EnumChoiceField(choices_class, read_only=True, **kwargs)


def salesforce_id_param(params: Mapping[str, Any], name: str) -> str | None:
    """Query parameter `name` as a canonical 18-character Salesforce id, None when not sent.

    Either form is accepted. Anything else answers 400 keyed by the parameter: a list filtered
    by a broken id would come back empty, and the caller would read "no such deal".
    """
    value = params.get(name)
    if not value:
        return None
    try:
        return salesforce_id_18(value)
    except InvalidSalesforceId as exc:
        raise serializers.ValidationError({name: [exc.message]}) from exc


class OpenExceptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    type_code = serializers.CharField()
    queue = serializers.CharField(source="queue.slug")
    title = serializers.CharField()
    priority = serializers.IntegerField()


class HandoffSerializer(serializers.ModelSerializer):
    status = enum_field(HandoffStatus)
    # The API field `source` shadows DRF's Field.source (a serializer is a field too).
    source = enum_field(HandoffSource)  # type: ignore[assignment]
    open_exceptions = OpenExceptionSerializer(many=True, read_only=True)
    open_exception_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Handoff
        fields = [
            "id",
            "org_id",
            "opportunity_id",
            "status",
            "source",
            "erp_target",
            "sap_sales_order",
            "risk_level",
            "attempts",
            "next_attempt_at",
            "last_error",
            "open_exception_count",
            "open_exceptions",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class HandoffEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_display", read_only=True)
    from_status = serializers.CharField(read_only=True, help_text="empty for the first event")
    to_status = enum_field(HandoffStatus)

    class Meta:
        model = HandoffEvent
        fields = ["id", "actor", "from_status", "to_status", "reason", "created_at"]
        read_only_fields = fields


class SyncAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = SyncAttempt
        fields = [
            "id",
            "system",
            "operation",
            "method",
            "url",
            "status_code",
            "ok",
            "error_class",
            "error_message",
            "duration_ms",
            "healing",
            "request",
            "response",
            "created_at",
        ]
        read_only_fields = fields


class HandoffDetailSerializer(HandoffSerializer):
    events = HandoffEventSerializer(many=True, read_only=True)
    sync_attempts = SyncAttemptSerializer(many=True, read_only=True)

    class Meta(HandoffSerializer.Meta):
        fields = [*HandoffSerializer.Meta.fields, "canonical", "events", "sync_attempts"]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "opportunity_id", OpenApiTypes.STR, description="15- or 18-character Opportunity Id"
            ),
            OpenApiParameter("status", OpenApiTypes.STR, enum=HandoffStatus.values),
        ]
    )
)
class HandoffViewSet(viewsets.ReadOnlyModelViewSet):
    """Handoffs with their status, SAP order number and open exceptions.

    Admins and integration ops see every handoff; anybody else only those with an exception or an
    approval they may see (`selectors.handoffs_visible`): others are left out of the list and 404
    on detail.
    """

    serializer_class = HandoffSerializer
    queryset = Handoff.objects.none()  # the real one comes from the selector, per user

    def get_queryset(self) -> QuerySet[Handoff]:
        params = self.request.query_params
        qs = handoff_list(
            user=self.request.user,
            opportunity_id=salesforce_id_param(params, "opportunity_id") if self.action == "list" else None,
            status=params.get("status") if self.action == "list" else None,
        )
        if self.action == "retrieve":
            qs = qs.prefetch_related(
                "events__actor",
                Prefetch("sync_attempts", queryset=SyncAttempt.objects.order_by("created_at", "pk")),
            )
        return qs

    def get_object(self) -> Handoff:
        try:
            return super().get_object()
        except Http404:
            pk = str(self.kwargs.get("pk", ""))
            if pk.isdigit() and Handoff.objects.filter(pk=int(pk)).exists():
                security_denied(self.request, f"handoff {pk}: none of its exceptions or approvals is theirs")
            raise

    def get_serializer_class(self) -> type[serializers.Serializer]:
        return HandoffDetailSerializer if self.action == "retrieve" else HandoffSerializer


# -- reconciliation ----------------------------------------------------------------------------
class ReconciliationRequestSerializer(serializers.Serializer):
    days = serializers.IntegerField(min_value=1, max_value=366, required=False,
                                    help_text="window: deals closed in the last N days (default HUB_RECONCILIATION_DAYS)")


class ReconciliationQueuedSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)


class ReconciliationRunSerializer(serializers.ModelSerializer):
    status = enum_field(ReconciliationStatus)
    counts = serializers.DictField(child=serializers.IntegerField(), read_only=True,
                                   help_text="findings per exception type")
    finding_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True,
                                        help_text="the exceptions (findings) this run opened or saw again")
    resolved_ids = serializers.ListField(child=serializers.IntegerField(), read_only=True,
                                         help_text="findings this run found mended and resolved")

    class Meta:
        model = ReconciliationRun
        fields = ["id", "status", "erp_target", "window_start", "window_end", "requested_via", "created_at",
                  "started_at", "finished_at", "deals_checked", "orders_checked", "counts", "finding_ids",
                  "resolved_ids", "error"]
        read_only_fields = fields


class ReconciliationRunsView(APIView):
    """Start a reconciliation run: 202 with its id (the running one, if one is under way)."""

    @extend_schema(request=ReconciliationRequestSerializer, responses={202: ReconciliationQueuedSerializer})
    def post(self, request: Request) -> Response:
        if not user_may_reconcile(user=request.user):
            raise Http404
        body = ReconciliationRequestSerializer(data=request.data or {})
        body.is_valid(raise_exception=True)
        run, _ = reconciliation_run_request(days=body.validated_data.get("days", settings.HUB_RECONCILIATION_DAYS),
                                            erp_target=DEFAULT_ERP_TARGET,
                                            actor=request.user if isinstance(request.user, User) else None, via="api")
        return Response({"id": run.pk}, status=status.HTTP_202_ACCEPTED)


class ReconciliationRunView(APIView):
    """Where a run stands: status, counts per finding type, finding ids."""

    @extend_schema(responses=ReconciliationRunSerializer)
    def get(self, request: Request, pk: int) -> Response:
        run = reconciliation_run_get(user=request.user, run_id=pk)
        if run is None:
            raise Http404
        return Response(ReconciliationRunSerializer(run).data)


# -- trace ---------------------------------------------------------------------------------------
class TraceMatchSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=["handoff", "opportunity", "notification", "sales_order", "invoice",
                                            "cancellation", "delivery", "business_partner"])
    value = serializers.CharField()
    # The API fields `label` and `data` shadow DRF's Field.label / Serializer.data (declared fields
    # are taken off the class, so only the type checker minds).
    label = serializers.CharField()  # type: ignore[assignment]
    via = serializers.ChoiceField(choices=["hub", "sap"], help_text="found in the hub, or by asking SAP")


class TraceDealSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    ref = serializers.CharField(help_text="H-<id>")
    opportunity_id = serializers.CharField()
    name = serializers.CharField()
    customer = serializers.CharField()
    business_partner = serializers.CharField()
    amount = serializers.CharField(allow_null=True)
    currency = serializers.CharField()
    amount_display = serializers.CharField(help_text="e.g. 39,397.50 USD")
    status = serializers.CharField()
    status_label = serializers.CharField()
    sap_sales_order = serializers.CharField()
    erp_status = serializers.DictField(help_text="the SAP status last written to Salesforce")
    created_at = serializers.DateTimeField()
    trace = serializers.CharField(help_text="this deal's trace screen")
    api = serializers.CharField(help_text="this handoff in the API")


class TraceEntrySerializer(serializers.Serializer):
    at = serializers.CharField(help_text="ISO datetime; an ISO date when day_only (SAP gives the day only)")
    day_only = serializers.BooleanField()
    system = serializers.ChoiceField(choices=["salesforce", "hub", "sap"])
    kind = serializers.CharField(help_text="status, notification, erp_status_write, sync_attempt, exception, "
                                           "reconciliation, approval, delivery, invoice, cancellation, payment")
    title = serializers.CharField()
    detail = serializers.CharField()
    link = serializers.CharField(help_text="where to look further; empty when there is nothing you may open")
    actor = serializers.CharField()
    status = serializers.CharField()
    duration_ms = serializers.FloatField(allow_null=True)
    hidden = serializers.BooleanField(help_text="it exists, but its content is not yours to see")
    data = serializers.DictField(required=False)  # type: ignore[assignment]


class TraceSerializer(serializers.Serializer):
    query = serializers.CharField()
    matched = TraceMatchSerializer()
    handoffs = TraceDealSerializer(many=True, help_text="the deal traced, or the deals to pick from")
    sap_order = serializers.CharField()
    notes = serializers.ListField(child=serializers.CharField(), help_text="e.g. SAP could not be read")
    timeline = TraceEntrySerializer(many=True, help_text="in time order; empty when several deals match")


class TraceErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


class TraceView(APIView):
    """One timeline across Salesforce, the hub and SAP for any business key (integration_hub.trace)."""

    @extend_schema(
        parameters=[
            OpenApiParameter("q", OpenApiTypes.STR, required=True, description=HELP),
            OpenApiParameter("expand", OpenApiTypes.STR, enum=["bodies"],
                             description="bodies: include the sync attempts' (redacted) request and response"),
        ],
        responses={200: TraceSerializer, 400: TraceErrorSerializer, 404: TraceErrorSerializer},
    )
    def get(self, request: Request) -> Response:
        try:
            trace = trace_for(user=request.user, query=request.query_params.get("q"),
                              bodies=request.query_params.get("expand") == "bodies")
        except TraceQueryInvalid as error:
            return Response({"detail": error.message}, status=status.HTTP_400_BAD_REQUEST)
        except TraceNotFound as error:
            return Response({"detail": error.message}, status=status.HTTP_404_NOT_FOUND)
        return Response(trace.to_json())
