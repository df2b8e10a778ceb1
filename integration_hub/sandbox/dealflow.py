"""A sales team in a box: closes realistic deals in the Salesforce sandbox, through its REST API.

Most deals are clean; the rest carry one of the exception catalogue's defects on purpose, so the
demo shows every queue filling. The generator knows the sandbox world (`catalog`); the hub does
not — it sees only what arrives from Salesforce.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import timezone

from integration_hub.sandbox import catalog

CLEAN = "clean"
DEFECTS = ("customer_not_found", "product_not_mapped", "pricing_mismatch", "credit_check_failed",
           "address_invalid", "missing_required_field")
CENT = Decimal("0.01")


def _soql_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass
class PlannedLine:
    product: catalog.Product
    quantity: int
    unit_price: Decimal
    discount: Decimal = Decimal("0")


@dataclass
class PlannedDeal:
    kind: str
    company: catalog.Company
    lines: list[PlannedLine]
    payment_terms: str


def _discount_for(company: catalog.Company) -> Decimal:
    return dict(catalog.customer_discounts()).get(company.business_partner, Decimal("0"))


def sap_unit_price(product: catalog.Product, company: catalog.Company) -> Decimal:
    """What SAP will price one unit at for this customer: PPR0 × FX, less the customer's K007."""
    by_material = {m.material: m for m in catalog.materials()}
    fx = catalog.FX_FROM_USD[company.sales_area.currency]
    base = sum((by_material[mat].price * factor for mat, factor in product.components), Decimal("0")) * fx
    discount = _discount_for(company)
    return (base * (1 + discount / 100)).quantize(CENT, ROUND_HALF_UP)


