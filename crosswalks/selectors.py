"""Reads on crosswalk tables."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from crosswalks.models import ProductMapping


def product_mapping_list(
    *, search: str | None = None, active: bool | None = None
) -> QuerySet[ProductMapping]:
    qs = ProductMapping.objects.prefetch_related("components")
    if search:
        qs = qs.filter(Q(crm_product_code__icontains=search) | Q(crm_product_name__icontains=search))
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("crm_product_code")


def product_mapping_lookup(*, crm_product_code: str) -> ProductMapping | None:
    """The active mapping of a CRM product code, with its components, or None."""
    return (
        ProductMapping.objects.prefetch_related("components")
        .filter(crm_product_code=crm_product_code, active=True)
        .first()
    )
