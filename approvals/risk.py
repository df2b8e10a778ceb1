"""Risk scoring (DESIGN.md "Risk-based approval routing"): five factors, the highest decides.

`risk_inputs_read()` does the reads scoring needs beyond what validation kept (AR aging, the
customer's agreed payment terms, the deal owner for four-eyes, past orders for the approver's
screen); it runs outside any transaction. `risk_score()` is pure: same inputs, same answer,
so every band boundary is testable without a sandbox.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from integration_hub.canonical import CanonicalDeal, jsonable
from integration_hub.crm.base import CrmPort
from integration_hub.erp.base import ErpPort, OpenItem
from integration_hub.errors import HubError
from integration_hub.models import RiskLevel

logger = logging.getLogger(__name__)
L = RiskLevel
LEVEL_RANK: dict[str, int] = {L.LOW: 0, L.MEDIUM: 1, L.HIGH: 2}
CUSTOMER_PATH = "entity.organization.sap_business_partner"


def band(value: Decimal | int, medium_from: Decimal | int, high_above: Decimal | int) -> str:
    """Below `medium_from` low; from it up to and including `high_above` medium; above that high."""
    if value > high_above:
        return L.HIGH
    if value >= medium_from:
        return L.MEDIUM
    return L.LOW


@dataclass
class Factor:
    code: str
    label: str
    level: str
    value: str
    evidence: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"code": self.code, "label": self.label, "level": self.level, "value": self.value,
                "evidence": jsonable(self.evidence)}


@dataclass
class RiskInputs:
    """What scoring read from SAP and Salesforce after validation passed."""

    open_items: list[tuple[Decimal, int]] | None = None  # (amount, days past due); None: not read
    credit_limit: Decimal | None = None
    credit_currency: str = ""
    customer_terms: str | None = None
    owner_email: str = ""
    owner_name: str = ""
    past_orders: list[dict[str, Any]] = field(default_factory=list)
    read_errors: list[str] = field(default_factory=list)


# -- the five factors ----------------------------------------------------------------------------
def deal_value(deal: CanonicalDeal, s: Any) -> Factor:
    lines_total = sum((line.total_price for line in deal.lines), Decimal("0"))
    amount = deal.amount if deal.amount is not None else lines_total
    level = band(amount, s.deal_value_medium_from, s.deal_value_high_above)
    return Factor("deal_value", "Deal value", level, f"{amount:,.2f} {deal.currency}",
                  {"amount": amount, "lines_total": lines_total, "currency": deal.currency,
                   "bands": f"< {s.deal_value_medium_from:,.0f} low · ≤ {s.deal_value_high_above:,.0f} medium · above high"})


def discount_depth(deal: CanonicalDeal, s: Any) -> Factor:
    lines = [{"product": line.description or line.product_code, "discount_percent": line.discount_percent}
             for line in deal.lines]
    deepest = max((line.discount_percent for line in deal.lines), default=Decimal("0"))
    level = band(deepest, s.discount_medium_from, s.discount_high_above)
    return Factor("discount", "Discount depth", level, f"{deepest}%",
                  {"deepest_percent": deepest, "lines": lines,
                   "bands": f"< {s.discount_medium_from}% low · ≤ {s.discount_high_above}% medium · above high"})


def customer_credit(inputs: RiskInputs, s: Any) -> Factor:
    if inputs.open_items is None:
        # Not knowing is not the same as current: an approver should look.
        return Factor("credit", "Customer credit", L.MEDIUM, "AR aging could not be read",
                      {"errors": inputs.read_errors})
    items = inputs.open_items
    open_ar = sum((amount for amount, _ in items), Decimal("0"))
    base = inputs.credit_limit if inputs.credit_limit else open_ar
    material = base * Decimal(s.credit_materiality_percent) / 100
    over_high = sum((a for a, d in items if d > s.credit_high_above_days), Decimal("0"))
    over_medium = sum((a for a, d in items if d >= s.credit_medium_from_days), Decimal("0"))
    oldest = max((d for a, d in items if a > 0), default=0)
    if over_high and over_high >= material:
        level, value = L.HIGH, f"{over_high:,.2f} more than {s.credit_high_above_days} days past due"
    elif over_medium and over_medium >= material:
        level, value = L.MEDIUM, f"{over_medium:,.2f} {s.credit_medium_from_days}+ days past due"
    elif oldest > 0:
        # Low by the materiality rule, but never called "current" beside an item 95 days late:
        # the label says how late and why it does not count.
        overdue = sum((a for a, d in items if d > 0), Decimal("0"))
        level, value = L.LOW, (f"{overdue:,.2f} past due (oldest {oldest} days), under the "
                               f"{_percent(s.credit_materiality_percent)}% materiality threshold")
    else:
        level, value = L.LOW, "current"
    return Factor("credit", "Customer credit", level, value, {
        "open_ar": open_ar, "credit_limit": inputs.credit_limit, "currency": inputs.credit_currency,
        "oldest_days_past_due": oldest, "overdue_over_high_days": over_high,
        "overdue_from_medium_days": over_medium, "materiality": material.quantize(Decimal("0.01")),
        "aging": aging_buckets(items),
        "bands": f"< {s.credit_medium_from_days} days past due low · ≤ {s.credit_high_above_days} medium · above "
                 f"high, once the overdue amount reaches {_percent(s.credit_materiality_percent)}% of the credit limit",
    })


def _percent(value: Decimal | int) -> str:
    """20.00 → "20", 12.50 → "12.5"."""
    return f"{Decimal(value).quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")


def aging_buckets(items: list[tuple[Decimal, int]]) -> dict[str, Decimal]:
    buckets = {"not_due": Decimal("0"), "1_30": Decimal("0"), "31_60": Decimal("0"), "61_90": Decimal("0"),
               "over_90": Decimal("0")}
    for amount, days in items:
        key = ("not_due" if days <= 0 else "1_30" if days <= 30 else "31_60" if days <= 60
               else "61_90" if days <= 90 else "over_90")
        buckets[key] += amount
    return buckets


def terms(deal: CanonicalDeal, inputs: RiskInputs, overrides: dict[str, Any]) -> Factor:
    evidence = {"deal_terms": deal.payment_terms, "crm_terms": deal.payment_terms_crm,
                "customer_terms_in_sap": inputs.customer_terms, "contract_reference": deal.contract_reference}
    if deal.contract_reference:
        return Factor("terms", "Terms", L.HIGH, f"custom legal terms (contract {deal.contract_reference})", evidence)
    if overrides.get("payment_terms"):
        return Factor("terms", "Terms", L.MEDIUM, f"{deal.payment_terms} set while resolving an exception", evidence)
    if inputs.customer_terms and deal.payment_terms and deal.payment_terms != inputs.customer_terms:
        return Factor("terms", "Terms", L.MEDIUM,
                      f"modified: {deal.payment_terms} instead of the customer's {inputs.customer_terms}", evidence)
    return Factor("terms", "Terms", L.LOW, f"standard ({deal.payment_terms or 'n/a'})", evidence)


def customer(deal: CanonicalDeal, rule: str, customer_exceptions: list[dict[str, Any]], s: Any) -> Factor:
    """Net new: SAP knew nobody like this customer when the deal arrived (a person created or
    mapped one). Existing, not mapped: a person had to pick the partner, the automatic match was
    weak, or the partner is not set up for a sales area. Otherwise existing and mapped."""
    org = deal.organization
    confidence = Decimal(str(org.match_confidence)) if org.match_confidence is not None else None
    evidence = {"business_partner": org.sap_business_partner, "rule": rule,
                "confidence": confidence, "exceptions": customer_exceptions}
    if any(not e.get("candidates") for e in customer_exceptions):
        return Factor("customer", "Customer", L.HIGH, f"net new ({org.sap_business_partner})", evidence)
    if customer_exceptions:
        return Factor("customer", "Customer", L.MEDIUM, f"existing, mapped by hand ({org.sap_business_partner})",
                      evidence)
    if confidence is not None and confidence < Decimal(s.mapped_confidence):
        return Factor("customer", "Customer", L.MEDIUM, f"existing, weak match {confidence}", evidence)
    if "no sales area" in rule:
        return Factor("customer", "Customer", L.MEDIUM, "existing, no sales area in SAP", evidence)
    return Factor("customer", "Customer", L.LOW, f"existing, mapped ({org.sap_business_partner})", evidence)


def risk_score(*, deal: CanonicalDeal, rule: str, inputs: RiskInputs, overrides: dict[str, Any],
               customer_exceptions: list[dict[str, Any]], settings: Any) -> tuple[str, list[Factor]]:
    factors = [deal_value(deal, settings), discount_depth(deal, settings), customer_credit(inputs, settings),
               terms(deal, inputs, overrides), customer(deal, rule, customer_exceptions, settings)]
    level = max((f.level for f in factors), key=LEVEL_RANK.__getitem__)
    return level, factors


# -- reads (outside any transaction) ---------------------------------------------------------------
def _days_past_due(item: OpenItem, today: date) -> int:
    return (today - (item.due_date or today)).days


def risk_inputs_read(deal: CanonicalDeal, *, erp: ErpPort, crm: CrmPort, today: date, known: Any = None) -> RiskInputs:
    """Every read is best effort: a failed one is noted and scored conservatively, never fatal.

    `known` (the validation result) carries what validation already read from the ERP — customer,
    credit standing, open items — and the canonical deal carries the owner; those are not read again.
    """

    inputs = RiskInputs()
    bp = deal.organization.sap_business_partner
    known_items = getattr(known, "open_items", None)
    known_account = getattr(known, "credit_account", None)
    known_partner = getattr(known, "partner", None)
    try:
        items = known_items if known_items is not None else erp.open_items(bp)
        inputs.open_items = [(item.amount, _days_past_due(item, today)) for item in items]
        account = known_account if known_account is not None else erp.credit_get(bp)
        if account:
            inputs.credit_limit = account.limit
            inputs.credit_currency = account.currency
    except HubError as error:
        inputs.open_items = None
        inputs.read_errors.append(f"AR aging: {error}")
    try:
        partner = known_partner if known_partner is not None else erp.customer_get(bp)
        org = deal.organization
        inputs.customer_terms = partner.terms_in(org.sales_organization, org.distribution_channel) or None
    except HubError as error:
        inputs.read_errors.append(f"customer terms: {error}")
    try:
        inputs.past_orders = [
            {"sales_order": o.number, "date": o.created_on, "net_amount": o.net_amount, "currency": o.currency,
             "reference": o.deal_key, "delivery_block": o.delivery_block}
            for o in erp.customer_orders(bp, top=10)
        ]
    except HubError as error:
        inputs.read_errors.append(f"past orders: {error}")
    if deal.owner_email or deal.owner_name:
        inputs.owner_email, inputs.owner_name = deal.owner_email, deal.owner_name
    else:
        try:
            owner = crm.deal_owner(deal.opportunity_id)
            inputs.owner_email, inputs.owner_name = owner.email, owner.name
        except HubError as error:
            inputs.read_errors.append(f"deal owner: {error}")
    if inputs.read_errors:
        logger.warning("risk inputs for %s incomplete: %s", deal.opportunity_id, inputs.read_errors)
    return inputs