class DealPlanner:
    def __init__(self, seed: int | None = None) -> None:
        self.rng = random.Random(seed)
        companies = catalog.companies()
        duplicates = {key for _, key in catalog.duplicate_partners()}
        self.clean_companies = [
            c for i, c in enumerate(companies)
            if c.in_sap and i % 17 and c.key not in duplicates and c.open_ar < c.credit_limit * Decimal("0.6")
        ]
        self.net_new = [c for c in companies if not c.in_sap]
        self.bad_address = [c for i, c in enumerate(companies) if c.in_sap and i % 17 == 0 and c.key not in duplicates]
        materials = {m.material: m for m in catalog.materials()}
        products = catalog.products()
        self.mapped = [p for p in products if p.components and all(m in materials for m, _ in p.components)]
        self.clean_products = [p for p in self.mapped if p.list_price == sum(
            (materials[m].price * f for m, f in p.components), Decimal("0"))]
        self.drifted = [p for p in self.mapped if p not in self.clean_products]
        self.unmapped = [p for p in products if not p.components]

    def _clean_lines(self, company: catalog.Company, budget: Decimal) -> list[PlannedLine]:
        lines: list[PlannedLine] = []
        for product in self.rng.sample(self.clean_products, self.rng.randint(1, 3)):
            price = sap_unit_price(product, company)
            quantity = self.rng.randint(1, 5)
            if price * quantity > budget:
                quantity = max(1, int(budget // max(price, Decimal("1"))))
                if price * quantity > budget:
                    continue
            budget -= price * quantity
            lines.append(PlannedLine(product, quantity, price))
        return lines

    def plan(self, kind: str | None = None) -> PlannedDeal:
        if kind is None:
            kind = CLEAN if self.rng.random() < 0.6 else self.rng.choice(DEFECTS)
        company = self.rng.choice(self.clean_companies)
        if kind == "customer_not_found":
            company = self.rng.choice(self.net_new)
        elif kind == "address_invalid":
            company = self.rng.choice(self.bad_address)
        terms = catalog.PAYMENT_TERMS[company.payment_terms]
        headroom = (company.credit_limit - company.open_ar) * Decimal("0.5")
        lines = self._clean_lines(company, headroom)
        if not lines:
            cheapest = min(self.clean_products, key=lambda p: sap_unit_price(p, company))
            lines = [PlannedLine(cheapest, 1, sap_unit_price(cheapest, company))]
        if kind == "product_not_mapped":
            lines.append(PlannedLine(self.rng.choice(self.unmapped), 2, self.rng.choice(self.unmapped).list_price))
        elif kind == "pricing_mismatch":
            product = self.rng.choice(self.drifted)
            lines.append(PlannedLine(product, 2, product.list_price * catalog.FX_FROM_USD[company.sales_area.currency]))
        elif kind == "credit_check_failed":
            product = max(self.clean_products, key=lambda p: sap_unit_price(p, company))
            price = sap_unit_price(product, company)
            needed = (company.credit_limit - company.open_ar) / price
            lines = [PlannedLine(product, max(1, math.ceil(needed)) + 1, price)]
        elif kind == "missing_required_field":
            terms = "Net 90"  # sales typed terms finance never agreed to: no SAP key exists
        for line in lines:
            line.unit_price = line.unit_price.quantize(CENT, ROUND_HALF_UP)
        return PlannedDeal(kind, company, lines, terms)


class DealFlow:
    """Creates planned deals in the Salesforce sandbox and closes them, as a rep would."""

    def __init__(self, salesforce: Any, seed: int | None = None) -> None:
        self.sf = salesforce
        self.planner = DealPlanner(seed)
        self._accounts: dict[str, str] = {}
        self._entries: dict[str, str] = {}
        self._contacts: dict[str, str] = {}

    def _account_id(self, company: catalog.Company) -> str:
        if company.crm_name not in self._accounts:
            rows = self.sf.query_all(f"SELECT Id FROM Account WHERE Name = {_soql_quote(company.crm_name)} LIMIT 1")
            if not rows:
                raise LookupError(f"account {company.crm_name!r} is not in the Salesforce sandbox; run seed_demo")
            self._accounts[company.crm_name] = rows[0]["Id"]
        return self._accounts[company.crm_name]

    def _entry_id(self, code: str) -> str:
        if not self._entries:
            for row in self.sf.query_all("SELECT Id, Product2.ProductCode FROM PricebookEntry"):
                self._entries[(row.get("Product2") or {}).get("ProductCode", "")] = row["Id"]
        return self._entries[code]

    def _contact_id(self, account_id: str) -> str | None:
        if account_id not in self._contacts:
            rows = self.sf.query_all(f"SELECT Id FROM Contact WHERE AccountId = {_soql_quote(account_id)} LIMIT 1")
            self._contacts[account_id] = rows[0]["Id"] if rows else ""
        return self._contacts[account_id] or None

    def open_deal(self, planned: PlannedDeal, *, close_date: date | None = None) -> str:
        account_id = self._account_id(planned.company)
        today = close_date or timezone.localdate()
        names = ", ".join(line.product.name for line in planned.lines[:2])
        opportunity_id: str = self.sf.create("Opportunity", {
            "Name": f"{planned.company.crm_name} – {names}"[:120],
            "AccountId": account_id,
            "StageName": "Negotiation/Review",
            "CloseDate": (today + timedelta(days=0)).isoformat(),
            "Payment_Terms__c": planned.payment_terms,
        })
        for line in planned.lines:
            item = {"OpportunityId": opportunity_id, "PricebookEntryId": self._entry_id(line.product.code),
                    "Quantity": line.quantity, "UnitPrice": float(line.unit_price)}
            if line.discount:
                item["Discount"] = float(line.discount)
            self.sf.create("OpportunityLineItem", item)
        contact = self._contact_id(account_id)
        if contact:
            self.sf.create("OpportunityContactRole", {"OpportunityId": opportunity_id, "ContactId": contact,
                                                      "IsPrimary": True, "Role": "Decision Maker"})
        return opportunity_id

    def close_won(self, opportunity_id: str) -> None:
        self.sf.update("Opportunity", opportunity_id, {"StageName": "Closed Won"})

    def one(self, kind: str | None = None) -> tuple[str, PlannedDeal]:
        planned = self.planner.plan(kind)
        opportunity_id = self.open_deal(planned)
        self.close_won(opportunity_id)
        return opportunity_id, planned
