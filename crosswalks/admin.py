"""Admin for the crosswalk tables: business-editable data (DESIGN.md rule 4)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import BaseInlineFormSet, ValidationError
from django.http import HttpRequest

from crosswalks.models import (
    CustomerMapping,
    PaymentTermsMapping,
    ProductMapping,
    ProductMappingComponent,
    TaxRule,
    UnitOfMeasureMapping,
)


class ComponentFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Same rule as product_mapping_create: a mapping without a material maps to nothing.
        alive = [
            form
            for form in self.forms
            if form.cleaned_data
            and not form.cleaned_data.get("DELETE")
            and form.cleaned_data.get("sap_material")
        ]
        if not alive:
            raise ValidationError("A product mapping needs at least one SAP material.")


class ProductMappingComponentInline(admin.TabularInline):
    model = ProductMappingComponent
    formset = ComponentFormSet
    extra = 1
    min_num = 1
    fields = ["position", "sap_material", "quantity_factor"]


@admin.register(ProductMapping)
class ProductMappingAdmin(admin.ModelAdmin):
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

    def save_model(self, request: HttpRequest, obj: ProductMapping, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


@admin.register(CustomerMapping)
class CustomerMappingAdmin(admin.ModelAdmin):
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
class PaymentTermsMappingAdmin(admin.ModelAdmin):
    list_display = ["crm_value", "sap_terms_key"]
    search_fields = ["crm_value", "sap_terms_key"]


@admin.register(TaxRule)
class TaxRuleAdmin(admin.ModelAdmin):
    list_display = ["country", "region", "material_tax_class", "sap_tax_classification", "priority"]
    list_filter = ["country", "material_tax_class"]
    search_fields = ["country", "region", "sap_tax_classification"]


@admin.register(UnitOfMeasureMapping)
class UnitOfMeasureMappingAdmin(admin.ModelAdmin):
    list_display = ["crm_unit", "sap_unit"]
    search_fields = ["crm_unit", "sap_unit"]
