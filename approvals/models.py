"""Risk scoring and the approval queue (DESIGN.md, "Risk-based approval routing").

`RiskSettings` holds the admin-editable band thresholds (one row). Every scored handoff keeps a
`RiskAssessment` (factors with their evidence, and the level the highest factor decided); medium
and high deals also get an `Approval`, assigned by `ApproverRule`s to a user or a group, with an
`ApprovalEvent` audit row per state change that keeps the factor values the person saw.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.validators import MinValueValidator
from django.db import models

from integration_hub.models import RiskLevel
from integration_hub.snapshots import snapshot_tables

LEVEL_ORDER = {RiskLevel.LOW: 0, RiskLevel.MEDIUM: 1, RiskLevel.HIGH: 2}


class RiskSettings(models.Model):
    """The band thresholds of the risk table. A value below `*_medium_from` is low, up to and
    including `*_high_above` is medium, above it high."""

    deal_value_medium_from = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("50000"),
                                                 validators=[MinValueValidator(0)],
                                                 help_text="deal value (CRM currency) from which a deal is medium risk")
    deal_value_high_above = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("250000"),
                                                validators=[MinValueValidator(0)],
                                                help_text="deal value above which a deal is high risk")
    discount_medium_from = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("10"),
                                               validators=[MinValueValidator(0)], help_text="discount % (deepest line)")
    discount_high_above = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("25"),
                                              validators=[MinValueValidator(0)])
    credit_medium_from_days = models.PositiveIntegerField(default=30, help_text="days past due")
    credit_high_above_days = models.PositiveIntegerField(default=60)
    credit_materiality_percent = models.DecimalField(
        max_digits=5, decimal_places=2, default=Decimal("20"), validators=[MinValueValidator(0)],
        help_text="overdue AR in an age band counts once it reaches this share of the credit limit; "
                  "a stray small invoice does not make a customer late",
    )
    mapped_confidence = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("0.850"), validators=[MinValueValidator(0)],
        help_text="an automatic customer match below this confidence counts as 'existing, not mapped'",
    )
    window_minutes = models.PositiveIntegerField(default=120, help_text="medium-risk intervention window "
                                                                        "(business minutes)")
    sla_minutes = models.PositiveIntegerField(default=240, help_text="high-risk approval SLA (business minutes)")
    delivery_block_reason = models.CharField(max_length=2, default="01",
                                             help_text="SAP DeliveryBlockReason set on medium-risk orders")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "risk settings"
        verbose_name_plural = "risk settings"

    def __str__(self) -> str:
        return "Risk thresholds"


class RiskAssessment(models.Model):
    """The latest scoring of a handoff: each factor, its band and the evidence behind it."""

    handoff = models.OneToOneField("integration_hub.Handoff", on_delete=models.CASCADE, related_name="risk")
    level = models.CharField(max_length=10, choices=RiskLevel.choices)
    factors = models.JSONField(default=list, help_text='[{"code", "label", "level", "value", "evidence"}]')
    history = models.JSONField(default=dict, blank=True, help_text="customer context read at scoring time")
    deal_owner_email = models.EmailField(blank=True, help_text="the Opportunity owner's email (four-eyes)")
    deal_owner_name = models.CharField(max_length=200, blank=True)
    scored_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.handoff_id}: {self.level}"


class ApprovalStatus(models.TextChoices):
    # high risk
    PENDING = "pending", "Awaiting decision"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CHANGES_REQUESTED = "changes_requested", "Changes requested"
    # medium risk
    WINDOW_OPEN = "window_open", "Intervention window open"
    HELD = "held", "Held"
    RELEASING = "releasing", "Releasing the block"
    RELEASED = "released", "Released"
    CANCELLED = "cancelled", "Cancelled"


OPEN_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.WINDOW_OPEN, ApprovalStatus.HELD, ApprovalStatus.RELEASING)


class Approval(models.Model):
    handoff = models.OneToOneField("integration_hub.Handoff", on_delete=models.CASCADE, related_name="approval")
    level = models.CharField(max_length=10, choices=RiskLevel.choices)
    status = models.CharField(max_length=20, choices=ApprovalStatus.choices)
    assigned_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                      related_name="assigned_approvals")
    assigned_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="assigned_approvals")
    rule = models.ForeignKey("ApproverRule", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    deal_value = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    customer_name = models.CharField(max_length=255, blank=True)
    window_ends_at = models.DateTimeField(null=True, blank=True, help_text="medium: block released after this")
    due_at = models.DateTimeField(null=True, blank=True, help_text="high: SLA deadline (business hours)")
    escalated_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("decide_approval", "Can decide an approval")]
        indexes = [models.Index(fields=["status", "window_ends_at"], name="approval_window_idx"),
                   models.Index(fields=["status", "due_at"], name="approval_sla_idx")]

    def __str__(self) -> str:
        return f"{self.get_level_display()} risk · {self.handoff.opportunity_id} ({self.status})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    @property
    def assignee_display(self) -> str:
        parts = [str(x) for x in (self.assigned_user, self.assigned_group) if x is not None]
        return " / ".join(parts) or "unassigned"


class ApprovalEvent(models.Model):
    """Audit: who did what, when, and the factor values on screen at that moment."""

    approval = models.ForeignKey(Approval, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=50, blank=True)
    from_status = models.CharField(max_length=20, choices=ApprovalStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=ApprovalStatus.choices)
    reason = models.TextField(blank=True)
    factors_seen = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.approval_id}: {self.from_status or '-'} → {self.to_status}"

    @property
    def actor_display(self) -> str:
        return str(self.actor) if self.actor_id else self.actor_label


class ApproverRule(models.Model):
    """Who approves: the first matching rule (lowest priority number) assigns the approval.
    Blank region / sales organization match any; the amount band is [min_amount, max_amount)."""

    name = models.CharField(max_length=100)
    priority = models.PositiveIntegerField(default=100)
    region = models.CharField(max_length=10, blank=True, help_text="ship-to country, e.g. US, DE; blank = any")
    sales_organization = models.CharField(max_length=4, blank=True, help_text="blank = any")
    min_amount = models.DecimalField(max_digits=14, decimal_places=2, default=Decimal("0"))
    max_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True,
                                     help_text="exclusive; blank = no upper bound")
    approver_user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE,
                                      related_name="+")
    approver_group = models.ForeignKey(Group, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    escalate_to = models.ForeignKey(Group, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="group that also gets the approval when its SLA passes")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["priority", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(approver_user__isnull=False) | models.Q(approver_group__isnull=False),
                name="approverrule_has_approver",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def matches(self, *, region: str, sales_organization: str, amount: Decimal) -> bool:
        return (
            (not self.region or self.region.upper() == region.upper())
            and (not self.sales_organization or self.sales_organization == sales_organization)
            and amount >= self.min_amount
            and (self.max_amount is None or amount < self.max_amount)
        )


class Delegation(models.Model):
    """While `delegator` is out of office, `delegate` sees and decides their approvals."""

    delegator = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_out")
    delegate = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="delegations_in")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-starts_at"]
        constraints = [
            models.CheckConstraint(condition=models.Q(ends_at__gt=models.F("starts_at")),
                                   name="delegation_ends_after_start"),
        ]

    def __str__(self) -> str:
        return f"{self.delegator} → {self.delegate}"


# The thresholds are read on every deal and edited in the admin: cached, dropped on every save.
snapshot_tables(RiskSettings)
