from __future__ import annotations

from django.contrib import admin

from integration_hub.ap.models import ApTolerance, VarianceAcceptance, VendorInvoice, VendorInvoiceLine


class VendorInvoiceLineInline(admin.TabularInline):
    model = VendorInvoiceLine
    extra = 0
    readonly_fields = ["position", "purchase_order", "purchase_order_item", "material", "quantity", "unit",
                       "unit_price", "result", "detail"]
    can_delete = False


@admin.register(VendorInvoice)
class VendorInvoiceAdmin(admin.ModelAdmin):
    list_display = ["id", "supplier", "reference", "invoice_date", "gross_amount", "currency", "status",
                    "sap_supplier_invoice"]
    list_filter = ["status", "format"]
    search_fields = ["reference", "reference_key", "supplier", "sap_supplier_invoice"]
    readonly_fields = [f.name for f in VendorInvoice._meta.fields]
    inlines = [VendorInvoiceLineInline]

    def has_add_permission(self, request: object) -> bool:
        return False  # invoices come in through the API or the upload screen (one save path)


@admin.register(ApTolerance)
class ApToleranceAdmin(admin.ModelAdmin):
    """Read here; edited on /ap/tolerances/, which records the history."""

    list_display = ["kind", "company_code", "supplier", "lower_percent", "upper_percent", "lower_absolute",
                    "upper_absolute", "updated_at"]
    readonly_fields = ["kind", "company_code", "supplier", "lower_percent", "upper_percent", "lower_absolute",
                       "upper_absolute", "updated_at", "updated_by"]

    def has_add_permission(self, request: object) -> bool:
        return False


@admin.register(VarianceAcceptance)
class VarianceAcceptanceAdmin(admin.ModelAdmin):
    list_display = ["invoice", "fingerprint", "amount", "status", "requested_by", "decided_by"]
    readonly_fields = [f.name for f in VarianceAcceptance._meta.fields]
