"""Admin for the sync engine: handoffs with their events and sync attempts, read-only history."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from integration_hub.errors import InvalidSalesforceId
from integration_hub.models import (
    Handoff,
    HandoffEvent,
    OutboundNotification,
    PollWatermark,
    SyncAttempt,
    TransformationLog,
    salesforce_id_18,
)


class ReadOnlyInline(admin.TabularInline):
    """History is written by services only; the admin shows it."""

    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class HandoffEventInline(ReadOnlyInline):
    model = HandoffEvent
    # Tuples: the stubs type `fields` and `readonly_fields` differently, and only a tuple fits both.
    fields = readonly_fields = ("created_at", "from_status", "to_status", "actor", "actor_label", "reason")


class SyncAttemptInline(ReadOnlyInline):
    model = SyncAttempt
    fields = readonly_fields = (
        "created_at",
        "system",
        "operation",
        "method",
        "status_code",
        "ok",
        "error_class",
        "duration_ms",
        "healing",
    )
    show_change_link = True


class TransformationLogInline(ReadOnlyInline):
    model = TransformationLog
    fields = readonly_fields = ("field_path", "source_value", "result_value", "rule", "confidence")


class SalesforceIdSearchMixin:
    """A search for a whole Salesforce id, in either form, finds the rows holding exactly that id.

    The default `icontains` search also lists every row whose id differs only in letter case,
    and in Salesforce that is another record. Any other search term searches as usual.
    """

    salesforce_id_fields: tuple[str, ...] = ()

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Any], search_term: str
    ) -> tuple[QuerySet[Any], bool]:
        try:
            salesforce_id = salesforce_id_18(search_term)
        except InvalidSalesforceId:
            return super().get_search_results(request, queryset, search_term)  # type: ignore[misc]
        match = Q()
        for field in self.salesforce_id_fields:
            match |= Q(**{field: salesforce_id})
        return queryset.filter(match), False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Handoff)
class HandoffAdmin(SalesforceIdSearchMixin, admin.ModelAdmin):
    list_display = [
        "opportunity_id",
        "status",
        "source",
        "erp_target",
        "sap_sales_order",
        "risk_level",
        "attempts",
        "created_at",
        "updated_at",
    ]
    list_filter = ["status", "source", "erp_target", "risk_level"]
    search_fields = ["opportunity_id", "sap_sales_order", "org_id"]
    salesforce_id_fields = ("opportunity_id", "org_id")
    date_hierarchy = "created_at"
    # Status changes must go through handoff_transition so they leave an event.
    readonly_fields = [
        "org_id",
        "opportunity_id",
        "status",
        "source",
        "canonical",
        "sap_sales_order",
        "risk_level",
        "attempts",
        "next_attempt_at",
        "claimed_at",
        "claimed_by",
        "last_error",
        "created_at",
        "updated_at",
    ]
    inlines = [HandoffEventInline, SyncAttemptInline, TransformationLogInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SyncAttempt)
class SyncAttemptAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "system",
        "operation",
        "method",
        "status_code",
        "ok",
        "error_class",
        "duration_ms",
        "handoff",
    ]
    list_filter = ["system", "ok", "error_class"]
    search_fields = ["operation", "url", "handoff__opportunity_id", "error_message"]
    list_select_related = ["handoff"]
    date_hierarchy = "created_at"


@admin.register(TransformationLog)
class TransformationLogAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "handoff", "field_path", "rule", "confidence"]
    list_filter = ["rule"]
    search_fields = ["field_path", "handoff__opportunity_id"]
    list_select_related = ["handoff"]


@admin.register(HandoffEvent)
class HandoffEventAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "handoff", "from_status", "to_status", "actor", "actor_label"]
    list_filter = ["to_status", "actor_label"]
    search_fields = ["handoff__opportunity_id", "reason"]
    list_select_related = ["handoff", "actor"]


@admin.register(OutboundNotification)
class OutboundNotificationAdmin(SalesforceIdSearchMixin, ReadOnlyAdmin):
    list_display = ["notification_id", "opportunity_id", "org_id", "received_at"]
    search_fields = ["notification_id", "opportunity_id"]
    salesforce_id_fields = ("notification_id", "opportunity_id")


@admin.register(PollWatermark)
class PollWatermarkAdmin(admin.ModelAdmin):
    list_display = ["org_id", "last_system_modstamp", "updated_at"]
