from __future__ import annotations

from django.contrib import admin
from guardian.admin import GuardedModelAdmin

from approvals.models import Approval, ApprovalEvent, ApproverRule, Delegation, RiskAssessment, RiskSettings


@admin.register(RiskSettings)
class RiskSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "deal_value_medium_from", "deal_value_high_above", "discount_medium_from",
                    "discount_high_above", "credit_medium_from_days", "credit_high_above_days", "window_minutes",
                    "updated_at"]


@admin.register(ApproverRule)
class ApproverRuleAdmin(admin.ModelAdmin):
    list_display = ["name", "priority", "region", "sales_organization", "min_amount", "max_amount",
                    "approver_user", "approver_group", "escalate_to", "active"]
    list_editable = ["priority", "active"]


@admin.register(Delegation)
class DelegationAdmin(admin.ModelAdmin):
    list_display = ["delegator", "delegate", "starts_at", "ends_at", "note"]


class ApprovalEventInline(admin.TabularInline):
    model = ApprovalEvent
    extra = 0
    can_delete = False
    readonly_fields = ["created_at", "actor", "actor_label", "from_status", "to_status", "reason", "factors_seen"]


@admin.register(Approval)
class ApprovalAdmin(GuardedModelAdmin):
    list_display = ["handoff", "level", "status", "assigned_user", "assigned_group", "deal_value", "due_at",
                    "window_ends_at", "escalated_at"]
    list_filter = ["level", "status"]
    readonly_fields = ["handoff", "decided_by", "decided_at", "decision_note"]
    inlines = [ApprovalEventInline]


@admin.register(RiskAssessment)
class RiskAssessmentAdmin(admin.ModelAdmin):
    list_display = ["handoff", "level", "deal_owner_email", "scored_at"]
    list_filter = ["level"]
