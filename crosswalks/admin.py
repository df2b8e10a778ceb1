"""Admin for the crosswalk tables: read-only, with a way to the workbench.

Crosswalks are business data edited in the workbench (`/crosswalks/`), whose one save path
checks every value against the ERP before anything is written, records history and re-runs the
deals an edit unblocks. Django runs an admin save inside its own transaction, where no call to
the ERP may happen, so the admin cannot make the same checks: it shows the rows and never writes
them (one save path, one set of checks).
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from crosswalks.models import (
    CrosswalkChange,
    CurrencyMapping,
    CustomerMapping,
    PaymentTermsMapping,
    ProductMapping,
    ProductMappingComponent,
    TaxRule,
    UnitOfMeasureMapping,
)


class ReadOnly:
    """Shows rows, never writes them: edits go through the workbench's save path."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HistoryAdmin(ReadOnly, admin.ModelAdmin):
    pass


class ProductMappingComponentInline(ReadOnly, admin.TabularInline):
    model = ProductMappingComponent
    extra = 0
    fields = ["position", "sap_material", "quantity_factor", "unit"]


@admin.register(ProductMapping)
class ProductMappingAdmin(HistoryAdmin):
    list_display = [
        "crm_product_code",
        "crm_product_name",
        "materials",
        "confidence",
        "active",
        "source",
        "updated_by",
        "updated_at",
    ]
    list_filter = ["active", "source"]
    search_fields = ["crm_product_code", "crm_product_name", "components__sap_material"]
    readonly_fields = ["updated_by", "created_at", "updated_at"]
    inlines = [ProductMappingComponentInline]

    def get_queryset(self, request: HttpRequest) -> Any:
        return super().get_queryset(request).prefetch_related("components").select_related("updated_by")

    @admin.display(description="SAP materials")
    def materials(self, obj: ProductMapping) -> str:
        return ", ".join(f"{c.sap_material} × {c.quantity_factor.normalize()}" for c in obj.components.all())


@admin.register(CustomerMapping)
class CustomerMappingAdmin(HistoryAdmin):
    list_display = [
        "crm_account_name",
        "crm_account_id",
        "sap_business_partner",
        "confidence",
        "source",
        "org_id",
    ]
    list_filter = ["source", "org_id"]
    search_fields = ["crm_account_name", "crm_account_id", "sap_business_partner"]


@admin.register(PaymentTermsMapping)
class PaymentTermsMappingAdmin(HistoryAdmin):
    list_display = ["crm_value", "sap_terms_key"]
    search_fields = ["crm_value", "sap_terms_key"]


@admin.register(TaxRule)
class TaxRuleAdmin(HistoryAdmin):
    list_display = ["country", "region", "material_tax_class", "sap_tax_classification", "priority"]
    list_filter = ["country", "material_tax_class"]
    search_fields = ["country", "region", "sap_tax_classification"]


@admin.register(UnitOfMeasureMapping)
class UnitOfMeasureMappingAdmin(HistoryAdmin):
    list_display = ["crm_unit", "sap_unit"]
    search_fields = ["crm_unit", "sap_unit"]


@admin.register(CurrencyMapping)
class CurrencyMappingAdmin(HistoryAdmin):
    list_display = ["crm_currency", "sap_currency"]
    search_fields = ["crm_currency", "sap_currency"]


@admin.register(CrosswalkChange)
class CrosswalkChangeAdmin(admin.ModelAdmin):
    list_display = ["created_at", "table", "row_key", "action", "channel", "actor", "reason"]
    list_filter = ["table", "action", "channel"]
    search_fields = ["row_key", "reason"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # history is evidence: never edited

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
