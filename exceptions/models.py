"""Typed exceptions of the DESIGN.md catalogue, the queues they land in, and their audit trail."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models

if TYPE_CHECKING:
    from integration_hub.models import Handoff


class Queue(models.Model):
    """A team's work queue. The seven catalogue queues are created by a data migration."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="exception_queues")
    leads = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="led_exception_queues")
    calendar = models.ForeignKey(
        "exceptions.BusinessCalendar", null=True, blank=True, on_delete=models.SET_NULL, related_name="queues",
        help_text="business hours of the escalation timers; empty: the default calendar",
    )
    sla_hours = models.PositiveSmallIntegerField(
        default=4, help_text="an open exception older than this breaches the queue's SLA"
    )

    class Meta:
        ordering = ["name"]
        # Object permissions (django-guardian), per queue: `view_queue` comes with Django;
        # members hold view + work, leads administer too (see exceptions.permissions).
        permissions = [
            ("work_queue", "Can work the queue's exceptions"),
            ("administer_queue", "Can administer the queue"),
        ]

    def __str__(self) -> str:
        return self.name


class ExceptionType(models.TextChoices):
    CUSTOMER_NOT_FOUND = "customer_not_found", "Customer not in SAP"
    PRICING_MISMATCH = "pricing_mismatch", "Pricing mismatch"
    CREDIT_CHECK_FAILED = "credit_check_failed", "Credit check failure"
    PRODUCT_NOT_MAPPED = "product_not_mapped", "Product not mapped"
    ADDRESS_INVALID = "address_invalid", "Address validation failure"
    MISSING_REQUIRED_FIELD = "missing_required_field", "Missing required field"
    SAP_CREATION_ERROR = "sap_creation_error", "SAP creation error"
    CRM_UPDATE_REJECTED = "crm_update_rejected", "CRM update rejected"
    RECONCILIATION_MISSING_ORDER = "reconciliation_missing_order", "Reconciliation: order missing"
    RECONCILIATION_DUPLICATE_ORDER = "reconciliation_duplicate_order", "Reconciliation: duplicate orders"
    RECONCILIATION_AMOUNT_DRIFT = "reconciliation_amount_drift", "Reconciliation: amount drift"
    RECONCILIATION_LINE_MISMATCH = "reconciliation_line_mismatch", "Reconciliation: line mismatch"
    RECONCILIATION_ORPHAN_ORDER = "reconciliation_orphan_order", "Reconciliation: orphan order"
    # Accounts payable: the 3-way match of a vendor invoice (integration_hub.ap). These hold the
    # invoice, never a deal: their exceptions carry `vendor_invoice` instead of `handoff`.
    AP_PRICE_VARIANCE = "ap_price_variance", "AP: price variance"
    AP_QUANTITY_VARIANCE = "ap_quantity_variance", "AP: quantity variance"
    AP_MISSING_RECEIPT = "ap_missing_receipt", "AP: missing goods receipt"
    AP_VENDOR_MISMATCH = "ap_vendor_mismatch", "AP: vendor mismatch"
    AP_DUPLICATE_INVOICE = "ap_duplicate_invoice", "AP: duplicate invoice"
    AP_TERMS_CONFLICT = "ap_terms_conflict", "AP: payment terms conflict"
    AP_EXTRACTION_REVIEW = "ap_extraction_review", "AP: extraction review"


class Priority(models.IntegerChoices):
    LOW = 10, "Low"
    NORMAL = 20, "Normal"
    HIGH = 30, "High"
    URGENT = 40, "Urgent"


@dataclass(frozen=True)
class CatalogueEntry:
    queue_slug: str
    label: str
    priority: int = Priority.NORMAL
    # False for findings about a deal after the fact (a refused status write-back, reconciliation):
    # they never hold a handoff in `blocked` nor stand in its hold reason.
    holds_deal: bool = True
    # True for a wrong or missing value in the deal's data (a field a person had to correct):
    # the dashboard's field-level data accuracy counts these against the fields transformed.
    data_defect: bool = False
    # True where the resolution writes a crosswalk row the whole root cause shares (a customer or
    # product mapping), so resolving one resolves every open exception of that cause. Elsewhere
    # (a price, a credit hold, an address) each deal is its own decision.
    group_resolves: bool = False
    # The 3-way match's action (accounts payable only): "hold" posts nothing until resolved
    # (or, resolved as accepted, posts with a payment block), "block" posts nothing, "flag"
    # posts with a note and leaves the exception for a person to look at afterwards.
    ap_action: str = ""


