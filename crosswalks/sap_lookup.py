"""Checks crosswalk values against the ERP, through its port, so it works against a real tenant;
and the local caches of the ERP's materials and customers that suggestions search.

S/4HANA has no API for payment-terms keys (T052 is customising): the adapter answers them from
`HUB_SAP_PAYMENT_TERMS_KEYS`. Never call this inside a database transaction: every check is a
network call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from crosswalks.models import DEFAULT_TARGET, SapMaterial, SapPartner
from integration_hub import ports
from integration_hub.erp.base import ErpPort
from integration_hub.errors import HubError, NotFound


def valid_terms_keys(erp: ErpPort | None = None) -> set[str]:
    return (erp or ports.erp_for()).payment_terms_keys()


class SapLookup:
    """Existence checks with a per-instance memo (one CSV import asks about each material once),
    against S/4HANA or, through `for_target`, the ERP a row is for."""

    def __init__(self, erp: ErpPort | None = None, *, trust_cache: bool = False, target: str = DEFAULT_TARGET) -> None:
        self._erp = erp
        self.target = target
        self.trust_cache = trust_cache
        self._materials: dict[str, bool] = {}
        self._partners: dict[str, bool] = {}
        self._others: dict[str, SapLookup] = {}

    @property
    def erp(self) -> ErpPort:
        if self._erp is None:
            self._erp = ports.erp_for(self.target)
        return self._erp

    def for_target(self, target: str) -> SapLookup:
        """The lookup of another ERP target, memo kept with this one."""
        if target == self.target:
            return self
        if target not in self._others:
            self._others[target] = SapLookup(trust_cache=False, target=target)
        return self._others[target]

    def materials_exist(self, materials: Iterable[str]) -> dict[str, bool]:
        wanted = {m for m in materials if m not in self._materials}
        if self.trust_cache and wanted and self.target == DEFAULT_TARGET:
            # A cached material was in SAP at the last refresh: good enough for a bulk import.
            for known in SapMaterial.objects.filter(material__in=wanted).values_list("material", flat=True):
                self._materials[known] = True
            wanted -= set(self._materials)
        for material in sorted(wanted):
            self._materials[material] = self.erp.material_exists(material)
        return self._materials

    def partner_exists(self, bp: str) -> bool:
        if bp not in self._partners:
            try:
                self.erp.customer_get(bp)
                self._partners[bp] = True
            except NotFound:
                self._partners[bp] = False
        return self._partners[bp]


def sap_check(table: str, values: dict[str, Any], lookup: SapLookup) -> dict[str, str]:
    """Errors (column → message) for values SAP does not know. Unreachable SAP is an error too."""
    errors: dict[str, str] = {}
    target = str(values.get("erp_target") or DEFAULT_TARGET)
    erp_name = TARGET_NAMES.get(target, target)
    try:
        if table == "products":
            materials = [c["sap_material"] for c in values.get("materials") or []]
            known = lookup.materials_exist(materials) if materials else {}
            missing = [m for m in materials if not known.get(m)]
            if missing:
                errors["materials"] = f"SAP has no material {', '.join(missing)}."
            items = values.get("erp_items") or []
            for other in sorted({c["erp_target"] for c in items}):
                wanted = [c["erp_item"] for c in items if c["erp_target"] == other]
                found = lookup.for_target(other).materials_exist(wanted)
                absent = [i for i in wanted if not found.get(i)]
                if absent:
                    errors["erp_items"] = f"{TARGET_NAMES.get(other, other)} has no item {', '.join(absent)}."
        elif table == "customers":
            for column in ("sap_business_partner", "sap_ship_to"):
                bp = values.get(column)
                if bp and not lookup.for_target(target).partner_exists(bp):
                    errors[column] = (f"SAP has no business partner {bp}." if target == DEFAULT_TARGET
                                      else f"{erp_name} has no customer {bp}.")
        elif table == "terms":
            key = values.get("sap_terms_key")
            keys = valid_terms_keys(lookup.for_target(target).erp) if key else set()
            if key and key not in keys:
                errors["sap_terms_key"] = (
                    f"{key} is not an {'SAP' if target == DEFAULT_TARGET else erp_name} payment-terms key "
                    f"(known: {', '.join(sorted(keys))})."
                )
    except HubError as error:
        errors["general"] = f"{'SAP' if target == DEFAULT_TARGET else erp_name} could not be asked ({error}); " \
            "try again in a moment."
    return errors


TARGET_NAMES = {"s4hana": "SAP", "netsuite": "NetSuite"}


# -- local caches for suggestions ------------------------------------------------------------------
def _compact(number: str) -> str:
    return re.sub(r"[\s.-]", "", number or "").upper()


def material_cache_refresh(erp: ErpPort | None = None) -> int:
    """Copy the ERP's material descriptions (hub language) into SapMaterial."""
    found = (erp or ports.erp_for()).materials_list()
    now = timezone.now()
    with transaction.atomic():
        SapMaterial.objects.exclude(material__in=found).delete()
        SapMaterial.objects.bulk_create(
            [SapMaterial(material=m, description=d, refreshed_at=now) for m, d in found.items()],
            update_conflicts=True, unique_fields=["material"], update_fields=["description", "refreshed_at"],
        )
    return len(found)


def partner_cache_refresh(erp: ErpPort | None = None) -> int:
    """Copy the ERP's organisation customers (name, tax numbers, first address) into SapPartner."""
    now = timezone.now()
    partners = []
    for customer in (erp or ports.erp_for()).customers_list():
        address = customer.address
        partners.append(SapPartner(
            business_partner=customer.number, name=customer.name,
            tax_numbers=" ".join(_compact(t) for t in customer.tax_numbers),
            street=address.street if address else "", city=address.city if address else "",
            postal_code=address.postal_code if address else "", country=address.country if address else "",
            refreshed_at=now,
        ))
    with transaction.atomic():
        SapPartner.objects.exclude(business_partner__in=[p.business_partner for p in partners]).delete()
        SapPartner.objects.bulk_create(
            partners, update_conflicts=True, unique_fields=["business_partner"],
            update_fields=["name", "tax_numbers", "street", "city", "postal_code", "country", "refreshed_at"],
        )
    return len(partners)
