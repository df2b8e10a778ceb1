"""Writes on risk assessments and approvals. Each approval state change writes an
`ApprovalEvent` (actor, from → to, reason, the factor values at that moment) in the same
transaction; calls to SAP and Salesforce happen outside transactions or after commit."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth.models import Group, User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from guardian.shortcuts import assign_perm

from approvals.business_hours import business_add
from approvals.errors import ApprovalError, FourEyesViolation
from approvals.models import (
    OPEN_STATUSES,
    Approval,
    ApprovalEvent,
    ApprovalStatus,
    ApproverRule,
    RiskAssessment,
)
from approvals.risk import CUSTOMER_PATH, RiskInputs, risk_score
from approvals.selectors import approvals_visible, risk_settings_get
from exceptions.models import SyncException
from exceptions.notifications import notify
from integration_hub.canonical import jsonable
from integration_hub.errors import HubError
from integration_hub.models import Handoff, HandoffStatus, RiskLevel
from integration_hub.orders import erp_order_block_set, erp_order_cancel, handoff_status_write_back
from integration_hub.services import handoff_rerun, handoff_transition

logger = logging.getLogger(__name__)
A = ApprovalStatus
S = HandoffStatus
DEFAULT_GROUP = "Approvers"
PERMS = ("approvals.view_approval", "approvals.decide_approval")




# -- scoring ---------------------------------------------------------------------------------------
@transaction.atomic(savepoint=False)  # part of the caller's step: nothing inside is caught
def risk_assess(*, handoff: Handoff, result: Any, inputs: RiskInputs, now: datetime | None = None) -> RiskAssessment:
    """Score a validated deal and store its factors, evidence and level on the handoff."""
    now = now or timezone.now()
    rule = next((d.rule for d in reversed(result.derivations) if d.field == CUSTOMER_PATH), "")
    customer_exceptions = [
        {"id": e.pk, "status": e.status, "title": e.title, "candidates": len(e.evidence.get("candidates") or [])}
        for e in SyncException.objects.filter(handoff=handoff, type_code="customer_not_found")
    ]
    level, factors = risk_score(deal=result.deal, rule=rule, inputs=inputs, overrides=handoff.overrides or {},
                                customer_exceptions=customer_exceptions, settings=risk_settings_get())
    factor_rows = [f.to_json() for f in factors]
    credit = next(f for f in factor_rows if f["code"] == "credit")["evidence"]
    history = jsonable({"past_orders": inputs.past_orders, "credit": credit, "read_errors": inputs.read_errors})
    # One upsert (INSERT … ON CONFLICT DO UPDATE): a re-scored deal keeps its one assessment row.
    values = {"level": level, "factors": factor_rows, "history": history, "scored_at": now,
              "deal_owner_email": inputs.owner_email, "deal_owner_name": inputs.owner_name}
    [assessment] = RiskAssessment.objects.bulk_create(
        [RiskAssessment(handoff=handoff, **values)], update_conflicts=True, unique_fields=["handoff"],
        update_fields=list(values))
    return assessment


def _record(approval: Approval, *, to_status: str, reason: str, actor: User | None = None,
            actor_label: str = "", now: datetime, **fields: Any) -> Approval:
    from_status = approval.status
    approval.status = to_status
    for name, value in fields.items():
        setattr(approval, name, value)
    approval.save()
    risk = getattr(approval.handoff, "risk", None)
    ApprovalEvent.objects.create(approval=approval, actor=actor, actor_label=actor_label or ("" if actor else "system"),
                                 from_status=from_status, to_status=to_status, reason=reason,
                                 factors_seen=risk.factors if risk else [], created_at=now)
    return approval


def _route(handoff: Handoff, amount: Decimal) -> tuple[ApproverRule | None, Any, Group | None]:
    org = handoff.canonical.get("organization") or {}
    region = ((handoff.canonical.get("ship_to") or {}).get("country") or "")[:2]
    for rule in ApproverRule.objects.filter(active=True).select_related("approver_user", "approver_group"):
        if rule.matches(region=region, sales_organization=str(org.get("sales_organization") or ""), amount=amount):
            return rule, rule.approver_user, rule.approver_group
    group, _ = Group.objects.get_or_create(name=DEFAULT_GROUP)
    return None, None, group


def _grant(approval: Approval, *holders: Any) -> None:
    for holder in holders:
        if holder is not None:
            for perm in PERMS:
                assign_perm(perm, holder, approval)


@transaction.atomic
def approval_open(*, handoff: Handoff, assessment: RiskAssessment, now: datetime | None = None) -> Approval:
    """A medium or high deal gets (or re-opens) its approval, assigned by the approver rules.

    High waits for a decision within the SLA; medium opens its intervention window once the
    SAP order exists (`approval_window_start`)."""
    now = now or timezone.now()
    settings = risk_settings_get()
    deal_value = next((Decimal(f["evidence"]["amount"]) for f in assessment.factors if f["code"] == "deal_value"),
                      Decimal("0"))
    rule, user, group = _route(handoff, deal_value)
    high = assessment.level == RiskLevel.HIGH
    to_status = A.PENDING if high else A.WINDOW_OPEN
    fields = {"level": assessment.level, "assigned_user": user, "assigned_group": group, "rule": rule,
              "deal_value": deal_value,
              "customer_name": str((handoff.canonical.get("organization") or {}).get("name") or "")[:255],
              "due_at": business_add(now, settings.sla_minutes) if high else None, "window_ends_at": None,
              "escalated_at": None, "decided_by": None, "decided_at": None, "decision_note": "", "last_error": ""}
    approval = Approval.objects.filter(handoff=handoff).first()
    if approval is None:
        approval = Approval(handoff=handoff, status="")
    reason = (f"{assessment.level} risk: " + "; ".join(f"{f['label'].lower()} {f['value']}"
                                                          for f in assessment.factors if f["level"] != "low"))
    _record(approval, to_status=to_status, reason=f"{reason}; assigned to {user or group}",
            actor_label="risk scoring", now=now, **fields)
    _grant(approval, user, group)
    _notify_approvers(approval, user, group, now=now,
                      text=f"{'Approve' if high else 'Medium risk, may intervene'}: {approval.customer_name or handoff.opportunity_id}"
                           f" ({deal_value} {reason})")
    return approval


def _notify_approvers(approval: Approval, user: Any, group: Any, *, text: str, now: datetime) -> int:
    """Queue a notice to the assigned approver(s); the notification sweep sends them as digests."""
    people = [user] if user is not None else list(group.user_set.all()) if group is not None else []
    emails = [p.email for p in people if getattr(p, "email", "")]
    return notify(recipients=emails, kind="approval", exception=None, now=now, text=f"{text} — /approvals/{approval.pk}/")


@transaction.atomic
def approval_window_start(*, handoff: Handoff, now: datetime | None = None) -> Approval | None:
    """The medium deal's SAP order exists (with its delivery block): the window starts now."""
    now = now or timezone.now()
    approval = Approval.objects.select_for_update().filter(handoff=handoff, status=A.WINDOW_OPEN,
                                                           window_ends_at__isnull=True).first()
    if approval is None:
        return None
    ends = business_add(now, risk_settings_get().window_minutes)
    approval.window_ends_at = ends
    approval.save(update_fields=["window_ends_at", "updated_at"])
    ApprovalEvent.objects.create(approval=approval, actor_label="worker", from_status=A.WINDOW_OPEN,
                                 to_status=A.WINDOW_OPEN, created_at=now,
                                 reason=f"order {handoff.sap_sales_order} created with delivery block; "
                                        f"the block is released at {timezone.localtime(ends):%Y-%m-%d %H:%M} "
                                        "unless someone intervenes",
                                 factors_seen=handoff.risk.factors if hasattr(handoff, "risk") else [])
    return approval


