"""Crosswalk tables: living data the business edits, never code (DESIGN.md rule 4)."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from integration_hub.snapshots import snapshot_tables

CONFIDENCE_VALIDATORS = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("1"))]


class ErpTarget(models.TextChoices):
    """The ERPs a deal can go to (one adapter each, `integration_hub.ports.ERP_ADAPTERS`)."""

    S4HANA = "s4hana", "SAP S/4HANA"
    NETSUITE = "netsuite", "NetSuite"


DEFAULT_TARGET = ErpTarget.S4HANA


class MappingSource(models.TextChoices):
    MANUAL = "manual", "Manual"
    IMPORT = "import", "Import"
    SUGGESTED = "suggested", "Suggested"


class ProductMapping(models.Model):
    """A CRM product → one or more SAP materials (a bundle explodes into its components)."""

    crm_product_code = models.CharField(max_length=100, unique=True)
    crm_product_name = models.CharField(max_length=255, blank=True)
    confidence = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("1.0"), validators=CONFIDENCE_VALIDATORS
    )
    active = models.BooleanField(default=True)
    source = models.CharField(max_length=10, choices=MappingSource.choices, default=MappingSource.MANUAL)
    # Optional validity window so a new mapping can be scheduled; NULL means open-ended.
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["crm_product_code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(confidence__gte=0, confidence__lte=1), name="productmapping_confidence_0_1"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.crm_product_code} ({self.crm_product_name})"
            if self.crm_product_name
            else self.crm_product_code
        )


class ProductMappingComponent(models.Model):
    """One ERP item of a product mapping: an S/4 material (`sap_material`) or, for another target,
    that ERP's item id (`erp_item`)."""

    mapping = models.ForeignKey(ProductMapping, on_delete=models.CASCADE, related_name="components")
    erp_target = models.CharField(max_length=20, choices=ErpTarget.choices, default=DEFAULT_TARGET)
    sap_material = models.CharField(max_length=40, blank=True)
    erp_item = models.CharField(max_length=40, blank=True, help_text="the item's id in a target other than S/4HANA")
    quantity_factor = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.0001"))],
        help_text="SAP quantity per CRM unit",
    )
    unit = models.CharField(max_length=3, blank=True, help_text="SAP sales unit; blank = the material's base unit")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["mapping", "position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity_factor__gt=0), name="component_factor_positive"
            ),
            models.UniqueConstraint(fields=["mapping", "erp_target", "sap_material", "erp_item"],
                                    name="component_unique_item"),
        ]

    def __str__(self) -> str:
        return f"{self.item} × {self.quantity_factor}"

    @property
    def item(self) -> str:
        """The ERP's own id of this component in its target."""
        return self.sap_material if self.erp_target == DEFAULT_TARGET else self.erp_item


