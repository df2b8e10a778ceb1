from __future__ import annotations

from decimal import Decimal

from integration_hub.sandbox import catalog
from integration_hub.sandbox.sap import store
from integration_hub.sandbox.sap.seed import seed


def test_it_seeds_partners_products_prices_and_credit_idempotently(transactional_db: None) -> None:
    first = seed()
    again = seed()

    assert first == again
    organisations = store.rows("API_BUSINESS_PARTNER", "A_BusinessPartner", BusinessPartnerCategory="2")
    assert len(organisations) >= 200
    assert first["A_Product"] >= 90
    prices = store.rows("API_SLSPRICINGCONDITIONRECORD_SRV", "A_SlsPrcgCndnRecdValidity", ConditionType="PPR0")
    priced = {row["Material"] for row in prices}
    assert len(priced) == first["A_Product"]
    assert {row["SalesOrganization"] for row in prices} == {"1710", "1010", "2910"}
    areas = store.rows("API_BUSINESS_PARTNER", "A_CustomerSalesArea")
    assert len({(a["SalesOrganization"], a["DistributionChannel"]) for a in areas}) == len(catalog.SALES_AREAS)
    assert {a["CustomerPaymentTerms"] for a in areas} <= set(catalog.PAYMENT_TERMS)
    limits = store.rows("API_CRDTMBUSINESSPARTNER", "CreditManagementAccount")
    customers = [o for o in organisations if o["Customer"]]  # suppliers have no credit account
    assert len(customers) == len(organisations) - 4
    assert len(limits) == len(customers) and all(Decimal(a["CreditLimitAmount"]) > 0 for a in limits)
    assert first["A_OperationalAcctgDocItemCube"] > 200 and first["A_SalesOrder"] >= 3


def test_it_reseeds_from_scratch_on_reset(transactional_db: None) -> None:
    seed()
    store.delete("API_PRODUCT_SRV", "A_Product", Product="MAT-EL-001")

    counts = seed(reset=True)

    assert store.exists("API_PRODUCT_SRV", "A_Product", Product="MAT-EL-001")
    assert counts == seed()
