"""The canonical deal: both systems map to it, never Salesforce straight to SAP (DESIGN.md table).

The CRM adapter (`crm/salesforce.py`) maps a deal into a `CanonicalDeal` and lists every
derivation (field, source value, result, rule, confidence) for the transformation log; validation
resolves it against the crosswalks and the ERP port and adds further derivations to the same deal.
Nothing here knows a system's field names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any


@dataclass
class Derivation:
    field: str
    source: str
    result: str
    rule: str
    confidence: float


@dataclass
class MaterialLine:
    material: str
    quantity: Decimal
    unit: str
    factor: Decimal = Decimal("1")


@dataclass
class LineItem:
    crm_line_id: str
    product_code: str
    description: str
    quantity: Decimal
    unit_price: Decimal
    discount_percent: Decimal
    total_price: Decimal
    crm_unit: str = ""
    materials: list[MaterialLine] = field(default_factory=list)
    mapping_confidence: float | None = None
    # A manual price condition (DCM2 %, replacing the CRM discount) approved by pricing.
    price_condition_percent: Decimal | None = None


@dataclass
class Organization:
    name: str
    crm_account_id: str
    tax_id: str = ""
    duns: str = ""
    sap_business_partner: str = ""
    match_confidence: float | None = None
    sales_organization: str = ""
    distribution_channel: str = ""
    division: str = ""
    currency: str = ""
    billing_country: str = ""  # routes the deal to an ERP by country (crosswalks' ERP-target rules)


@dataclass
class Location:
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""
    confidence: float | None = None
    sap_ship_to: str = ""

    @property
    def is_complete(self) -> bool:
        return bool(self.street and self.city and self.country)


@dataclass
class Person:
    crm_contact_id: str = ""
    name: str = ""
    email: str = ""
    sap_contact_person: str = ""


@dataclass
class CanonicalDeal:
    org_id: str
    opportunity_id: str
    name: str
    stage: str
    amount: Decimal | None
    currency: str
    closed_date: date | None
    organization: Organization
    ship_to: Location
    primary_contact: Person
    lines: list[LineItem]
    payment_terms_crm: str = ""
    payment_terms: str = ""  # SAP key once resolved
    contract_reference: str = ""
    tax_classification: str = ""
    requested_delivery_date: date | None = None
    owner_email: str = ""  # the deal owner in Salesforce (four-eyes: owners never approve their deals)
    owner_name: str = ""
    erp_target_requested: str = ""  # the ERP the CRM deal itself names, "" when it leaves it to the hub
    confidence: dict[str, float] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return jsonable(dataclasses.asdict(self))

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CanonicalDeal:
        lines = [
            LineItem(
                **{
                    **line,
                    "quantity": Decimal(line["quantity"]),
                    "unit_price": Decimal(line["unit_price"]),
                    "discount_percent": Decimal(line["discount_percent"]),
                    "total_price": Decimal(line["total_price"]),
                    "price_condition_percent": Decimal(line["price_condition_percent"])
                    if line.get("price_condition_percent") is not None
                    else None,
                    "materials": [
                        MaterialLine(m["material"], Decimal(m["quantity"]), m["unit"], Decimal(m["factor"]))
                        for m in line["materials"]
                    ],
                }
            )
            for line in data["lines"]
        ]
        return cls(
            **{
                **data,
                "amount": Decimal(data["amount"]) if data.get("amount") is not None else None,
                "closed_date": date.fromisoformat(data["closed_date"]) if data.get("closed_date") else None,
                "requested_delivery_date": date.fromisoformat(data["requested_delivery_date"])
                if data.get("requested_delivery_date")
                else None,
                "organization": Organization(**data["organization"]),
                "ship_to": Location(**data["ship_to"]),
                "primary_contact": Person(**data["primary_contact"]),
                "lines": lines,
            }
        )


def jsonable(value: Any) -> Any:
    """Decimals and dates as JSON-safe strings, recursively (what JSONFields and evidence store)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