# DESIGN.md's exception catalogue: each type has its own resolution path and default queue.
# Editable routing rules (triage issue) may override the queue; this is the fallback.
CATALOGUE: dict[str, CatalogueEntry] = {
    ExceptionType.CUSTOMER_NOT_FOUND: CatalogueEntry("master-data", "Customer not in SAP", data_defect=True,
                                                                      group_resolves=True),
    ExceptionType.PRICING_MISMATCH: CatalogueEntry("pricing", "Pricing mismatch", data_defect=True),
    ExceptionType.CREDIT_CHECK_FAILED: CatalogueEntry("credit", "Credit check failure", Priority.HIGH),
    ExceptionType.PRODUCT_NOT_MAPPED: CatalogueEntry("product-ops", "Product not mapped", data_defect=True,
                                                                      group_resolves=True),
    ExceptionType.ADDRESS_INVALID: CatalogueEntry("logistics", "Address validation failure", data_defect=True),
    ExceptionType.MISSING_REQUIRED_FIELD: CatalogueEntry("sales-ops", "Missing required field", data_defect=True),
    ExceptionType.SAP_CREATION_ERROR: CatalogueEntry("integration-ops", "SAP creation error", Priority.HIGH),
    # The ERP → CRM status write-back: Salesforce refused a record (a validation rule, a lock).
    ExceptionType.CRM_UPDATE_REJECTED: CatalogueEntry("integration-ops", "CRM update rejected", holds_deal=False),
    # Reconciliation (integration_hub.reconciliation): the CRM's closed-won deals against the ERP's orders.
    ExceptionType.RECONCILIATION_MISSING_ORDER: CatalogueEntry("integration-ops", "Reconciliation: order missing",
                                                               Priority.HIGH, holds_deal=False),
    ExceptionType.RECONCILIATION_DUPLICATE_ORDER: CatalogueEntry("integration-ops",
                                                                 "Reconciliation: duplicate orders", Priority.HIGH,
                                                                 holds_deal=False),
    ExceptionType.RECONCILIATION_AMOUNT_DRIFT: CatalogueEntry("integration-ops", "Reconciliation: amount drift",
                                                              holds_deal=False, data_defect=True),
    ExceptionType.RECONCILIATION_LINE_MISMATCH: CatalogueEntry("integration-ops", "Reconciliation: line mismatch",
                                                               holds_deal=False, data_defect=True),
    ExceptionType.RECONCILIATION_ORPHAN_ORDER: CatalogueEntry("integration-ops", "Reconciliation: orphan order",
                                                               holds_deal=False),
    # Accounts payable (DESIGN.md "the 3-way match"): an invoice's defects, in the team that can fix them.
    ExceptionType.AP_PRICE_VARIANCE: CatalogueEntry("procurement", "AP: price variance", holds_deal=False,
                                                    ap_action="hold"),
    ExceptionType.AP_QUANTITY_VARIANCE: CatalogueEntry("receiving", "AP: quantity variance", holds_deal=False,
                                                       ap_action="hold"),
    ExceptionType.AP_MISSING_RECEIPT: CatalogueEntry("warehouse", "AP: missing goods receipt", holds_deal=False,
                                                     ap_action="block"),
    ExceptionType.AP_VENDOR_MISMATCH: CatalogueEntry("ap-supervisor", "AP: vendor mismatch", Priority.HIGH,
                                                     holds_deal=False, ap_action="block"),
    ExceptionType.AP_DUPLICATE_INVOICE: CatalogueEntry("ap-team", "AP: duplicate invoice", Priority.HIGH,
                                                       holds_deal=False, ap_action="block"),
    ExceptionType.AP_TERMS_CONFLICT: CatalogueEntry("ap-analyst", "AP: payment terms conflict", Priority.LOW,
                                                    holds_deal=False, ap_action="flag"),
    ExceptionType.AP_EXTRACTION_REVIEW: CatalogueEntry("ap-team", "AP: extraction review", holds_deal=False,
                                                       data_defect=True, ap_action="block"),
}

