"""Admin for the crosswalk tables: business-editable data (DESIGN.md rule 4)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.forms import BaseInlineFormSet, ValidationError
from django.http import HttpRequest

from crosswalks.models import (
    ChangeAction,
    ChangeChannel,
    CrosswalkChange,
    CurrencyMapping,
    CustomerMapping,
    PaymentTermsMapping,
    ProductMapping,
    ProductMappingComponent,
    TaxRule,
    UnitOfMeasureMapping,
)


def _table_for(model: Any) -> Any:
    from crosswalks.tables import TABLES

    return next((t for t in TABLES.values() if t.model is model), None)


class HistoryAdmin(admin.ModelAdmin):
    """Admin edits are changes like any other: they land in the crosswalk history."""

    def _fresh(self, obj: Any) -> Any:
        return _table_for(type(obj)).queryset().get(pk=obj.pk)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        table = _table_for(type(obj))
        request._xwalk_before = table.snapshot(self._fresh(obj)) if change and obj.pk else None  # type: ignore[attr-defined]
        super().save_model(request, obj, form, change)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        from crosswalks.services import change_record

        super().save_related(request, form, formsets, change)
        table = _table_for(type(form.instance))
        before = getattr(request, "_xwalk_before", None)
        change_record(table=table, action=ChangeAction.UPDATE if before else ChangeAction.CREATE,
                      channel=ChangeChannel.ADMIN, before=before, after=table.snapshot(self._fresh(form.instance)),
                      actor=request.user, reason="changed in the admin")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        from crosswalks.services import crosswalk_row_delete

        crosswalk_row_delete(table=_table_for(type(obj)), instance=obj, actor=request.user,
                             channel=ChangeChannel.ADMIN, reason="deleted in the admin")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


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

    def save_model(self, request: HttpRequest, obj: ProductMapping, form: Any, change: bool) -> None:
        obj.updated_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


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
