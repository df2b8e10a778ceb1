"""Checks crosswalk values against SAP, through the connector, so it works against a real tenant.

SAP has no API for payment-terms keys (T052 is customising), so the valid keys are a setting:
`HUB_SAP_PAYMENT_TERMS_KEYS` (a list), defaulting to the keys of the sandbox tenant below.
Never call this inside a database transaction: every check is a network call.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from crosswalks.models import SapMaterial, SapPartner
from integration_hub.connectors.sap import SapClient
from integration_hub.errors import HubError, NotFound

DEFAULT_TERMS_KEYS = ("0001", "0002", "0003", "0004", "NT30", "NT45", "NT60", "NT90")


def valid_terms_keys() -> set[str]:
    return {str(k).upper() for k in getattr(settings, "HUB_SAP_PAYMENT_TERMS_KEYS", DEFAULT_TERMS_KEYS)}


class SapLookup:
    """Existence checks with a per-instance memo (one CSV import asks about each material once)."""

    def __init__(self, client: Any | None = None, *, trust_cache: bool = False) -> None:
        self._client = client
        self.trust_cache = trust_cache
        self._materials: dict[str, bool] = {}
        self._partners: dict[str, bool] = {}

    @property
    def client(self) -> Any:
        if self._client is None:
            self._client = SapClient.from_settings()
        return self._client

    def materials_exist(self, materials: Iterable[str]) -> dict[str, bool]:
        wanted = {m for m in materials if m not in self._materials}
        if self.trust_cache and wanted:
            # A cached material was in SAP at the last refresh: good enough for a bulk import.
            for known in SapMaterial.objects.filter(material__in=wanted).values_list("material", flat=True):
                self._materials[known] = True
            wanted -= set(self._materials)
        for material in sorted(wanted):
            self._materials[material] = self.client.get_product(material) is not None
        return self._materials

    def partner_exists(self, bp: str) -> bool:
        if bp not in self._partners:
            try:
                self.client.get_business_partner(bp)
                self._partners[bp] = True
            except NotFound:
                self._partners[bp] = False
        return self._partners[bp]


def sap_check(table: str, values: dict[str, Any], lookup: SapLookup) -> dict[str, str]:
    """Errors (column → message) for values SAP does not know. Unreachable SAP is an error too."""
    errors: dict[str, str] = {}
    try:
        if table == "products":
            materials = [c["sap_material"] for c in values.get("materials") or []]
            known = lookup.materials_exist(materials)
            missing = [m for m in materials if not known.get(m)]
            if missing:
                errors["materials"] = f"SAP has no material {', '.join(missing)}."
        elif table == "customers":
            for column in ("sap_business_partner", "sap_ship_to"):
                bp = values.get(column)
                if bp and not lookup.partner_exists(bp):
                    errors[column] = f"SAP has no business partner {bp}."
        elif table == "terms":
            key = values.get("sap_terms_key")
            if key and key not in valid_terms_keys():
                errors["sap_terms_key"] = (
                    f"{key} is not an SAP payment-terms key (known: {', '.join(sorted(valid_terms_keys()))})."
                )
    except HubError as error:
        errors["general"] = f"SAP could not be asked ({error}); try again in a moment."
    return errors


# -- local caches for suggestions ------------------------------------------------------------------
def _compact(number: str) -> str:
    return re.sub(r"[\s.-]", "", number or "").upper()


def material_cache_refresh(client: Any | None = None) -> int:
    """Copy SAP's material descriptions (A_ProductDescription, hub language) into SapMaterial."""
    client = client or SapClient.from_settings()
    rows = client.list_product_descriptions()
    now = timezone.now()
    found = {str(r["Product"]): str(r.get("ProductDescription") or "") for r in rows}
    with transaction.atomic():
        SapMaterial.objects.exclude(material__in=found).delete()
        SapMaterial.objects.bulk_create(
            [SapMaterial(material=m, description=d, refreshed_at=now) for m, d in found.items()],
            update_conflicts=True, unique_fields=["material"], update_fields=["description", "refreshed_at"],
        )
    return len(found)


def partner_cache_refresh(client: Any | None = None) -> int:
    """Copy SAP's organisation partners (name, tax numbers, first address) into SapPartner."""
    client = client or SapClient.from_settings()
    rows = client.list_organizations()
    now = timezone.now()
    partners = []
    for row in rows:
        addresses = row.get("to_BusinessPartnerAddress") or []
        address = addresses[0] if addresses else {}
        street = " ".join(p for p in (str(address.get("HouseNumber") or ""), str(address.get("StreetName") or "")) if p)
        partners.append(SapPartner(
            business_partner=str(row["BusinessPartner"]),
            name=str(row.get("BusinessPartnerFullName") or row.get("OrganizationBPName1") or ""),
            tax_numbers=" ".join(_compact(t.get("BPTaxNumber", "")) for t in row.get("to_BusinessPartnerTax") or []),
            street=street, city=str(address.get("CityName") or ""), postal_code=str(address.get("PostalCode") or ""),
            country=str(address.get("Country") or ""), refreshed_at=now,
        ))
    with transaction.atomic():
        SapPartner.objects.exclude(business_partner__in=[p.business_partner for p in partners]).delete()
        SapPartner.objects.bulk_create(
            partners, update_conflicts=True, unique_fields=["business_partner"],
            update_fields=["name", "tax_numbers", "street", "city", "postal_code", "country", "refreshed_at"],
        )
    return len(partners)