# The accounts-payable types (an exception about a vendor invoice, not a deal).
AP_TYPES = frozenset(code for code, entry in CATALOGUE.items() if entry.ap_action)

# The types that never hold a deal (see CatalogueEntry.holds_deal): one rule for unblocking,
# the hold reason and reconciliation's "is this deal explained".
NON_HOLDING_TYPES = frozenset(code for code, entry in CATALOGUE.items() if not entry.holds_deal)

# The types that say a field of the deal was wrong or missing (see CatalogueEntry.data_defect).
DATA_DEFECT_TYPES = frozenset(code for code, entry in CATALOGUE.items() if entry.data_defect and not entry.ap_action)

# Reconciliation's findings: counted per run, and closed by a later run once mended.
RECONCILIATION_TYPES = frozenset({
    ExceptionType.RECONCILIATION_MISSING_ORDER, ExceptionType.RECONCILIATION_DUPLICATE_ORDER,
    ExceptionType.RECONCILIATION_AMOUNT_DRIFT, ExceptionType.RECONCILIATION_LINE_MISMATCH,
    ExceptionType.RECONCILIATION_ORPHAN_ORDER,
})

# slug → (name, description); used by the data migration and by tests.
QUEUES: dict[str, tuple[str, str]] = {
    "master-data": ("Master data", "Customers not in SAP, duplicate or conflicting business partners."),
    "pricing": ("Pricing", "Price variances between the CRM and SAP pricing."),
    "credit": ("Credit management", "Credit holds: release or reject with AR aging in view."),
    "product-ops": ("Product ops", "CRM products without an SAP material crosswalk."),
    "logistics": ("Logistics", "Ship-to and address validation failures."),
    "sales-ops": ("Sales ops", "Deals missing a required field (ship-to, payment terms, tax)."),
    "integration-ops": ("Integration ops", "SAP creation errors that self-healing could not fix."),
    # Accounts payable (seeded by 0016_ap_queues).
    "procurement": ("Procurement", "Vendor invoices whose price differs from the purchase order beyond tolerance."),
    "receiving": ("Receiving", "Vendor invoices whose quantity differs from what was received."),
    "warehouse": ("Warehouse", "Vendor invoices for goods-receipt-based items with no goods receipt yet."),
    "ap-supervisor": ("AP supervisor", "Vendor invoices from a party other than the purchase order's supplier."),
    "ap-team": ("AP team", "Duplicate vendor invoices and extractions a person must check."),
    "ap-analyst": ("AP analyst", "Vendor invoices posted with payment terms that differ from the PO's."),
}


class SnoozeCondition(models.TextChoices):
    """What a snoozed exception waits for before it checks itself again (exceptions.snooze)."""

    TIME = "time", "until a time"
    PARTNER_EXISTS = "partner_exists", "until the business partner exists in SAP"
    PRODUCT_MAPPED = "product_mapped", "until this product is mapped"


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


# Columns the triage list filters on (exceptions.selectors.exception_list), carried in its indexes.
LIST_FILTER_COLUMNS = ["type_code", "assignee", "amount", "customer_name", "product_code", "tags", "snoozed_until"]


