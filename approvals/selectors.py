"""Reads: who sees which approvals, the risk thresholds, and an approval's context."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import Q, QuerySet
from django.utils import timezone
from guardian.shortcuts import get_objects_for_user

from approvals.models import Approval, ApprovalEvent, Delegation, RiskSettings
from exceptions.models import SyncException
from integration_hub.models import Handoff
from integration_hub.snapshots import snapshot


def risk_settings_get() -> RiskSettings:
    """The one thresholds row, from the shared cache (dropped whenever an admin saves it)."""
    return snapshot(RiskSettings, lambda: RiskSettings.objects.get_or_create(pk=1)[0])


def delegators_of(user: AbstractBaseUser, *, now: datetime | None = None) -> QuerySet[Any]:
    now = now or timezone.now()
    return Delegation.objects.filter(delegate_id=user.pk, starts_at__lte=now, ends_at__gt=now).values("delegator")


def approvals_visible(user: AbstractBaseUser | AnonymousUser, *, now: datetime | None = None) -> QuerySet[Approval]:
    """Approvals assigned (guardian object permission) to the user or one of their groups, plus
    those of colleagues who delegated to them while out of office. Anything else is a 404."""
    if not user.is_authenticated:
        return Approval.objects.none()
    own = get_objects_for_user(user, "approvals.view_approval", klass=Approval, accept_global_perms=False)
    return (
        Approval.objects.filter(Q(pk__in=own.values("pk")) | Q(assigned_user__in=delegators_of(user, now=now)))
        .select_related("handoff", "handoff__risk", "assigned_user", "assigned_group")
    )


def approval_list(user: AbstractBaseUser | AnonymousUser, *, status: str = "", level: str = "") -> QuerySet[Approval]:
    qs = approvals_visible(user)
    if status == "open":
        qs = qs.filter(status__in=["pending", "window_open", "held", "releasing"])
    elif status == "decided":
        qs = qs.exclude(status__in=["pending", "window_open", "held", "releasing"])
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("-level", "due_at", "-created_at")


def approval_history(approval: Approval) -> dict[str, Any]:
    """The customer's history in the hub (earlier deals, exceptions and approvals) beside what
    SAP said at scoring time (past orders, AR aging, credit limit and exposure)."""
    handoff = approval.handoff
    account = (handoff.canonical.get("organization") or {}).get("crm_account_id", "")
    earlier = Handoff.objects.filter(canonical__organization__crm_account_id=account).exclude(pk=handoff.pk) \
        if account else Handoff.objects.none()
    risk = getattr(handoff, "risk", None)
    return {
        "sap": (risk.history if risk else {}) or {},
        "earlier_handoffs": list(earlier.order_by("-created_at")[:10]),
        "earlier_exceptions": list(SyncException.objects.filter(handoff__in=earlier).select_related("handoff")
                                   .order_by("-first_seen")[:10]),
        "earlier_approvals": list(Approval.objects.filter(handoff__in=earlier).select_related("handoff",
                                                                                              "decided_by")[:10]),
        "this_deal_exceptions": list(SyncException.objects.filter(handoff=handoff).order_by("-first_seen")),
    }


def approval_events(approval: Approval) -> QuerySet[ApprovalEvent]:
    return approval.events.select_related("actor")
