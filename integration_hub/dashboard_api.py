"""`GET /api/v1/dashboard/`: the operations dashboard's numbers as JSON, from the same selector
as the screen (integration_hub.dashboard), so both always agree."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from integration_hub.dashboard import DEFAULT_DAYS, PERIODS, dashboard_get


class BreakdownRowSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # shadows Field.label, as in the dashboard
    count = serializers.IntegerField()
    share = serializers.FloatField(allow_null=True)
    url = serializers.CharField(help_text="the triage list behind the row; empty when not yours to see")


class BreakdownSerializer(serializers.Serializer):
    title = serializers.CharField()
    rows = BreakdownRowSerializer(many=True)


class SeriesSerializer(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # shadows Field.label, as in the dashboard
    values = serializers.ListField(child=serializers.FloatField(allow_null=True),
                                   help_text="one value per week of `weeks`; null for a week without data")


class MetricSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]  # shadows Field.label, as in the dashboard
    value = serializers.FloatField(allow_null=True, help_text="a ratio 0–1, or seconds (see unit)")
    unit = serializers.ChoiceField(choices=["ratio", "seconds"])
    target = serializers.FloatField()
    better = serializers.ChoiceField(choices=["above", "below"], help_text="which side of the target is good")
    met = serializers.BooleanField(allow_null=True)
    available = serializers.BooleanField(help_text="false while the hub does not measure it yet (AP)")
    numerator = serializers.IntegerField(allow_null=True)
    denominator = serializers.IntegerField(allow_null=True)
    detail = serializers.CharField()
    definition = serializers.CharField()
    url = serializers.CharField(help_text="the deals behind the number")
    series = SeriesSerializer(many=True)
    breakdowns = BreakdownSerializer(many=True)


class RiskRowSerializer(serializers.Serializer):
    queue = serializers.CharField(source="queue.slug")
    queue_name = serializers.CharField(source="queue.name")
    sla_hours = serializers.IntegerField(source="queue.sla_hours")
    deals = serializers.IntegerField()
    amount = serializers.DecimalField(max_digits=18, decimal_places=2)
    weighted = serializers.DecimalField(max_digits=18, decimal_places=2, help_text="amount × SLA used")
    sla_used_max = serializers.FloatField()
    breached = serializers.IntegerField()
    without_amount = serializers.IntegerField()


class CurrencyRiskSerializer(serializers.Serializer):
    currency = serializers.CharField()
    queues = RiskRowSerializer(many=True)


class RevenueSerializer(serializers.Serializer):
    quarter_end = serializers.DateField()
    days_to_quarter_end = serializers.IntegerField()
    currencies = CurrencyRiskSerializer(many=True, help_text="amounts are never added across currencies")


class BudgetDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    calls = serializers.IntegerField()
    failed = serializers.IntegerField(source="errors", help_text="calls that failed")
    share = serializers.FloatField(allow_null=True, help_text="of the org's daily allowance")


class SapServiceDaySerializer(serializers.Serializer):
    day = serializers.DateField()
    calls = serializers.DictField(child=serializers.IntegerField(), help_text="per OData service")
    total = serializers.IntegerField()
    failed = serializers.IntegerField(source="errors", help_text="calls that failed")


class BudgetSerializer(serializers.Serializer):
    allowance = serializers.IntegerField(allow_null=True, help_text="from the newest Sforce-Limit-Info stored")
    org_used = serializers.IntegerField(allow_null=True, help_text="the org's calls that day, all clients")
    allowance_seen_at = serializers.DateTimeField(allow_null=True)
    salesforce_days = BudgetDaySerializer(many=True)
    sap_services = serializers.ListField(child=serializers.CharField())
    sap_days = SapServiceDaySerializer(many=True)


class DashboardSerializer(serializers.Serializer):
    now = serializers.DateTimeField()
    days = serializers.IntegerField()
    period_label = serializers.CharField()
    since = serializers.DateTimeField()
    handoffs = serializers.IntegerField(help_text="deals received in the period")
    weeks = serializers.ListField(child=serializers.DateField(), help_text="the Monday of each trend week")
    metrics = MetricSerializer(many=True)
    confidence_buckets = BreakdownRowSerializer(many=True)
    revenue = RevenueSerializer()
    budget = BudgetSerializer()


class DashboardView(APIView):
    """DESIGN.md's seven health metrics with trends and breakdowns, revenue at risk per queue and
    the API budget: the numbers of `/dashboard/`, computed live. Staff and queue members only."""

    @extend_schema(
        parameters=[OpenApiParameter("days", OpenApiTypes.INT, enum=list(PERIODS),
                                     description=f"the headline window in days (default {DEFAULT_DAYS})")],
        responses=DashboardSerializer,
    )
    def get(self, request: Request) -> Response:
        try:
            days = int(request.query_params.get("days") or DEFAULT_DAYS)
        except ValueError:
            days = DEFAULT_DAYS
        board = dashboard_get(user=request.user, days=days)
        if board is None:
            raise PermissionDenied("the dashboard is for integration users (staff and queue members)")
        data: dict[str, Any] = {
            **{name: getattr(board, name) for name in ("now", "days", "period_label", "since", "handoffs", "weeks",
                                                       "metrics", "confidence_buckets", "budget")},
            "revenue": {"quarter_end": board.revenue.quarter_end,
                        "days_to_quarter_end": board.revenue.days_to_quarter_end,
                        "currencies": [{"currency": currency, "queues": rows}
                                       for currency, rows in board.revenue.currencies]},
        }
        return Response(DashboardSerializer(data).data)
