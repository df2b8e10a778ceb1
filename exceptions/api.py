"""REST API on exceptions (read-only): a user sees their queues' exceptions, staff see all."""

from __future__ import annotations

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import serializers, viewsets

from exceptions.models import ExceptionStatus, ExceptionType, SyncException
from exceptions.selectors import exception_list
from integration_hub.api import enum_field


class SyncExceptionSerializer(serializers.ModelSerializer):
    queue = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    opportunity_id = serializers.CharField(source="handoff.opportunity_id", read_only=True)
    type_label = serializers.CharField(source="get_type_code_display", read_only=True)
    status = enum_field(ExceptionStatus)

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
            "opportunity_id",
            "occurrences",
            "first_seen",
            "last_seen",
            "resolved_at",
            "resolution_note",
        ]
        read_only_fields = fields


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter(
                "opportunity_id", OpenApiTypes.STR, description="15- or 18-character Opportunity Id"
            ),
            OpenApiParameter("status", OpenApiTypes.STR, enum=ExceptionStatus.values),
            OpenApiParameter("queue", OpenApiTypes.STR, description="queue slug, e.g. pricing"),
            OpenApiParameter("type_code", OpenApiTypes.STR, enum=ExceptionType.values),
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
            opportunity_id=params.get("opportunity_id"),
            status=params.get("status"),
            queue_slug=params.get("queue"),
            type_code=params.get("type_code"),
        )