class CustomerMapping(models.Model):
    org_id = models.CharField(max_length=18)
    crm_account_id = models.CharField(max_length=18)
    crm_account_name = models.CharField(max_length=255, blank=True)
    erp_target = models.CharField(max_length=20, choices=ErpTarget.choices, default=DEFAULT_TARGET)
    sap_business_partner = models.CharField(max_length=10, help_text="sold-to party (the customer id in the target)")
    sap_ship_to = models.CharField(max_length=10, blank=True, help_text="ship-to party; blank = the sold-to")
    confidence = models.DecimalField(
        max_digits=4, decimal_places=3, default=Decimal("1.0"), validators=CONFIDENCE_VALIDATORS
    )
    source = models.CharField(max_length=10, choices=MappingSource.choices, default=MappingSource.MANUAL)
    valid_from = models.DateField(null=True, blank=True)
    valid_to = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["crm_account_name"]
        constraints = [
            models.UniqueConstraint(
                fields=["org_id", "crm_account_id", "erp_target"], name="customermapping_unique_account_target"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.crm_account_name or self.crm_account_id} → {self.sap_business_partner}"


class PaymentTermsMapping(models.Model):
    crm_value = models.CharField(max_length=100, help_text='e.g. "Net 30" (matched case-insensitively)')
    erp_target = models.CharField(max_length=20, choices=ErpTarget.choices, default=DEFAULT_TARGET)
    sap_terms_key = models.CharField(max_length=4, help_text="CustomerPaymentTerms, e.g. 0001 (the term's id in the target)")

    class Meta:
        ordering = ["crm_value"]
        constraints = [
            models.UniqueConstraint(Lower("crm_value"), "erp_target", name="paymentterms_unique_crm_value_target_ci"),
        ]

    def __str__(self) -> str:
        return f"{self.crm_value} → {self.sap_terms_key}"


class TaxRule(models.Model):
    country = models.CharField(max_length=2, help_text="ISO 3166-1 alpha-2")
    region = models.CharField(max_length=3, blank=True, help_text="blank = every region of the country")
    material_tax_class = models.CharField(max_length=1, help_text="SAP material tax classification")
    sap_tax_classification = models.CharField(max_length=2)
    priority = models.PositiveSmallIntegerField(default=100, help_text="lower wins when several rules match")

    class Meta:
        ordering = ["country", "region", "priority"]

    def __str__(self) -> str:
        return f"{self.country}/{self.region or '*'} class {self.material_tax_class} → {self.sap_tax_classification}"


class UnitOfMeasureMapping(models.Model):
    crm_unit = models.CharField(max_length=30, unique=True)
    sap_unit = models.CharField(max_length=3)

    class Meta:
        ordering = ["crm_unit"]

    def __str__(self) -> str:
        return f"{self.crm_unit} → {self.sap_unit}"


class CurrencyMapping(models.Model):
    crm_currency = models.CharField(max_length=30, unique=True, help_text='e.g. "usd" or "US Dollar"')
    sap_currency = models.CharField(max_length=3, help_text="ISO 4217 code SAP uses (TCURC)")

    class Meta:
        ordering = ["crm_currency"]

    def __str__(self) -> str:
        return f"{self.crm_currency} → {self.sap_currency}"


class ErpTargetRule(models.Model):
    """Which ERP a deal goes to when its Opportunity names none: by Salesforce account (an
    18-character id), else by the account's billing country."""

    crm_account_id = models.CharField(max_length=18, blank=True, help_text="18-character account id; blank = by country")
    billing_country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2; blank = by account")
    erp_target = models.CharField(max_length=20, choices=ErpTarget.choices)
    note = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["crm_account_id", "billing_country"]
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(crm_account_id="") & ~models.Q(billing_country=""))
                | (~models.Q(crm_account_id="") & models.Q(billing_country="")),
                name="erptargetrule_account_xor_country",
            ),
            models.UniqueConstraint(fields=["crm_account_id", "billing_country"], name="erptargetrule_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.crm_account_id or self.billing_country} → {self.erp_target}"


class ChangeAction(models.TextChoices):
    CREATE = "create", "Created"
    UPDATE = "update", "Changed"
    DELETE = "delete", "Deleted"
    REVERT = "revert", "Reverted"


class ChangeChannel(models.TextChoices):
    UI = "ui", "Workbench"
    CSV = "csv", "CSV import"
    API = "api", "REST API"
    ADMIN = "admin", "Admin"
    SUGGESTION = "suggestion", "Accepted suggestion"
    RESOLUTION = "resolution", "Exception resolution"
    PIPELINE = "pipeline", "Learnt by the pipeline"


class CrosswalkChange(models.Model):
    """One change to one crosswalk row, whatever the channel: who, when, before/after, why.

    One generic table rather than one per crosswalk: "what changed last week" and revert work
    the same everywhere, and a row is identified by its business key (which survives a delete
    and re-create), not by its primary key.
    """

    table = models.CharField(max_length=20)
    row_key = models.CharField(max_length=255)
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    channel = models.CharField(max_length=10, choices=ChangeChannel.choices)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["table", "row_key", "created_at"], name="xwalkchange_row_idx")]

    def __str__(self) -> str:
        return f"{self.table} {self.row_key}: {self.action}"


class SapMaterial(models.Model):
    """Local copy of SAP material descriptions, for fast fuzzy ranking of suggestions."""

    material = models.CharField(max_length=40, unique=True)
    description = models.CharField(max_length=255, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.material} {self.description}"


class SapPartner(models.Model):
    """Local copy of SAP organisation partners (name, tax numbers, first address) for suggestions."""

    business_partner = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=255, blank=True)
    tax_numbers = models.CharField(max_length=255, blank=True, help_text="space separated, compacted")
    street = models.CharField(max_length=255, blank=True)
    city = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=3, blank=True)
    refreshed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.business_partner} {self.name}"


# Small tables every deal reads whole come from the shared cache; any saved or deleted row drops
# them (customer and product rows are read by key instead).
snapshot_tables(CurrencyMapping, PaymentTermsMapping, TaxRule, UnitOfMeasureMapping)
