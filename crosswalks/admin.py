"""Admin for the crosswalk tables: business-editable data (DESIGN.md rule 4).

Admin edits are saves like any other: through `crosswalk_row_write`, with history, and the open
exceptions an edit fixes are resolved. SAP is not asked from here: Django runs an admin save
inside its own transaction, where no external call may happen — the workbench checks against
SAP.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.forms import BaseInlineFormSet, ValidationError
from django.http import HttpRequest

from crosswalks.models import (
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
from crosswalks.services import crosswalk_row_check, crosswalk_row_delete, crosswalk_row_write
from crosswalks.tables import TABLES, Table


def _table_for(model: Any) -> Table:
    return next(t for t in TABLES.values() if t.model is model)


class CrosswalkAdminForm(forms.ModelForm):
    """The table's own rules (validity order, the org default, …) as form errors, not a 500 at save."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        table = _table_for(self._meta.model)
        names = [c.name for c in table.columns if c.kind != "materials" and c.name in self.fields]
        checked = table.clean({name: cleaned.get(name) for name in names}, only=names)
        for name, message in checked.errors.items():
            if name not in self.errors:
                self.add_error(name if name in self.fields else None, message)
        return cleaned


def _components(formsets: Any) -> list[dict[str, Any]]:
    return [
        {k: form.cleaned_data.get(k) for k in ("sap_material", "quantity_factor", "unit", "position")}
        for formset in formsets for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE") and form.cleaned_data.get("sap_material")
    ]


class HistoryAdmin(admin.ModelAdmin):
    form = CrosswalkAdminForm

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        """Nothing yet: the row is saved in `save_related`, once a product's materials are known too."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        obj = form.instance
        table = _table_for(type(obj))
        raw: dict[str, Any] = table.plain_snapshot(obj)
        if any(c.kind == "materials" for c in table.columns):
            raw["materials"] = _components(formsets)
        row = crosswalk_row_check(table=table, raw=raw, erp=False)  # see the module docstring
        saved = crosswalk_row_write(row=row, actor=request.user, channel=ChangeChannel.ADMIN,
                                    reason="changed in the admin", instance=obj if change else None,
                                    source=getattr(obj, "source", None), create_only=not change)
        obj.pk = saved.row.pk
        for formset in formsets:
            formset.save(commit=False)  # writes nothing; gives the admin log what changed

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        crosswalk_row_delete(table=_table_for(type(obj)), instance=obj, actor=request.user,
                             channel=ChangeChannel.ADMIN, reason="deleted in the admin")

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for obj in queryset:
            self.delete_model(request, obj)


class ComponentFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        # Same rule as every other channel: a mapping without a material maps to nothing.
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