class SyncException(models.Model):
    """One defect that keeps a handoff from becoming an SAP order (or a vendor invoice from being
    posted), in front of the team that can fix it. Exactly one of `handoff` and `vendor_invoice` is set."""

    handoff = models.ForeignKey(
        "integration_hub.Handoff", null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    vendor_invoice = models.ForeignKey(
        "ap.VendorInvoice", null=True, blank=True, on_delete=models.CASCADE, related_name="exceptions"
    )
    type_code = models.CharField(max_length=30, choices=ExceptionType.choices)
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="exceptions")
    status = models.CharField(max_length=10, choices=ExceptionStatus.choices, default=ExceptionStatus.OPEN)
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, default=Priority.NORMAL)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    evidence = models.JSONField(default=dict, blank=True)
    fingerprint = models.CharField(
        max_length=255, help_text="type code + the defect's identity, e.g. product_not_mapped:SKU-42"
    )
    occurrences = models.PositiveIntegerField(default=1)
    first_seen = models.DateTimeField(auto_now_add=True)
    last_seen = models.DateTimeField(auto_now_add=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution_note = models.TextField(blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_exceptions",
    )
    tags = models.JSONField(default=list, blank=True)
    snoozed_until = models.DateTimeField(null=True, blank=True)
    # A snooze may wait for a fact instead of (or before) a time: the sweep wakes it and re-runs
    # the deal once the fact holds (exceptions.snooze). Database defaults: bulk loads (COPY) skip them.
    snooze_condition = models.CharField(max_length=20, choices=SnoozeCondition.choices, blank=True, default="",
                                        db_default="")
    snooze_key = models.CharField(max_length=120, blank=True, default="", db_default="",
                                  help_text="what the condition is about: the CRM account or product code")
    # Deal facts copied from the handoff once its canonical record is saved (exception_enrich):
    # the list filters and sorts on them without reading JSON for every row.
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    customer_name = models.CharField(max_length=255, blank=True)
    product_code = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)
    # The deciding numbers of a pricing / credit exception, copied from its evidence by
    # exception_enrich so the list shows and sorts them as columns.
    variance_pct = models.DecimalField(max_digits=9, decimal_places=2, null=True, blank=True)
    exposure = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    # "Waiting on someone outside" pauses the escalation timers (exception_wait / exception_unwait);
    # the business time already paused is kept so resuming does not lose it.
    waiting_since = models.DateTimeField(null=True, blank=True)
    waiting_on = models.CharField(max_length=200, blank=True)
    paused_seconds = models.FloatField(default=0.0, help_text="business seconds spent waiting, closed pauses")

    class Meta:
        ordering = ["-priority", "first_seen"]
        constraints = [
            # A re-run that sees the same defect must update the open row, never add another.
            models.UniqueConstraint(
                fields=["handoff", "fingerprint"],
                condition=models.Q(status="open"),
                name="syncexception_one_open_per_defect",
            ),
            models.UniqueConstraint(
                fields=["vendor_invoice", "fingerprint"],
                condition=models.Q(status="open"),
                name="syncexception_one_open_per_invoice_defect",
            ),
            models.CheckConstraint(
                condition=(models.Q(handoff__isnull=False, vendor_invoice__isnull=True)
                           | models.Q(handoff__isnull=True, vendor_invoice__isnull=False)),
                name="syncexception_handoff_xor_invoice",
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "status"], name="syncexception_queue_idx"),
            # The triage list's default order, so keyset pages are index range scans; the list's
            # filter columns ride along (INCLUDE) so a filtered page and its bounded count are
            # index-only scans instead of a heap visit per candidate row (1M-row bench).
            models.Index(
                fields=["queue", "status", "-priority", "first_seen", "id"], name="syncexception_list_idx",
                include=LIST_FILTER_COLUMNS,
            ),
            # The same for "any status" (and for the overview's per-queue counts).
            models.Index(
                fields=["queue", "-priority", "first_seen", "id"], name="syncexception_list_all_idx",
                include=["status", *LIST_FILTER_COLUMNS],
            ),
            models.Index(fields=["status", "fingerprint"], name="syncexception_cause_idx"),
            # Oldest first / newest first, the overview's oldest item and its SLA age counts.
            models.Index(fields=["queue", "status", "first_seen", "id"], name="syncexception_age_idx"),
            # The overview's "resolved in the last 24 h".
            models.Index(fields=["queue", "resolved_at"], condition=models.Q(status="resolved"),
                         name="syncexception_resolved_idx"),
            # A queue's root causes: grouped by fingerprint straight from the index.
            models.Index(fields=["queue", "status", "fingerprint"], name="syncexception_queue_cause_idx",
                         include=["type_code", "handoff", "id"]),
            # The list's column sorts (exceptions.selectors.SORTS) on text columns.
            models.Index(fields=["queue", "status", "customer_name", "id"], name="syncexception_customer_idx"),
            models.Index(fields=["queue", "status", "product_code", "id"], name="syncexception_product_idx"),
            # The snooze sweep: only rows waiting on a condition.
            models.Index(fields=["snooze_condition"], condition=~models.Q(snooze_condition="") & models.Q(
                status="open"), name="syncexception_snooze_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_code_display()}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == ExceptionStatus.OPEN

    @property
    def deal(self) -> Handoff:
        """The handoff of a deal's exception: for the paths that only deals have (a vendor invoice's
        exception has none, and asking for it is a bug, not a None to carry on with)."""
        if self.handoff is None:
            raise ValueError(f"exception {self.pk} is about vendor invoice {self.vendor_invoice_id}, not a deal")
        return self.handoff

    @property
    def subject_ref(self) -> str:
        """What the exception is about, as a person reads it: the deal's Opportunity or the invoice."""
        if self.vendor_invoice_id is not None:
            return f"VI-{self.vendor_invoice_id:06d}"
        return self.handoff.opportunity_id if self.handoff is not None else ""


class PendingResolution(models.Model):
    """A resolution a person asked for, held for a few seconds so they can undo it.

    Nothing is written (no crosswalk row, no override, no re-run) until `due_at`: an undo deletes
    the row and nothing happened. A task counted down to `due_at` applies it, and the snooze/undo
    sweep applies any a lost message left behind; deleting the row is the claim, so it runs once."""

    exception = models.OneToOneField(SyncException, on_delete=models.CASCADE, related_name="pending_resolution")
    path = models.CharField(max_length=30)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    due_at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.path} on #{self.exception_id} at {self.due_at:%H:%M:%S}"