# -- decisions -------------------------------------------------------------------------------------
def _check_actor(approval: Approval, actor: User, now: datetime) -> None:
    if not approvals_visible(actor, now=now).filter(pk=approval.pk).exists():
        raise Approval.DoesNotExist  # the caller turns this into a 404: not yours, not visible
    risk = getattr(approval.handoff, "risk", None)
    owner = (risk.deal_owner_email if risk else "").strip().lower()
    if owner and owner == (getattr(actor, "email", "") or "").strip().lower():
        raise FourEyesViolation("you own this deal in Salesforce: another approver must decide it")


def _cancel_order(handoff: Handoff, actor: Any, reason: str) -> None:
    try:
        erp_order_cancel(handoff=Handoff.objects.get(pk=handoff.pk), reason=reason, actor=actor)
    except HubError as error:
        logger.warning("order %s not deleted in SAP (its delivery block stays): %s", handoff.sap_sales_order, error)
        _sf_write_back(handoff, "Cancelled", f"{reason} (SAP order {handoff.sap_sales_order} stays blocked)")


def _sf_write_back(handoff: Handoff, status: str, reason: str) -> None:
    """After commit: the approval outcome to Salesforce, through the engine's one write-back."""
    handoff_status_write_back(handoff=handoff, reason=reason, status=status)


DECISIONS = {
    "approve": A.APPROVED, "reject": A.REJECTED, "request_changes": A.CHANGES_REQUESTED,
    "hold": A.HELD, "cancel": A.CANCELLED,
}


