"""Sync-engine models: handoffs, their events, sync attempts and transformation logs.

PostgreSQL is the source of truth: a handoff row exists before any worker is woken, and every
state change and every external call leaves a row behind.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from integration_hub.errors import IllegalTransition, InvalidSalesforceId


class HandoffStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    VALIDATING = "validating", "Validating"
    BLOCKED = "blocked", "Blocked"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    READY = "ready", "Ready"
    CREATING = "creating", "Creating"
    CREATED = "created", "Created"
    WRITTEN_BACK = "written_back", "Written back"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


S = HandoffStatus

# The lifecycle of DESIGN.md. `failed` is terminal until a person acts (re-validate or cancel);
# `creating → ready` lets a worker give a transient SAP failure back to the sweeper, and
# `creating → blocked` is where a `sap_creation_error` exception parks the deal.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    S.RECEIVED: frozenset({S.VALIDATING, S.FAILED, S.CANCELLED}),
    S.VALIDATING: frozenset({S.BLOCKED, S.AWAITING_APPROVAL, S.READY, S.FAILED, S.CANCELLED}),
    S.BLOCKED: frozenset({S.VALIDATING, S.FAILED, S.CANCELLED}),
    S.AWAITING_APPROVAL: frozenset({S.READY, S.VALIDATING, S.BLOCKED, S.FAILED, S.CANCELLED}),
    S.READY: frozenset({S.CREATING, S.VALIDATING, S.BLOCKED, S.FAILED, S.CANCELLED}),
    S.CREATING: frozenset({S.CREATED, S.READY, S.BLOCKED, S.FAILED}),
    S.CREATED: frozenset({S.WRITTEN_BACK, S.FAILED}),
    # An approver may cancel a medium-risk deal while its order still carries the delivery block.
    S.WRITTEN_BACK: frozenset({S.CANCELLED}),
    S.FAILED: frozenset({S.VALIDATING, S.CANCELLED}),
    S.CANCELLED: frozenset(),
}

# Statuses a worker may pick up: everything not waiting on a person and not finished.
# `created` is in because a write-back can still be pending after a crash.
WORKABLE_STATUSES: tuple[str, ...] = (S.RECEIVED, S.VALIDATING, S.READY, S.CREATING, S.CREATED)


def transition_error(from_status: str, to_status: str) -> IllegalTransition:
    """The error for an edge the lifecycle lacks, naming the edges it has."""
    return IllegalTransition(from_status, to_status,
                             allowed=", ".join(sorted(ALLOWED_TRANSITIONS.get(from_status, ()))))


class HandoffSource(models.TextChoices):
    WEBHOOK = "webhook", "Outbound Message webhook"
    POLL = "poll", "SystemModstamp poll"
    MANUAL = "manual", "Manual"
    RECONCILE = "reconcile", "Reconciliation"


class RiskLevel(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class Handoff(models.Model):
    """One closed-won Opportunity on its way to exactly one SAP sales order."""

    org_id = models.CharField(max_length=18)
    opportunity_id = models.CharField(max_length=18, help_text="18-character Salesforce Opportunity Id")
    status = models.CharField(max_length=20, choices=HandoffStatus.choices, default=HandoffStatus.RECEIVED)
    source = models.CharField(max_length=10, choices=HandoffSource.choices, help_text="first trigger")
    canonical = models.JSONField(default=dict, blank=True, help_text="canonical payload (DESIGN.md)")
    erp_target = models.CharField(
        max_length=20, default="s4hana", help_text="which ERP adapter the order goes to (integration_hub.ports)"
    )
    sap_sales_order = models.CharField(max_length=20, blank=True, db_index=True)
    # NULL means "not scored yet", which no risk level may stand for.
    risk_level = models.CharField(  # noqa: DJ001
        max_length=10, choices=RiskLevel.choices, null=True, blank=True
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    swept_at = models.DateTimeField(
        null=True, blank=True, help_text="when a sweeper last sent this row's wake-up (two beats send it once)")
    last_error = models.TextField(blank=True)
    overrides = models.JSONField(
        default=dict,
        blank=True,
        help_text="decisions people made while resolving exceptions (accepted prices, credit release, "
        "picked ship-to, filled fields); validation honours them on every re-run",
    )
    erp_status = models.JSONField(
        default=dict, blank=True,
        help_text="the ERP status last written to the CRM (integration_hub.backflow): {'deal': …, 'account': …}",
    )
    erp_status_synced_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["org_id", "opportunity_id"], name="handoff_unique_per_deal"),
        ]
        indexes = [
            # The sweeper's query: work that is due and was left behind.
            models.Index(fields=["status", "next_attempt_at"], name="handoff_sweep_idx"),
            models.Index(fields=["opportunity_id"], name="handoff_opportunity_idx"),
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.opportunity_id} ({self.status})"


class HandoffEvent(models.Model):
    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=50, blank=True, help_text='e.g. "worker", "webhook", "poll"')
    from_status = models.CharField(max_length=20, choices=HandoffStatus.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=HandoffStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.handoff_id}: {self.from_status or '-'} → {self.to_status}"

    @property
    def actor_display(self) -> str:
        return str(self.actor) if self.actor_id else self.actor_label


class SyncAttempt(models.Model):
    """One call to an external system, with secrets redacted before it is stored."""

    handoff = models.ForeignKey(
        Handoff, null=True, blank=True, on_delete=models.CASCADE, related_name="sync_attempts"
    )
    system = models.CharField(max_length=20)
    operation = models.CharField(max_length=100)
    method = models.CharField(max_length=10)
    url = models.TextField()
    request = models.JSONField(default=dict, blank=True)
    response = models.JSONField(default=dict, blank=True)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    ok = models.BooleanField(default=False)
    error_class = models.CharField(max_length=100, blank=True)
    error_message = models.TextField(blank=True)
    duration_ms = models.FloatField(default=0.0)
    healing = models.JSONField(
        default=list, blank=True, help_text="what self-healing changed after this attempt"
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["system", "ok", "created_at"], name="syncattempt_health_idx")]

    def __str__(self) -> str:
        return f"{self.system} {self.operation} → {self.status_code or self.error_class or '?'}"


class TransformationLog(models.Model):
    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="transformations")
    field_path = models.CharField(max_length=200, help_text="e.g. entity.organization.name")
    source_value = models.JSONField(null=True, blank=True)
    result_value = models.JSONField(null=True, blank=True)
    rule = models.CharField(max_length=200, blank=True)
    confidence = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1), name="translog_confidence_0_1"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.field_path}: {self.source_value!r} → {self.result_value!r} ({self.confidence})"


class OutboundNotification(models.Model):
    """A Salesforce Outbound Message notification already taken in (they arrive at least once)."""

    notification_id = models.CharField(max_length=18, unique=True)
    org_id = models.CharField(max_length=18)
    opportunity_id = models.CharField(max_length=18)
    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="notifications")
    received_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.notification_id


class PollWatermark(models.Model):
    """How far the SystemModstamp poll has read one org, and who is reading it now (claimed by
    compare-and-swap like `ErpStatusWatermark`, so two beats never read one window twice)."""

    org_id = models.CharField(max_length=18, unique=True)
    last_system_modstamp = models.DateTimeField(null=True, blank=True)
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.org_id} @ {self.last_system_modstamp}"


class ErpStatusWatermark(models.Model):
    """How far the ERP → CRM status poll has read one ERP target, and who is reading it now.

    A beat claims the row by compare-and-swap on `claimed_until` (an expired claim is free
    again), so two beats never poll one target at once."""

    erp_target = models.CharField(max_length=20, unique=True)
    last_changed_at = models.DateTimeField(null=True, blank=True, help_text="newest order change read")
    claimed_by = models.CharField(max_length=200, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.erp_target} @ {self.last_changed_at}"


class ErpStatusWrite(models.Model):
    """One record the ERP → CRM status poll sent for a handoff, landed or refused.

    The trace shows them in a deal's timeline, and `erp_changed_at` (the ERP's own change time
    of the order) against `created_at` is the "ERP event → CRM" latency the dashboard and
    `/metrics` report."""

    handoff = models.ForeignKey(Handoff, on_delete=models.CASCADE, related_name="erp_status_writes")
    kind = models.CharField(max_length=10, help_text='"deal" or "account"')
    record_id = models.CharField(max_length=18, help_text="the CRM record written")
    view = models.JSONField(default=dict, blank=True, help_text="the values sent")
    written = models.BooleanField(default=True, help_text="False: the CRM refused the record")
    message = models.TextField(blank=True, help_text="the CRM's error when it refused the record")
    erp_changed_at = models.DateTimeField(null=True, blank=True, help_text="when the ERP last changed the order")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} {self.record_id} {'written' if self.written else 'refused'}"


class BreakerState(models.TextChoices):
    CLOSED = "closed", "Closed (calls go through)"
    OPEN = "open", "Open (calls held back)"
    HALF_OPEN = "half_open", "Half-open (one probe in flight)"


class CircuitBreaker(models.Model):
    """Whether an ERP target is answering (integration_hub.breaker): after a run of failures
    that say the system is down (503, timeouts, refused connections) the breaker opens, and
    handoffs wait instead of calling; after a cool-down one probe may go (half-open); its
    success closes the breaker and the sweeper drains the backlog. Shared by every worker."""

    target = models.CharField(max_length=20, unique=True)
    state = models.CharField(max_length=10, choices=BreakerState.choices, default=BreakerState.CLOSED)
    failures = models.PositiveIntegerField(default=0, help_text="consecutive failures while closed")
    opened_at = models.DateTimeField(null=True, blank=True)
    retry_at = models.DateTimeField(null=True, blank=True, help_text="when a probe may go (open)")
    trips = models.PositiveIntegerField(default=0, help_text="times opened in a row without a success")
    probe_by = models.CharField(max_length=200, blank=True)
    last_error = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.target}: {self.state}"


class ReconciliationStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


RECONCILIATION_ACTIVE = (ReconciliationStatus.QUEUED, ReconciliationStatus.RUNNING)


class ReconciliationRun(models.Model):
    """One comparison of the CRM's closed-won deals in a window with the ERP's orders
    (integration_hub.reconciliation). At most one is queued or running per ERP target."""

    erp_target = models.CharField(max_length=20, default="s4hana")
    status = models.CharField(max_length=10, choices=ReconciliationStatus.choices, default=ReconciliationStatus.QUEUED)
    window_start = models.DateField(help_text="first close date looked at")
    window_end = models.DateField(help_text="last close date looked at")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="+")
    requested_via = models.CharField(max_length=20, default="api", help_text="api | beat | screen | command")
    claimed_by = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deals_checked = models.PositiveIntegerField(default=0)
    orders_checked = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="findings per exception type")
    finding_ids = models.JSONField(default=list, blank=True, help_text="ids of the open findings this run saw")
    resolved_ids = models.JSONField(default=list, blank=True, help_text="ids of findings this run found mended")
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # Two beats (or a beat and a person) asking at once get the same run, never two.
            models.UniqueConstraint(fields=["erp_target"], condition=models.Q(status__in=["queued", "running"]),
                                    name="reconciliationrun_one_active_per_target"),
        ]

    def __str__(self) -> str:
        return f"reconciliation {self.pk} {self.window_start}…{self.window_end} ({self.status})"


_SUFFIX_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


def _checksum(id15: str) -> str:
    """The 3 characters Salesforce appends to a 15-character id: which of its letters are upper case."""
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, char in enumerate(id15[start : start + 5]) if "A" <= char <= "Z")
        suffix += _SUFFIX_ALPHABET[bits]
    return suffix


def salesforce_id_18(value: str) -> str:
    """The canonical 18-character form of a Salesforce id given in either form.

    Salesforce hands out both forms; storing one form keeps (org, opportunity) unique no matter
    which trigger saw the deal first. An 18-character id must carry the checksum of its first
    15 characters (its suffix compared case-insensitively, returned upper case): one that does
    not is a typo or a forgery, and taking it as-is would make a second handoff for the deal.
    Raises `InvalidSalesforceId` for anything but a valid id.
    """
    value = (value or "").strip()
    if len(value) not in (15, 18) or not (value.isascii() and value.isalnum()):
        shown = value if len(value) <= 40 else value[:40] + "…"
        raise InvalidSalesforceId(
            f"{shown!r} is not a valid Salesforce id: it should be 15 or 18 letters and digits"
        )
    id15, suffix = value[:15], value[15:]
    expected = _checksum(id15)
    if suffix and suffix.upper() != expected:
        raise InvalidSalesforceId(
            f"{value!r} is not a valid Salesforce id: its last 3 characters should be {expected!r} "
            "for the case of the first 15"
        )
    return id15 + expected


def salesforce_ids_equal(a: str, b: str) -> bool:
    """Whether `a` and `b` are the same Salesforce id, each in either form.

    Raises `InvalidSalesforceId` when either is not an id: a broken id equals nothing, and
    answering False would hide where it came from.
    """
    return salesforce_id_18(a) == salesforce_id_18(b)
