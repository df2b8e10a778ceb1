"""Typed exceptions of the DESIGN.md catalogue, the queues they land in, and their audit trail."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import models


class Queue(models.Model):
    """A team's work queue. The seven catalogue queues are created by a data migration."""

    slug = models.SlugField(max_length=50, unique=True)
    name = models.CharField(max_length=100)
    description = models.TextField(blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="exception_queues")
    leads = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="led_exception_queues")
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


# DESIGN.md's exception catalogue: each type has its own resolution path and default queue.
# Editable routing rules (triage issue) may override the queue; this is the fallback.
CATALOGUE: dict[str, CatalogueEntry] = {
    ExceptionType.CUSTOMER_NOT_FOUND: CatalogueEntry("master-data", "Customer not in SAP"),
    ExceptionType.PRICING_MISMATCH: CatalogueEntry("pricing", "Pricing mismatch"),
    ExceptionType.CREDIT_CHECK_FAILED: CatalogueEntry("credit", "Credit check failure", Priority.HIGH),
    ExceptionType.PRODUCT_NOT_MAPPED: CatalogueEntry("product-ops", "Product not mapped"),
    ExceptionType.ADDRESS_INVALID: CatalogueEntry("logistics", "Address validation failure"),
    ExceptionType.MISSING_REQUIRED_FIELD: CatalogueEntry("sales-ops", "Missing required field"),
    ExceptionType.SAP_CREATION_ERROR: CatalogueEntry("integration-ops", "SAP creation error", Priority.HIGH),
}

# slug → (name, description); used by the data migration and by tests.
QUEUES: dict[str, tuple[str, str]] = {
    "master-data": ("Master data", "Customers not in SAP, duplicate or conflicting business partners."),
    "pricing": ("Pricing", "Price variances between the CRM and SAP pricing."),
    "credit": ("Credit management", "Credit holds: release or reject with AR aging in view."),
    "product-ops": ("Product ops", "CRM products without an SAP material crosswalk."),
    "logistics": ("Logistics", "Ship-to and address validation failures."),
    "sales-ops": ("Sales ops", "Deals missing a required field (ship-to, payment terms, tax)."),
    "integration-ops": ("Integration ops", "SAP creation errors that self-healing could not fix."),
}


class ExceptionStatus(models.TextChoices):
    OPEN = "open", "Open"
    RESOLVED = "resolved", "Resolved"
    DISMISSED = "dismissed", "Dismissed"


class SyncException(models.Model):
    """One defect that keeps a handoff from becoming an SAP order, in front of the team that can fix it."""

    handoff = models.ForeignKey(
        "integration_hub.Handoff", on_delete=models.CASCADE, related_name="exceptions"
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
    # Deal facts copied from the handoff once its canonical record is saved (exception_enrich):
    # the list filters and sorts on them without reading JSON for every row.
    amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    customer_name = models.CharField(max_length=255, blank=True)
    product_code = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, blank=True)

    class Meta:
        ordering = ["-priority", "first_seen"]
        constraints = [
            # A re-run that sees the same defect must update the open row, never add another.
            models.UniqueConstraint(
                fields=["handoff", "fingerprint"],
                condition=models.Q(status="open"),
                name="syncexception_one_open_per_defect",
            ),
        ]
        indexes = [
            models.Index(fields=["queue", "status"], name="syncexception_queue_idx"),
            # The triage list's default order, so keyset pages are index range scans.
            models.Index(
                fields=["queue", "status", "-priority", "first_seen", "id"], name="syncexception_list_idx"
            ),
            models.Index(fields=["status", "fingerprint"], name="syncexception_cause_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_code_display()}: {self.title}"

    @property
    def is_open(self) -> bool:
        return self.status == ExceptionStatus.OPEN


class EventKind(models.TextChoices):
    STATUS = "status", "Status"
    ASSIGN = "assign", "Assignment"
    COMMENT = "comment", "Comment"
    TAGS = "tags", "Tags"
    SNOOZE = "snooze", "Snooze"
    ACTION = "action", "Resolution action"


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
