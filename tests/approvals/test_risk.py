"""Each factor at each band boundary (pure scoring, default thresholds)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from approvals import risk
from approvals.models import RiskSettings
from integration_hub.canonical import CanonicalDeal, LineItem, Location, Organization, Person

S = RiskSettings()  # defaults, unsaved: 50K/250K, 10/25 %, 30/60 days, materiality 20 %


def _deal(amount="1000", discount="0", terms="NT30", contract="", confidence=0.99) -> CanonicalDeal:
    line = LineItem("00k1", "SKU-1", "Widget", Decimal("1"), Decimal(amount), Decimal(discount), Decimal(amount))
    org = Organization("Acme", "001A", sap_business_partner="1000001", match_confidence=confidence,
                       sales_organization="1710", distribution_channel="10")
    return CanonicalDeal("00D", "006A", "Acme deal", "Closed Won", Decimal(amount), "USD", None, org, Location(),
                         Person(), [line], payment_terms=terms, contract_reference=contract)


@pytest.mark.parametrize(("amount", "level"), [
    ("49999.99", "low"), ("50000", "medium"), ("250000", "medium"), ("250000.01", "high")])
def test_it_bands_the_deal_value(amount, level):
    assert risk.deal_value(_deal(amount=amount), S).level == level


@pytest.mark.parametrize(("discount", "level"), [("9.99", "low"), ("10", "medium"), ("25", "medium"), ("25.01", "high")])
def test_it_bands_the_discount_depth(discount, level):
    assert risk.discount_depth(_deal(discount=discount), S).level == level


@pytest.mark.parametrize(("days", "level"), [(29, "low"), (30, "medium"), (60, "medium"), (61, "high")])
def test_it_bands_the_customer_credit_by_days_past_due(days, level):
    inputs = risk.RiskInputs(open_items=[(Decimal("30000"), days), (Decimal("5000"), -10)],
                             credit_limit=Decimal("100000"))
    factor = risk.customer_credit(inputs, S)
    assert factor.level == level
    assert factor.evidence["oldest_days_past_due"] == days


def test_it_ignores_an_immaterial_old_invoice():
    inputs = risk.RiskInputs(open_items=[(Decimal("19999.99"), 95)], credit_limit=Decimal("100000"))
    assert risk.customer_credit(inputs, S).level == "low"
    inputs = risk.RiskInputs(open_items=[(Decimal("20000"), 95)], credit_limit=Decimal("100000"))
    assert risk.customer_credit(inputs, S).level == "high"


def test_it_treats_unreadable_ar_as_medium_not_current():
    assert risk.customer_credit(risk.RiskInputs(open_items=None, read_errors=["timeout"]), S).level == "medium"


@pytest.mark.parametrize(("terms", "customer_terms", "contract", "overrides", "level"), [
    ("NT30", "NT30", "", {}, "low"),
    ("NT60", "NT30", "", {}, "medium"),
    ("NT30", "NT30", "", {"payment_terms": "NT30"}, "medium"),
    ("NT30", "NT30", "MSA-2024-17", {}, "high"),
])
def test_it_bands_the_terms(terms, customer_terms, contract, overrides, level):
    factor = risk.terms(_deal(terms=terms, contract=contract), risk.RiskInputs(customer_terms=customer_terms), overrides)
    assert factor.level == level


@pytest.mark.parametrize(("confidence", "exceptions", "rule", "level"), [
    (0.85, [], "matched by tax id", "low"),
    (0.849, [], "fuzzy name + address match", "medium"),
    (1.0, [], "partner has no sales area: hub default", "medium"),
    (1.0, [{"candidates": 3}], "customer crosswalk (manual)", "medium"),
    (1.0, [{"candidates": 0}], "customer crosswalk (manual)", "high"),
])
def test_it_bands_the_customer(confidence, exceptions, rule, level):
    assert risk.customer(_deal(confidence=confidence), rule, exceptions, S).level == level


def test_it_lets_the_highest_factor_decide():
    inputs = risk.RiskInputs(open_items=[], credit_limit=Decimal("100000"), customer_terms="NT30")
    level, factors = risk.risk_score(deal=_deal(amount="60000", discount="30"), rule="matched by tax id",
                                     inputs=inputs, overrides={}, customer_exceptions=[], settings=S)
    assert level == "high"
    assert {f.code: f.level for f in factors} == {"deal_value": "medium", "discount": "high", "credit": "low",
                                                  "terms": "low", "customer": "low"}
