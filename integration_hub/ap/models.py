"""Vendor invoices on their way to one posted SAP supplier invoice, their lines and the tolerances
of the 3-way match (DESIGN.md "Accounts payable"). Exceptions about an invoice are the triage's own
`SyncException` rows (their `vendor_invoice` is set instead of `handoff`)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class VendorInvoiceStatus(models.TextChoices):
    RECEIVED = "received", "Received"
    MATCHED = "matched", "Matched"      # agreed with PO and receipts; posting in flight
    POSTED = "posted", "Posted"
    HELD = "held", "Held"              # an open exception: not posted, or posted blocked for payment
    REJECTED = "rejected", "Rejected"


class VendorInvoice(models.Model):
    """One vendor invoice as received (a file or a JSON body) and extracted.

    Idempotent intake: the sha256 of the content is unique per supplier, so the same file uploaded
    twice is the same invoice, and SAP is only ever asked to post under this row's key `VI-000042`.
    """

    status = models.CharField(max_length=10, choices=VendorInvoiceStatus.choices,
                              default=VendorInvoiceStatus.RECEIVED)
    supplier = models.CharField(max_length=20, blank=True, help_text="SAP business partner (invoicing party)")
    company_code = models.CharField(max_length=4, blank=True, help_text="from the purchase order")
    reference = models.CharField(max_length=40, blank=True, help_text="the vendor's invoice number, as written")
    reference_key = models.CharField(max_length=40, blank=True, db_index=True,
                                     help_text="the reference normalised as SAP's duplicate check compares it")
    invoice_date = models.DateField(null=True, blank=True)
    currency = models.CharField(max_length=3, blank=True)
    payment_terms = models.CharField(max_length=10, blank=True)
    gross_amount = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    document = models.FileField(upload_to="ap/invoices/%Y/%m/", blank=True)
    filename = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    sha256 = models.CharField(max_length=64)
    format = models.CharField(max_length=10, help_text="json, csv, ubl, pdf, docx, ocr")
    extracted = models.JSONField(default=dict, blank=True,
                                 help_text="every extracted field: {value, confidence, source}, lines too")
    text = models.TextField(blank=True, help_text="the document's text, shown beside the fields")
    match = models.JSONField(default=dict, blank=True, help_text="the last match: decision and findings")
    accepted = models.JSONField(default=list, blank=True,
                                help_text="fingerprints of variances a person accepted (the match lets them pass)")
    waiting_for_receipt = models.BooleanField(default=False, help_text="re-matched by the beat when a receipt appears")
    sap_supplier_invoice = models.CharField(max_length=10, blank=True)
    sap_fiscal_year = models.CharField(max_length=4, blank=True)
    payment_block = models.CharField(max_length=1, blank=True)
    posted_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["supplier", "sha256"], name="vendorinvoice_one_per_content"),
        ]
        indexes = [
            models.Index(fields=["supplier", "reference_key", "invoice_date"], name="vendorinvoice_duplicate_idx"),
            models.Index(fields=["status", "waiting_for_receipt"], name="vendorinvoice_waiting_idx"),
        ]
        permissions = [("upload_vendorinvoice", "Can upload vendor invoices")]

    def __str__(self) -> str:
        return f"{self.key} {self.supplier} {self.reference}"

    @property
    def key(self) -> str:
        """The hub's id for the invoice, also SAP's idempotency key (DocumentHeaderText)."""
        return f"VI-{self.pk:06d}" if self.pk else "VI-new"


class VendorInvoiceLine(models.Model):
    invoice = models.ForeignKey(VendorInvoice, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField()
    purchase_order = models.CharField(max_length=10, blank=True)
    purchase_order_item = models.CharField(max_length=5, blank=True)
    material = models.CharField(max_length=40, blank=True)
    quantity = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)
    unit = models.CharField(max_length=3, blank=True)
    unit_price = models.DecimalField(max_digits=16, decimal_places=4, null=True, blank=True)
    result = models.CharField(max_length=30, blank=True, help_text="matched, or the finding's exception type")
    detail = models.JSONField(default=dict, blank=True, help_text="PO price, received and ordered quantity, …")

    class Meta:
        ordering = ["invoice", "position"]
        constraints = [models.UniqueConstraint(fields=["invoice", "position"], name="vendorinvoiceline_position")]

    def __str__(self) -> str:
        return f"{self.invoice_id}/{self.position} {self.purchase_order}/{self.purchase_order_item}"


class VendorInvoiceEvent(models.Model):
    """Every status change of an invoice (actor, from → to, reason), in the transaction that made it."""

    invoice = models.ForeignKey(VendorInvoice, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="+")
    actor_label = models.CharField(max_length=50, blank=True)
    from_status = models.CharField(max_length=10, blank=True)
    to_status = models.CharField(max_length=10)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.invoice_id}: {self.from_status or '-'} → {self.to_status}"


class ToleranceKind(models.TextChoices):
    PRICE = "price", "Price variance (SAP key PP)"
    QUANTITY = "quantity", "Quantity variance (SAP key DQ)"


class ApTolerance(models.Model):
    """A tolerance of the match, in the shape of SAP's keys (OMR6): per company code and supplier
    (blank = all), lower and upper limits, each as a percent and as an absolute amount (empty = no
    limit on that side). The most specific row wins: supplier + company, supplier, company, all.
    Edits are recorded in the crosswalks' history table (`CrosswalkChange`, table `ap_tolerance`)."""

    company_code = models.CharField(max_length=4, blank=True, help_text="blank: every company code")
    supplier = models.CharField(max_length=20, blank=True, help_text="blank: every supplier")
    kind = models.CharField(max_length=10, choices=ToleranceKind.choices)
    lower_percent = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    upper_percent = models.DecimalField(max_digits=7, decimal_places=3, null=True, blank=True)
    lower_absolute = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    upper_absolute = models.DecimalField(max_digits=16, decimal_places=2, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")

    class Meta:
        ordering = ["kind", "company_code", "supplier"]
        constraints = [
            models.UniqueConstraint(fields=["company_code", "supplier", "kind"], name="aptolerance_one_per_scope"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.company_code or '*'}/{self.supplier or '*'}"


class AcceptanceStatus(models.TextChoices):
    PENDING = "pending", "Waiting for a second person"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"


class VarianceAcceptance(models.Model):
    """Four-eyes on accepting a variance above HUB_AP_FOUR_EYES_AMOUNT: the person who asks is never
    the one who approves; the approver holds the approvals app's `decide_approval` permission."""

    invoice = models.ForeignKey(VendorInvoice, on_delete=models.CASCADE, related_name="acceptances")
    exception = models.ForeignKey("exceptions.SyncException", on_delete=models.CASCADE, related_name="+")
    fingerprint = models.CharField(max_length=255)
    amount = models.DecimalField(max_digits=16, decimal_places=2)
    reason = models.TextField()
    status = models.CharField(max_length=10, choices=AcceptanceStatus.choices, default=AcceptanceStatus.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["exception"], condition=models.Q(status="pending"),
                                    name="varianceacceptance_one_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.invoice_id} {self.fingerprint} ({self.status})"
