"""Admin for queues (membership) and exceptions (read-mostly: resolving goes through services)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from exceptions.models import ExceptionEvent, ExceptionStatus, Queue, SyncException
from exceptions.services import ExceptionNotOpen, exception_dismiss, exception_resolve


@admin.register(Queue)
class QueueAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "member_count"]
    search_fields = ["slug", "name"]
    filter_horizontal = ["members"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="members")
    def member_count(self, obj: Queue) -> int:
        return obj.members.count()


class ExceptionEventInline(admin.TabularInline):
    model = ExceptionEvent
    extra = 0
    can_delete = False
    readonly_fields = ("created_at", "from_status", "to_status", "actor", "actor_label", "reason")
    fields = readonly_fields

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(SyncException)
class SyncExceptionAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "type_code",
        "queue",
        "status",
        "priority",
        "occurrences",
        "handoff",
        "last_seen",
    ]
    list_filter = ["status", "type_code", "queue", "priority"]
    search_fields = ["title", "message", "fingerprint", "handoff__opportunity_id"]
    list_select_related = ["queue", "handoff"]
    readonly_fields = [
        "handoff",
        "type_code",
        "status",
        "fingerprint",
        "evidence",
        "occurrences",
        "first_seen",
        "last_seen",
        "resolved_by",
        "resolved_at",
        "resolution_note",
    ]
    inlines = [ExceptionEventInline]
    actions = ["resolve_selected", "dismiss_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def _close(self, request: HttpRequest, queryset: QuerySet[SyncException], *, dismiss: bool) -> None:
        done = 0
        for exception in queryset.filter(status=ExceptionStatus.OPEN):
            try:
                service = exception_dismiss if dismiss else exception_resolve
                service(exception=exception, actor=request.user, note="closed from the admin")  # type: ignore[arg-type]
                done += 1
            except ExceptionNotOpen:
                continue
        self.message_user(
            request, f"{done} exception(s) {'dismissed' if dismiss else 'resolved'}.", messages.SUCCESS
        )

    @admin.action(description="Resolve selected open exceptions", permissions=["change"])
    def resolve_selected(self, request: HttpRequest, queryset: QuerySet[SyncException]) -> None:
        self._close(request, queryset, dismiss=False)

    @admin.action(description="Dismiss selected open exceptions", permissions=["change"])
    def dismiss_selected(self, request: HttpRequest, queryset: QuerySet[SyncException]) -> None:
        self._close(request, queryset, dismiss=True)


# -- routing, calendars, escalation (edits of rules in the browser go through exceptions:routing) ------
from exceptions.models import (  # noqa: E402
    BusinessCalendar,
    EscalationLevel,
    EscalationPolicy,
    EscalationStep,
    RoutingRuleChange,
)


@admin.register(BusinessCalendar)
class BusinessCalendarAdmin(admin.ModelAdmin):
    list_display = ["name", "time_zone", "day_start", "day_end"]


class EscalationLevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 1
    fields = ["level", "after_hours", "action", "manager", "manager_email", "reassign_to"]
    raw_id_fields = ["manager", "reassign_to"]


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(admin.ModelAdmin):
    list_display = ["queue", "active", "notify_only", "conditions"]
    inlines = [EscalationLevelInline]


@admin.register(EscalationStep)
class EscalationStepAdmin(admin.ModelAdmin):
    list_display = ["exception", "level", "action", "fired_at"]
    raw_id_fields = ["exception"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RoutingRuleChange)
class RoutingRuleChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "actor", "action", "rule_name", "rerouted"]

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