class EventKind(models.TextChoices):
    STATUS = "status", "Status"
    ASSIGN = "assign", "Assignment"
    COMMENT = "comment", "Comment"
    TAGS = "tags", "Tags"
    SNOOZE = "snooze", "Snooze"
    ACTION = "action", "Resolution action"
    WAITING = "waiting", "Waiting on outside"
    ROUTE = "route", "Routing"
    ESCALATE = "escalate", "Escalation"
    UNDO = "undo", "Undone"


class ExceptionEvent(models.Model):
    exception = models.ForeignKey(SyncException, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=10, choices=EventKind.choices, default=EventKind.STATUS)
    data = models.JSONField(default=dict, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    actor_label = models.CharField(max_length=50, blank=True)
    from_status = models.CharField(max_length=10, choices=ExceptionStatus.choices, blank=True)
    to_status = models.CharField(max_length=10, choices=ExceptionStatus.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.exception_id}: {self.from_status or '-'} → {self.to_status}"


# -- business hours, routing, escalation (triage issue, part 2) ------------------------------------
DEFAULT_CALENDAR_NAME = "Default (UTC, Mon–Fri 09–17)"


def _weekdays_default() -> list[int]:
    return [0, 1, 2, 3, 4]


class BusinessCalendar(models.Model):
    """Working time of a team: a time zone, working weekdays (0 = Monday), daily hours, holidays.

    Escalation timers count only this time (exceptions.calendar.business_add / business_elapsed).
    """

    name = models.CharField(max_length=100, unique=True)
    time_zone = models.CharField(max_length=64, default="UTC")
    weekdays = models.JSONField(default=_weekdays_default, help_text="working weekdays, 0 = Monday … 6 = Sunday")
    day_start = models.TimeField(default="09:00")
    day_end = models.TimeField(default="17:00")
    holidays = models.JSONField(default=list, blank=True, help_text="ISO dates (YYYY-MM-DD) without work")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class RoutingRule(models.Model):
    """Ordered, editable rule: the first active rule whose conditions all hold decides where a
    new exception goes (queue, priority, optional assignee). Empty conditions match anything."""

    position = models.PositiveIntegerField(default=0, db_index=True)
    active = models.BooleanField(default=True)
    name = models.CharField(max_length=120)
    type_codes = models.JSONField(default=list, blank=True, help_text="exception types; empty: any")
    amount_min = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    amount_max = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    countries = models.JSONField(default=list, blank=True, help_text="ship-to ISO countries; empty: any")
    regions = models.JSONField(default=list, blank=True, help_text="ship-to regions/states; empty: any")
    sales_organizations = models.JSONField(default=list, blank=True)
    customer = models.CharField(max_length=100, blank=True, help_text="SAP BP number, or part of the name")
    product_families = models.JSONField(default=list, blank=True)
    strategic = models.BooleanField(null=True, blank=True, help_text="empty: either")
    queue = models.ForeignKey(Queue, on_delete=models.PROTECT, related_name="routing_rules")
    priority = models.PositiveSmallIntegerField(choices=Priority.choices, null=True, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return f"{self.position}. {self.name}"


class RoutingRuleChange(models.Model):
    """Audit of rule edits: who changed which rule, when, and how (before/after snapshots)."""

    rule = models.ForeignKey(RoutingRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="changes")
    rule_name = models.CharField(max_length=120)
    action = models.CharField(max_length=20)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    rerouted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.action} {self.rule_name}"


class EscalationCondition(models.TextChoices):
    VARIANCE = "variance_gt_10", "Price variance > 10 %"
    BIG_DEAL = "amount_gt_100k", "Deal > $100K"
    STRATEGIC = "strategic_account", "Strategic account"
    INTERNATIONAL = "international", "International shipment"
    BACKLOG = "unmapped_backlog_gt_5", "Backlog > 5 unmapped items (product ops)"
    THIRD_RETRY = "third_retry_failed", "Third retry failed"


class EscalationPolicy(models.Model):
    """A queue's escalation: timer levels plus catalogue conditions that escalate at once."""

    queue = models.OneToOneField(Queue, on_delete=models.CASCADE, related_name="escalation_policy")
    active = models.BooleanField(default=True)
    notify_only = models.BooleanField(
        default=False, help_text="only notify: never reassign or raise priority (a dry run for new policies)"
    )
    conditions = models.JSONField(default=list, blank=True, help_text="EscalationCondition values")
    condition_action = models.CharField(
        max_length=20, choices=[("notify_lead", "Notify the queue's leads"), ("raise_priority", "Raise priority")],
        default="raise_priority", help_text="what a met condition does (the leads are notified either way)",
    )

    class Meta:
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return f"Escalation of {self.queue}"


class EscalationAction(models.TextChoices):
    NOTIFY_LEAD = "notify_lead", "Notify the queue's leads"
    NOTIFY_MANAGER = "notify_manager", "Notify a manager"
    REASSIGN = "reassign", "Reassign"
    RAISE_PRIORITY = "raise_priority", "Raise priority"


class EscalationLevel(models.Model):
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="levels")
    level = models.PositiveSmallIntegerField(help_text="1, 2, …: the order the timers fire in")
    after_hours = models.DecimalField(max_digits=6, decimal_places=2, help_text="business hours unresolved")
    action = models.CharField(max_length=20, choices=EscalationAction.choices)
    manager = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    manager_email = models.EmailField(blank=True)
    reassign_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["level"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "level"], name="escalationlevel_unique_level"),
            # Level 0 is the immediate (condition) step of EscalationStep.
            models.CheckConstraint(condition=models.Q(level__gte=1), name="escalationlevel_level_positive"),
        ]

    def __str__(self) -> str:
        return f"L{self.level}: {self.after_hours} h → {self.get_action_display()}"


