"""REST API on approvals: list, detail, decide (everything the screens do)."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from approvals.forms import ACTIONS
from approvals.models import Approval, ApprovalEvent
from approvals.selectors import approval_list, approvals_visible
from approvals.services import (
    ApprovalError,
    FourEyesViolation,
    approval_decide,
    approval_release,
    approval_rerun,
)
from integration_hub.errors import HubError
from integration_hub.http import AuthenticatedRequest
from integration_hub.security import security_denied


class ApprovalEventSerializer(serializers.ModelSerializer):
    actor = serializers.CharField(source="actor_display", read_only=True)

    class Meta:
        model = ApprovalEvent
        fields = ["created_at", "actor", "from_status", "to_status", "reason", "factors_seen"]


class ApprovalSerializer(serializers.ModelSerializer):
    opportunity_id = serializers.CharField(source="handoff.opportunity_id", read_only=True)
    handoff_status = serializers.CharField(source="handoff.status", read_only=True)
    sap_sales_order = serializers.CharField(source="handoff.sap_sales_order", read_only=True)
    factors = serializers.JSONField(source="handoff.risk.factors", read_only=True)
    history = serializers.JSONField(source="handoff.risk.history", read_only=True)
    deal_owner_email = serializers.CharField(source="handoff.risk.deal_owner_email", read_only=True)
    assigned_user = serializers.CharField(read_only=True)
    assigned_group = serializers.CharField(read_only=True)
    decided_by = serializers.CharField(read_only=True)

    class Meta:
        model = Approval
        fields = ["id", "handoff", "opportunity_id", "handoff_status", "sap_sales_order", "level", "status",
                  "customer_name", "deal_value", "assigned_user", "assigned_group", "window_ends_at", "due_at",
                  "escalated_at", "decided_by", "decided_at", "decision_note", "deal_owner_email", "factors",
                  "history"]
        read_only_fields = fields


class DecisionSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=[*ACTIONS, ("rerun", "Re-run after changes")])
    note = serializers.CharField(required=False, allow_blank=True, max_length=2000)


class ApprovalViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ApprovalSerializer
    queryset = Approval.objects.none()

    def get_queryset(self) -> QuerySet[Approval]:
        if self.action == "list":
            return approval_list(self.request.user, status=self.request.query_params.get("status", ""),
                                 level=self.request.query_params.get("level", ""))
        return approvals_visible(self.request.user)

    def get_object(self) -> Approval:
        try:
            return super().get_object()
        except Http404:
            pk = str(self.kwargs.get("pk", ""))
            if pk.isdigit() and Approval.objects.filter(pk=int(pk)).exists():
                security_denied(self.request, f"approval {pk} is not assigned or delegated to the user")
            raise

    @extend_schema(request=DecisionSerializer, responses={200: ApprovalSerializer})
    @action(detail=True, methods=["post"])
    def decide(self, request: AuthenticatedRequest, pk: str | None = None) -> Response:
        approval = self.get_object()  # 404 for anything not assigned to the caller
        body = DecisionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        act, note = body.validated_data["action"], body.validated_data.get("note", "")
        try:
            if act == "release":
                approval_release(approval=approval, actor=request.user)
            elif act == "rerun":
                approval_rerun(approval=approval, actor=request.user)
            else:
                approval_decide(approval=approval, actor=request.user, action=act, note=note)
        except Approval.DoesNotExist as exc:
            raise Http404 from exc
        except FourEyesViolation as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_403_FORBIDDEN)
        except (ApprovalError, HubError) as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_409_CONFLICT)
        return Response(ApprovalSerializer(self.get_queryset().get(pk=approval.pk)).data)

    @action(detail=True, methods=["get"])
    def events(self, request: Request, pk: str | None = None) -> Response:
        approval = self.get_object()
        return Response(ApprovalEventSerializer(approval.events.select_related("actor"), many=True).data)