@transaction.atomic
def approval_decide(*, approval: Approval, actor: User, action: str, note: str = "",
                    now: datetime | None = None) -> Approval:
    """An approver's decision. High: approve (the order is created), reject (reason written back
    to Salesforce, handoff cancelled) or request changes (back to sales with the note). Medium:
    hold (the delivery block stays) or cancel. Release is `approval_release` (it calls SAP)."""
    now = now or timezone.now()
    if action not in DECISIONS:
        raise ApprovalError(f"unknown decision {action!r}")
    approval = Approval.objects.select_for_update().select_related("handoff").get(pk=approval.pk)
    _check_actor(approval, actor, now)
    handoff = approval.handoff
    note = note.strip()
    choices: dict[str, set[str]] = {A.PENDING: {"approve", "reject", "request_changes"},
                                    A.WINDOW_OPEN: {"hold", "cancel"}, A.HELD: {"cancel"}}
    allowed = choices.get(approval.status, set())
    if action not in allowed:
        raise ApprovalError(f"cannot {action.replace('_', ' ')} an approval that is {approval.get_status_display().lower()}")
    if action in ("reject", "request_changes", "cancel") and not note:
        raise ApprovalError("say why: the note goes back to sales")
    who = actor.get_username()
    done: dict[str, Any] = {"decided_by": actor, "decided_at": now, "decision_note": note}
    if action == "approve":
        _record(approval, to_status=A.APPROVED, reason=note or "approved", actor=actor, now=now, **done)
        handoff_rerun(handoff=handoff, to_status=S.READY, actor=actor, reason=f"high risk approved by {who}")
    elif action == "reject":
        _record(approval, to_status=A.REJECTED, reason=note, actor=actor, now=now, **done)
        handoff_transition(handoff=handoff, to_status=S.CANCELLED, actor=actor, reason=f"rejected by {who}: {note}")
        transaction.on_commit(lambda: _sf_write_back(handoff, "Rejected", f"Rejected by approver: {note}"))
    elif action == "request_changes":
        # Blocked without an exception row: the approvals screen re-runs it once sales has changed the deal.
        _record(approval, to_status=A.CHANGES_REQUESTED, reason=note, actor=actor, now=now, **done)
        handoff_transition(handoff=handoff, to_status=S.BLOCKED, actor=actor,
                           reason=f"changes requested by {who}: {note}")
        transaction.on_commit(lambda: _sf_write_back(handoff, "Changes Requested", f"Approver asks: {note}"))
    elif action == "hold":
        _record(approval, to_status=A.HELD, reason=note or "held: the delivery block stays", actor=actor, now=now,
                **done)
        transaction.on_commit(lambda: _sf_write_back(handoff, "On Hold", f"Held by approver: {note or 'review'}"))
    else:  # cancel
        _record(approval, to_status=A.CANCELLED, reason=note, actor=actor, now=now, **done)
        if handoff.status in (S.READY, S.VALIDATING, S.BLOCKED):
            handoff_transition(handoff=handoff, to_status=S.CANCELLED, actor=actor, reason=f"cancelled by {who}: {note}")
        if handoff.sap_sales_order and handoff.status in (S.CREATED, S.WRITTEN_BACK):
            # The order exists with its delivery block: delete it in SAP after commit (no network
            # call inside this transaction); if SAP refuses, the block keeps it from shipping.
            transaction.on_commit(lambda: _cancel_order(handoff, actor, f"Cancelled by approver: {note}"))
        else:
            transaction.on_commit(lambda: _sf_write_back(handoff, "Cancelled", f"Cancelled by approver: {note}"))
    return approval


@transaction.atomic
def approval_rerun(*, approval: Approval, actor: User, now: datetime | None = None) -> Approval:
    """Sales changed the deal after a change request: validate and score it again."""
    now = now or timezone.now()
    approval = Approval.objects.select_for_update().select_related("handoff").get(pk=approval.pk)
    _check_actor(approval, actor, now)
    if approval.status != A.CHANGES_REQUESTED:
        raise ApprovalError("only a deal sent back for changes can be re-run")
    handoff_rerun(handoff=approval.handoff, to_status=S.VALIDATING, actor=actor,
                  reason="re-run after the changes the approver asked for")
    return approval


def _claim_release(approval_id: int, from_statuses: tuple[str, ...]) -> bool:
    """Compare-and-swap into `releasing`; a release a dead worker left half-done is taken over
    once it is older than the claim lease (the PATCH is idempotent: it clears the block)."""
    now = timezone.now()
    if Approval.objects.filter(pk=approval_id, status__in=from_statuses,
                               handoff__sap_sales_order__gt="").update(status=A.RELEASING, updated_at=now) == 1:
        return True
    stale = now - timedelta(seconds=django_settings.HUB_CLAIM_LEASE_SECONDS)
    return Approval.objects.filter(pk=approval_id, status=A.RELEASING, updated_at__lt=stale).update(updated_at=now) == 1