class EscalationStep(models.Model):
    """A fired escalation. The unique (exception, level) row is the sweep's claim: two sweeps
    racing both try to insert it and only one succeeds, so nothing fires twice."""

    exception = models.ForeignKey(SyncException, on_delete=models.CASCADE, related_name="escalation_steps")
    level = models.PositiveSmallIntegerField(help_text="0: immediate (condition); n: timer level n")
    action = models.CharField(max_length=20)
    reason = models.TextField(blank=True)
    fired_at = models.DateTimeField()

    class Meta:
        ordering = ["exception", "level"]
        constraints = [
            models.UniqueConstraint(fields=["exception", "level"], name="escalationstep_once_per_level"),
        ]

    def __str__(self) -> str:
        return f"{self.exception_id} L{self.level} {self.action}"


class Notification(models.Model):
    """Outbox of email/chat notices; the sweep sends unsent rows as one digest per recipient."""

    recipient = models.CharField(max_length=254, help_text="an email address")
    kind = models.CharField(max_length=20)
    exception = models.ForeignKey(SyncException, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    text = models.TextField()
    created_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["sent_at", "recipient"], name="notification_outbox_idx")]

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient}"


class SavedFilter(models.Model):
    """A person's named filter on a queue's list (the query string of the list view)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(Queue, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=1000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "queue", "name"], name="savedfilter_unique_name")]

    def __str__(self) -> str:
        return f"{self.name} ({self.queue.slug})"


class SettingKind(models.TextChoices):
    ESCALATION_POLICY = "escalation_policy", "Escalation policy"
    CALENDAR = "calendar", "Business calendar"
    QUEUE = "queue", "Queue calendar and SLA"
    MEMBERS = "members", "Queue members"


class SettingChange(models.Model):
    """Audit of settings edits made on the triage screens (escalation policies, business calendars,
    a queue's calendar and SLA): who changed what, when, with before/after snapshots. One table
    for all of them, so the history of a screen is one query on (kind, object_id)."""

    kind = models.CharField(max_length=20, choices=SettingKind.choices)
    object_id = models.PositiveBigIntegerField()
    label = models.CharField(max_length=200, help_text="what was changed, as named at the time")
    action = models.CharField(max_length=20, default="update")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["kind", "object_id", "-created_at"], name="settingchange_target_idx")]

    def __str__(self) -> str:
        return f"{self.action} {self.get_kind_display()} {self.label}"


class BulkJobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"


class BulkJob(models.Model):
    """One bulk action on a selection, worked item by item by a Celery task (exceptions.tasks).

    `results` maps each exception id to its outcome as soon as it is done, so the screen shows
    progress, a crashed worker's successor skips what is finished, and nothing is done twice.
    `key` (actor, queue, action, inputs, selection) makes a double-submitted form the same job
    while it runs; repeated later, a new job finds every item already done ("unchanged").
    """

    key = models.CharField(max_length=64)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    queue = models.ForeignKey(Queue, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    action = models.CharField(max_length=30)
    label = models.CharField(max_length=120)
    data = models.JSONField(default=dict, blank=True, help_text="the action's inputs, e.g. the assignee")
    ids = models.JSONField(default=list, help_text="the selected exception ids, in order")
    results = models.JSONField(default=dict, blank=True, help_text="id → changed / unchanged / failed: reason")
    status = models.CharField(max_length=10, choices=BulkJobStatus.choices, default=BulkJobStatus.QUEUED)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="a running worker's claim")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["status", "lease_until"], name="bulkjob_due_idx")]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=~models.Q(status="done"), name="bulkjob_one_running"),
        ]

    def __str__(self) -> str:
        return f"{self.label} × {len(self.ids)}"

    @property
    def total(self) -> int:
        return len(self.ids)

    def _count(self, outcome: str) -> int:
        return sum(1 for value in self.results.values() if str(value).startswith(outcome))

    @property
    def processed(self) -> int:
        return len(self.results)

    @property
    def changed(self) -> int:
        return self._count("changed")

    @property
    def unchanged(self) -> int:
        return self._count("unchanged")

    @property
    def failed(self) -> int:
        return self._count("failed")

    @property
    def percent(self) -> int:
        return 100 if not self.ids else round(100 * self.processed / self.total)
