"""The canonical deal: both systems map to it, never Salesforce straight to SAP (DESIGN.md table).

`extract_soql()` is the one query that reads a deal; `deal_from_salesforce()` maps its record to a
`CanonicalDeal` and lists every derivation (field, source value, result, rule, confidence) for the
transformation log. Resolution against SAP and the crosswalks happens in the pipeline and adds
further derivations to the same deal.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

OPPORTUNITY_FIELDS = (
    "Id", "Name", "StageName", "IsWon", "Amount", "CloseDate", "Payment_Terms__c", "Contract_Reference__c",
    "SystemModstamp", "OwnerId", "Owner.Email", "Owner.Name", "AccountId", "Account.Name", "Account.Tax_ID__c", "Account.DUNS__c",
    "Account.Payment_Terms__c", "Account.ShippingStreet", "Account.ShippingCity", "Account.ShippingState",
    "Account.ShippingPostalCode", "Account.ShippingCountry", "Account.BillingStreet", "Account.BillingCity",
    "Account.BillingState", "Account.BillingPostalCode", "Account.BillingCountry",
)
LINE_FIELDS = (
    "Id", "Quantity", "UnitPrice", "ListPrice", "Discount", "TotalPrice", "Product2Id",
    "Product2.ProductCode", "Product2.Name", "Product2.QuantityUnitOfMeasure",
)
CONTACT_ROLE_FIELDS = ("ContactId", "IsPrimary", "Role", "Contact.FirstName", "Contact.LastName", "Contact.Email")


def _soql_id(value: str) -> str:
    if not value.isalnum() or len(value) not in (15, 18):
        raise ValueError(f"not a Salesforce id: {value!r}")
    return value


def extract_soql(opportunity_id: str) -> str:
    """One round trip: the Opportunity, its Account, its line items and contact roles."""
    return (
        f"SELECT {', '.join(OPPORTUNITY_FIELDS)}, "
        f"(SELECT {', '.join(LINE_FIELDS)} FROM OpportunityLineItems), "
        f"(SELECT {', '.join(CONTACT_ROLE_FIELDS)} FROM OpportunityContactRoles) "
        f"FROM Opportunity WHERE Id = '{_soql_id(opportunity_id)}'"
    )


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


def _decimal(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return Decimal(default)


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _children(record: dict[str, Any], name: str) -> list[dict[str, Any]]:
    child = record.get(name)
    if not child:
        return []
    return list(child.get("records") or [])


def deal_from_salesforce(record: dict[str, Any], *, org_id: str, currency: str) -> tuple[CanonicalDeal, list[Derivation]]:
    """Map one Opportunity query record to the canonical deal, logging each derivation."""
    log: list[Derivation] = []
    account = record.get("Account") or {}

    def note(path: str, source: Any, result: Any, rule: str, confidence: float = 1.0) -> None:
        log.append(Derivation(path, _text(source), _text(result), rule, confidence))

    organization = Organization(
        name=_text(account.get("Name")),
        crm_account_id=_text(record.get("AccountId")),
        tax_id=_text(account.get("Tax_ID__c")),
        duns=_text(account.get("DUNS__c")),
    )
    note("entity.organization.name", account.get("Name"), organization.name, "Account.Name copied")

    # Ship-to: the shipping address; the billing address stands in only when shipping is empty.
    ship_to = Location(
        street=_text(account.get("ShippingStreet")),
        city=_text(account.get("ShippingCity")),
        region=_text(account.get("ShippingState")),
        postal_code=_text(account.get("ShippingPostalCode")),
        country=_text(account.get("ShippingCountry")),
    )
    rule = "Account.Shipping* copied"
    if not ship_to.is_complete and account.get("BillingStreet"):
        ship_to = Location(
            street=_text(account.get("BillingStreet")),
            city=_text(account.get("BillingCity")),
            region=_text(account.get("BillingState")),
            postal_code=_text(account.get("BillingPostalCode")),
            country=_text(account.get("BillingCountry")),
        )
        rule = "shipping address empty: Account.Billing* used"
    note(
        "entity.location.ship_to",
        account.get("ShippingStreet") or account.get("BillingStreet"),
        ", ".join(p for p in (ship_to.street, ship_to.postal_code, ship_to.city, ship_to.country) if p),
        rule,
        1.0 if rule.startswith("Account.Shipping") else 0.8,
    )

    contact = Person()
    roles = _children(record, "OpportunityContactRoles")
    primary = next((r for r in roles if r.get("IsPrimary")), roles[0] if roles else None)
    if primary:
        c = primary.get("Contact") or {}
        contact = Person(
            crm_contact_id=_text(primary.get("ContactId")),
            name=" ".join(p for p in (_text(c.get("FirstName")), _text(c.get("LastName"))) if p),
            email=_text(c.get("Email")),
        )
        note("entity.person.primary_contact", primary.get("ContactId"), contact.email or contact.name,
             "primary contact role" if primary.get("IsPrimary") else "first contact role (none primary)",
             1.0 if primary.get("IsPrimary") else 0.8)

    terms_source = "Opportunity.Payment_Terms__c"
    terms = _text(record.get("Payment_Terms__c"))
    if not terms:
        terms = _text(account.get("Payment_Terms__c"))
        terms_source = "Account.Payment_Terms__c (opportunity had none)"
    if terms:
        note("transaction.payment.terms", terms, terms, terms_source)

    lines: list[LineItem] = []
    for item in _children(record, "OpportunityLineItems"):
        product = item.get("Product2") or {}
        quantity = _decimal(item.get("Quantity"))
        unit_price = _decimal(item.get("UnitPrice"))
        discount = _decimal(item.get("Discount"))
        total = item.get("TotalPrice")
        total_price = _decimal(total) if total is not None else (quantity * unit_price * (1 - discount / 100))
        line = LineItem(
            crm_line_id=_text(item.get("Id")),
            product_code=_text(product.get("ProductCode")),
            description=_text(product.get("Name")),
            quantity=quantity,
            unit_price=unit_price,
            discount_percent=discount,
            total_price=total_price.quantize(Decimal("0.01")),
            crm_unit=_text(product.get("QuantityUnitOfMeasure")),
        )
        lines.append(line)
        note(f"transaction.line_item[{line.crm_line_id}].description", product.get("Name"), line.description,
             "Product2.Name copied")

    closed = record.get("CloseDate")
    deal = CanonicalDeal(
        org_id=org_id,
        opportunity_id=_text(record.get("Id")),
        name=_text(record.get("Name")),
        stage=_text(record.get("StageName")),
        amount=_decimal(record.get("Amount")) if record.get("Amount") is not None else None,
        currency=currency,
        closed_date=date.fromisoformat(closed) if closed else None,
        organization=organization,
        ship_to=ship_to,
        primary_contact=contact,
        lines=lines,
        payment_terms_crm=terms,
        contract_reference=_text(record.get("Contract_Reference__c")),
        owner_email=_text((record.get("Owner") or {}).get("Email")),
        owner_name=_text((record.get("Owner") or {}).get("Name")),
    )
    if deal.closed_date:
        note("transaction.dates.closed", closed, deal.closed_date, "CloseDate copied")
    for entry in log:
        deal.confidence[entry.field] = entry.confidence
    return deal, log