def approval_release(*, approval: Approval, actor: User | None = None,
                     now: datetime | None = None) -> Approval:
    """Release the delivery block in SAP: early by an approver, or when the window closes.

    Not atomic on purpose: the PATCH (If-Match; a stale ETag is re-read once by
    `sap_order_update`) happens between two short transactions, and a compare-and-swap on the
    status keeps two releasers from both sending it."""
    now = now or timezone.now()
    if actor is not None:
        with transaction.atomic():
            _check_actor(Approval.objects.select_related("handoff").get(pk=approval.pk), actor, now)
    before = Approval.objects.get(pk=approval.pk).status
    if not _claim_release(approval.pk, (A.WINDOW_OPEN, A.HELD) if actor else (A.WINDOW_OPEN,)):
        raise ApprovalError("the block is not waiting to be released (already released, cancelled or in progress)")
    approval = Approval.objects.select_related("handoff").get(pk=approval.pk)
    try:
        erp_order_block_set(handoff=approval.handoff, delivery_block="")
    except HubError as error:
        with transaction.atomic():
            _record(approval, to_status=before, actor=actor, actor_label="" if actor else "window", now=now,
                    reason=f"releasing the block failed, will retry: {error}", last_error=str(error)[:2000])
        raise
    with transaction.atomic():
        who = f"released early by {actor.get_username()}" if actor else "window closed without intervention"
        _record(approval, to_status=A.RELEASED, actor=actor, actor_label="" if actor else "window", now=now,
                reason=f"delivery block released in SAP ({who})", last_error="",
                **({"decided_by": actor, "decided_at": now} if actor else {}))
    return approval


def approval_windows_due(*, now: datetime) -> list[int]:
    """Windows that closed, and releases a crashed worker left behind (older than the lease)."""
    stale = now - timedelta(seconds=django_settings.HUB_CLAIM_LEASE_SECONDS)
    return list(Approval.objects.filter(
        Q(status=A.WINDOW_OPEN, window_ends_at__lte=now) | Q(status=A.RELEASING, updated_at__lt=stale),
        handoff__sap_sales_order__gt="").values_list("pk", flat=True))


@transaction.atomic
def approval_escalate(*, approval: Approval, now: datetime | None = None) -> Approval | None:
    """The SLA passed without a decision: the rule's escalation group (else the default
    approvers) gets the approval too; the original assignees keep it."""
    now = now or timezone.now()
    approval = Approval.objects.select_for_update().get(pk=approval.pk)
    if approval.status not in OPEN_STATUSES or approval.escalated_at is not None:
        return None
    group = approval.rule.escalate_to if approval.rule and approval.rule.escalate_to else \
        Group.objects.get_or_create(name=DEFAULT_GROUP)[0]
    _grant(approval, group)
    return _record(approval, to_status=approval.status, actor_label="sla", now=now, escalated_at=now,
                   reason=f"no decision within the SLA (due {timezone.localtime(approval.due_at):%Y-%m-%d %H:%M}); "
                          f"escalated to {group}")


@transaction.atomic
def risk_route(*, handoff: Handoff, result: Any, inputs: RiskInputs,
               now: datetime | None = None) -> tuple[str, str, str]:
    """Score a deal whose checks all passed and say where it goes: (handoff status, level, reason).

    Low → ready. Medium → ready; the order is created with a delivery block and the approver's
    window opens. High → awaiting_approval, unless an approver already approved this deal at
    this level (a re-run after e.g. an SAP creation error must not ask twice)."""
    assessment = risk_assess(handoff=handoff, result=result, inputs=inputs, now=now)
    level = assessment.level
    flagged = "; ".join(f"{f['label'].lower()}: {f['value']}" for f in assessment.factors if f["level"] == level)
    if level == RiskLevel.LOW:
        return S.READY, level, "every check passed"
    prior = Approval.objects.filter(handoff=handoff).first()
    if level == RiskLevel.HIGH and prior is not None and prior.status == A.APPROVED and prior.level == level:
        return S.READY, level, f"every check passed; high risk ({flagged}) already approved"
    handoff.canonical = result.deal.to_json()  # routing reads region and sales org; saved by the caller's transition
    approval_open(handoff=handoff, assessment=assessment, now=now)
    if level == RiskLevel.HIGH:
        return S.AWAITING_APPROVAL, level, f"every check passed; high risk ({flagged}): waits for an approver"
    return S.READY, level, f"every check passed; medium risk ({flagged}): order goes ahead with a delivery block"
