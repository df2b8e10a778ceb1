"""The SAP connector against the SAP sandbox over real HTTP."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integration_hub.connectors import sap as sap_connector
from integration_hub.connectors.base import CallRecord
from integration_hub.connectors.sap import SapClient
from integration_hub.errors import (
    AmbiguousOutcome,
    AuthenticationFailed,
    CsrfTokenExpired,
    DocumentLocked,
    NotFound,
    PreconditionRequired,
    RateLimited,
    ServiceUnavailable,
    StaleETag,
    TransientError,
    ValidationFailed,
)
from integration_hub.sandbox import catalog
from integration_hub.sandbox.faults import fault_add
from integration_hub.sandbox.sap.seed import seed
from integration_hub.sandbox.server import RunningSandbox

ACME = "17100001"  # ACME Corporation, 1710/10, NT30, K007 -3 %, limit 50,000 USD, 6,250 open AR


@pytest.fixture
def service_root(sap_sandbox: RunningSandbox) -> str:
    seed()
    return f"{sap_sandbox.url}/sap/opu/odata/sap/"


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
def sap(service_root: str, settings, records: list[CallRecord]) -> Iterator[SapClient]:
    settings.SAP_BASE_URL = service_root
    settings.SAP_USER = "sandbox"
    settings.SAP_PASSWORD = "sandbox"
    settings.SAP_TIMEOUT = 10
    client = SapClient.from_settings(recorder=records.append)
    yield client
    client.close()


def order(po: str, *items: tuple[str, str], sold_to: str = ACME, **header: object) -> dict[str, object]:
    return {
        "SalesOrderType": "OR",
        "SalesOrganization": "1710",
        "DistributionChannel": "10",
        "OrganizationDivision": "00",
        "SoldToParty": sold_to,
        "PurchaseOrderByCustomer": po,
        "RequestedDeliveryDate": datetime(2026, 12, 15, tzinfo=UTC),
        "to_Item": [{"Material": material, "RequestedQuantity": Decimal(qty)} for material, qty in items],
        **header,
    }


def test_it_creates_an_order_and_finds_it_by_customer_reference(sap: SapClient) -> None:
    payload = order("SF-0061-A", ("MAT-SK-001", "4"), ("MAT-IS-001", "10"))
    payload["to_Item"][0]["to_PricingElement"] = [{"ConditionType": "DCM2", "ConditionRateValue": Decimal("-10")}]
    payload["to_Partner"] = [{"PartnerFunction": "SH", "Customer": ACME}, {"PartnerFunction": "CP", "ContactPerson": "17300001"}]
    payload["to_PricingElement"] = [{"ConditionType": "K007", "ConditionRateValue": Decimal("-5")}]

    created = sap.create_sales_order(payload)

    assert created["SalesOrder"].isdigit()
    assert created["etag"].startswith('W/"datetimeoffset')
    # 4 x 390 = 1560 -5% K007 -10% DCM2 = 1326; 10 h x 225 = 2250 -5% = 2137.50
    assert created["TotalNetAmount"] == Decimal("3463.50")
    assert created["TotalCreditCheckStatus"] == "A"
    found = sap.find_sales_orders("SF-0061-A")
    assert [o["SalesOrder"] for o in found] == [created["SalesOrder"]]
    assert [(i["Material"], i["RequestedQuantity"]) for i in found[0]["to_Item"]] == [
        ("MAT-SK-001", Decimal("4")), ("MAT-IS-001", Decimal("10"))]
    assert {p["PartnerFunction"] for p in found[0]["to_Partner"]} >= {"SP", "SH", "CP"}
    assert isinstance(found[0]["CreationDate"], datetime) and found[0]["CreationDate"].tzinfo is not None
    full = sap.get_sales_order(created["SalesOrder"])
    conditions = {e["ConditionType"]: e["ConditionAmount"] for e in full["to_Item"][0]["to_PricingElement"]}
    assert conditions["PPR0"] == Decimal("1560.00") and conditions["DCM2"] == Decimal("-156.00")


def test_it_rejects_an_order_with_an_unknown_material_and_saves_nothing(sap: SapClient) -> None:
    with pytest.raises(ValidationFailed) as caught:
        sap.create_sales_order(order("SF-0062", ("MAT-SK-001", "1"), ("MAT-NOPE-999", "2")))

    assert "MAT-NOPE-999" in str(caught.value)
    assert caught.value.body["material"] == "MAT-NOPE-999"
    assert caught.value.code == "M3/305" and caught.value.status == 400
    assert sap.find_sales_orders("SF-0062") == []


def test_it_rejects_unknown_payment_terms_and_a_sold_to_outside_the_sales_area(sap: SapClient) -> None:
    with pytest.raises(ValidationFailed, match="Terms of payment NT99"):
        sap.create_sales_order(order("SF-0063", ("MAT-SK-001", "1"), CustomerPaymentTerms="NT99"))
    with pytest.raises(ValidationFailed, match="not maintained for sales area 2910 10 00"):
        sap.create_sales_order(order("SF-0063", ("MAT-SK-001", "1"), SalesOrganization="2910"))
    payload = order("SF-0063", ("MAT-SK-001", "1"))
    del payload["SoldToParty"]
    with pytest.raises(ValidationFailed) as caught:
        sap.create_sales_order(payload)
    assert "SoldToParty" in caught.value.body["fields"]
    assert sap.find_sales_orders("SF-0063") == []


def test_it_finds_business_partners_by_a_crm_name_variant_and_by_tax_number(sap: SapClient) -> None:
    acme = catalog.companies()[0]

    by_name = sap.search_business_partners(name=acme.crm_name)  # "Acme Corp"
    by_tax = sap.search_business_partners(tax_number=acme.tax_id)

    assert acme.business_partner in [bp["BusinessPartner"] for bp in by_name]
    assert all(bp["BusinessPartnerCategory"] == "2" for bp in by_name)
    assert [bp["BusinessPartner"] for bp in by_tax] == [acme.business_partner]
    assert by_tax[0]["BusinessPartnerFullName"] == "ACME Corporation"
    partner = sap.get_business_partner(acme.business_partner)
    assert partner["to_BusinessPartnerTax"][0]["BPTaxNumber"] == acme.tax_id
    assert partner["to_BusinessPartnerAddress"][0]["CityName"] == acme.city
    areas = partner["to_Customer"]["to_CustomerSalesArea"]
    assert ("1710", "10", "NT30") in {(a["SalesOrganization"], a["DistributionChannel"], a["CustomerPaymentTerms"]) for a in areas}
    with pytest.raises(NotFound):
        sap.get_business_partner("99999999")


def test_it_creates_a_business_partner_that_can_then_be_ordered_for(sap: SapClient) -> None:
    created = sap.create_business_partner(
        name="Brand New Widgets LLC", country="US", street="Main Street", house_number="1", postal_code="62701",
        city="Springfield", region="IL", tax_number="12-3456789",
        sales_areas=[{"SalesOrganization": "1710", "DistributionChannel": "10", "Division": "00",
                      "CustomerPaymentTerms": "NT45"}],
    )

    assert created["Customer"] == created["BusinessPartner"]
    assert sap.search_business_partners(tax_number="123456789")[0]["BusinessPartner"] == created["BusinessPartner"]
    order_for_new = sap.create_sales_order(order("SF-NEW-1", ("MAT-PL-001", "1"), sold_to=created["BusinessPartner"]))
    assert order_for_new["CustomerPaymentTerms"] == "NT45"


def test_it_reads_prices_credit_limit_open_items_and_a_simulation(sap: SapClient) -> None:
    prices = sap.get_prices(["MAT-EL-001", "MAT-SK-001", "MAT-UNKNOWN"], "1710", "10")
    eur = sap.get_prices(["MAT-EL-001"], "1010", "10")
    credit = sap.get_credit_account(ACME)
    items = sap.get_open_items(ACME)
    simulation = sap.simulate_sales_order(order("SIM-1", ("MAT-EL-001", "2"), ("MAT-SK-001", "3")))

    assert prices["MAT-EL-001"]["price"] == Decimal("12000.00") and prices["MAT-EL-001"]["currency"] == "USD"
    assert "MAT-UNKNOWN" not in prices
    assert eur["MAT-EL-001"] == {**eur["MAT-EL-001"], "price": Decimal("11040.00"), "currency": "EUR"}
    assert credit is not None and credit["credit_limit"] == Decimal("50000.00") and credit["currency"] == "USD"
    assert credit["blocked"] is False
    acme = catalog.companies()[0]
    assert sorted(i["AmountInTransactionCurrency"] for i in items) == sorted(a for a, _ in acme.open_items)
    assert all(i["NetDueDate"].tzinfo is not None for i in items)
    # 2 x 12,000 + 3 x 390 = 25,170 less ACME's 3 % K007 customer discount
    assert simulation["total_net_amount"] == Decimal("24414.90")
    assert simulation["credit_status"] == "A"
    assert [i["net_amount"] for i in simulation["items"]] == [Decimal("23280.00"), Decimal("1134.90")]
    assert {e["ConditionType"] for e in simulation["items"][0]["pricing_elements"]} >= {"PPR0", "K007", "JR1"}
    assert sap.find_sales_orders("SIM-1") == []


def test_it_applies_customer_discounts_and_blocks_credit_over_the_limit(sap: SapClient) -> None:
    customer, percent = catalog.customer_discounts()[0]
    company = next(c for c in catalog.companies() if c.business_partner == customer)
    area = company.sales_area
    discounted = sap.get_prices(["MAT-EL-001"], area.sales_organization, area.distribution_channel, customer=customer)
    assert discounted["MAT-EL-001"]["customer_discount_percent"] == percent

    # ACME: 50,000 limit, 6,250 open AR; 4 racks at 8,900 less 3 % = 34,532 fits, a second one does not
    first = sap.create_sales_order(order("SF-CR-1", ("MAT-RS-001", "4")))
    second = sap.create_sales_order(order("SF-CR-2", ("MAT-RS-001", "4")))
    assert first["TotalCreditCheckStatus"] == "A"
    assert second["TotalCreditCheckStatus"] == "B"
    assert sap.simulate_sales_order(order("SIM-CR", ("MAT-SK-001", "1")))["credit_status"] == "B"


def test_it_refreshes_an_expired_csrf_token_once(sap: SapClient, records: list[CallRecord]) -> None:
    sap.create_sales_order(order("SF-CSRF-0", ("MAT-SK-001", "1")))  # token fetched and in use
    fault_add(system="sap", kind="csrf_expiry", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", times=1)
    records.clear()

    created = sap.create_sales_order(order("SF-CSRF-1", ("MAT-SK-001", "1")))

    assert created["SalesOrder"]
    assert [(r.operation, r.status) for r in records] == [
        ("create:A_SalesOrder", 403), ("csrf_fetch:API_SALES_ORDER_SRV", 200), ("create:A_SalesOrder", 201)]
    assert records[0].error_class == "CsrfTokenExpired"
    fault_add(system="sap", kind="csrf_expiry", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", times=2)
    with pytest.raises(CsrfTokenExpired):
        sap.create_sales_order(order("SF-CSRF-2", ("MAT-SK-001", "1")))
    assert sap.find_sales_orders("SF-CSRF-2") == []


def test_it_enforces_etags_when_updating_an_order(sap: SapClient) -> None:
    number = sap.create_sales_order(order("SF-ETAG", ("MAT-SK-001", "1")))["SalesOrder"]
    etag = sap.get_sales_order(number, expand=False)["etag"]

    with pytest.raises(PreconditionRequired):
        sap.update_sales_order(number, {"DeliveryBlockReason": "01"}, etag=None)
    new_etag = sap.update_sales_order(number, {"DeliveryBlockReason": "01"}, etag=etag)
    with pytest.raises(StaleETag):
        sap.update_sales_order(number, {"HeaderBillingBlockReason": "02"}, etag=etag)

    current = sap.get_sales_order(number, expand=False)
    assert new_etag == current["etag"] != etag
    assert (current["DeliveryBlockReason"], current["HeaderBillingBlockReason"]) == ("01", "")
    with pytest.raises(ValidationFailed, match="NT99"):
        sap.update_sales_order(number, {"CustomerPaymentTerms": "NT99"}, etag=new_etag)


FAULTS = [
    ({"kind": "status", "status": 503}, "API_SALES_ORDER_SRV/A_SalesOrder:POST", "create", ServiceUnavailable, None),
    ({"kind": "status", "status": 500}, "API_BUSINESS_PARTNER/A_BusinessPartner:GET", "search", ServiceUnavailable, None),
    ({"kind": "rate_limit", "retry_after": 7}, "API_SALES_ORDER_SRV/A_SalesOrder:POST", "create", RateLimited,
     lambda e: e.retry_after == 7),
    ({"kind": "lock"}, "API_SALES_ORDER_SRV/A_SalesOrder:POST", "create", DocumentLocked,
     lambda e: "currently being processed" in str(e)),
    ({"kind": "stale_etag"}, "API_SALES_ORDER_SRV/A_SalesOrder:PATCH", "update", StaleETag, None),
    ({"kind": "drop"}, "API_PRODUCT_SRV/A_Product:GET", "product", ServiceUnavailable, None),
]


def test_it_maps_each_fault_to_the_right_error(sap: SapClient) -> None:
    number = sap.create_sales_order(order("SF-FAULT-0", ("MAT-SK-001", "1")))["SalesOrder"]
    etag = sap.get_sales_order(number, expand=False)["etag"]
    calls = {
        "create": lambda: sap.create_sales_order(order("SF-FAULT-1", ("MAT-SK-001", "1"))),
        "search": lambda: sap.search_business_partners(name="Globex"),
        "update": lambda: sap.update_sales_order(number, {"DeliveryBlockReason": "01"}, etag=etag),
        "product": lambda: sap.get_product("MAT-SK-001"),
    }
    for fault, operation, call, error, check in FAULTS:
        fault_add(system="sap", operation=operation, times=1, **fault)

        with pytest.raises(error) as caught:
            calls[call]()

        assert caught.value.system == "sap"
        assert isinstance(caught.value, TransientError)
        assert check is None or check(caught.value), fault
        result = calls[call]()  # the fault fired once; the next call goes through
        if call == "update":
            etag = result


def test_it_reports_an_ambiguous_outcome_when_the_create_response_is_dropped(sap: SapClient) -> None:
    fault_add(system="sap", kind="drop", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", times=1)

    with pytest.raises(AmbiguousOutcome):
        sap.create_sales_order(order("SF-DROP-1", ("MAT-SK-001", "1")))

    found = sap.find_sales_orders("SF-DROP-1")
    assert len(found) == 1 and found[0]["SoldToParty"] == ACME


def test_it_rejects_bad_credentials_and_an_unreachable_host(service_root: str) -> None:
    bad = SapClient(base_url=service_root, user="sandbox", password="wrong", timeout=5)
    with pytest.raises(AuthenticationFailed):
        bad.get_product("MAT-SK-001")
    with pytest.raises(AuthenticationFailed):
        bad.create_sales_order(order("SF-AUTH", ("MAT-SK-001", "1")))

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    down = SapClient(base_url=f"http://127.0.0.1:{port}/sap/opu/odata/sap/", user="u", password="p", timeout=2)
    with pytest.raises(ServiceUnavailable):
        down.create_sales_order(order("SF-DOWN", ("MAT-SK-001", "1")))


def test_it_records_every_call_without_secrets(sap: SapClient, records: list[CallRecord]) -> None:
    fault_add(system="sap", kind="csrf_expiry", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", times=1)
    sap.create_sales_order(order("SF-REC-1", ("MAT-SK-001", "1")))
    with pytest.raises(ValidationFailed):
        sap.create_sales_order(order("SF-REC-2", ("MAT-NOPE", "1")))

    token = sap._tokens["API_SALES_ORDER_SRV"]
    cookie = next(iter(sap.session.cookies.values()))
    dump = json.dumps([r.__dict__ for r in records], default=str)
    assert "sandbox" not in dump.replace("sandbox_", "")  # neither the password nor Basic credentials
    assert "c2FuZGJveDpzYW5kYm94" not in dump
    assert token not in dump and cookie not in dump
    operations = [r.operation for r in records]
    assert operations.count("csrf_fetch:API_SALES_ORDER_SRV") == 2
    assert [r.error_class for r in records if r.operation == "create:A_SalesOrder"] == [
        "CsrfTokenExpired", "", "ValidationFailed"]
    assert all(r.system == "sap" and r.duration_ms >= 0 for r in records)
    assert any(r.status == 201 and r.response_body["d"]["PurchaseOrderByCustomer"] == "SF-REC-1" for r in records)


def test_it_reads_a_product_and_creates_a_price_condition(sap: SapClient) -> None:
    product = sap.get_product("MAT-EG-001")
    assert product is not None and product["BaseUnit"] == "PC"
    assert product["to_Description"][0]["ProductDescription"] == "Edge Gateway G2"
    assert {s["ProductSalesOrg"] for s in product["to_SalesDelivery"]} == {"1710", "1010", "2910"}
    assert sap.get_product("MAT-DOES-NOT-EXIST") is None

    record = sap.create_price_condition(material="MAT-EG-001", price=Decimal("1299.00"), currency="USD",
                                        sales_organization="1710", distribution_channel="10", customer=ACME, unit="PC")

    assert record["ConditionRecord"]
    assert sap.get_prices(["MAT-EG-001"], "1710", "10", customer=ACME)["MAT-EG-001"]["price"] == Decimal("1299.00")
    assert sap.get_prices(["MAT-EG-001"], "1710", "10")["MAT-EG-001"]["price"] == Decimal("1450.00")
    created = sap.create_sales_order(order("SF-CUSTPRICE", ("MAT-EG-001", "2")))
    assert created["TotalNetAmount"] == Decimal("2520.06")  # 2 x 1,299 less 3 % K007


def test_it_sends_sap_client_on_every_call_when_configured(service_root: str, records: list[CallRecord]) -> None:
    client = SapClient(base_url=service_root, user="sandbox", password="sandbox", client="100", recorder=records.append)

    client.create_sales_order(order("SF-CLIENT-1", ("MAT-SK-001", "1")))
    client.find_sales_orders("SF-CLIENT-1")

    assert records and all("sap-client=100" in r.url for r in records)



def test_a_new_worker_process_takes_a_services_metadata_from_the_shared_cache(
        sap: SapClient, records: list[CallRecord], monkeypatch: pytest.MonkeyPatch) -> None:
    """$metadata is fetched once for all the workers, not once per process: a process started
    later (its own type table empty) reads the types from the shared cache."""
    monkeypatch.setattr(sap_connector, "_TYPES", {})
    first = sap.get_business_partner(ACME)
    assert [r.operation for r in records if r.operation.startswith("metadata:")] == ["metadata:API_BUSINESS_PARTNER"]
    monkeypatch.setattr(sap_connector, "_TYPES", {})  # another process: nothing of its own yet
    records.clear()
    assert sap.get_business_partner(ACME) == first  # the same typed values
    assert [r.operation for r in records] == ["read:A_BusinessPartner"]  # and no second $metadata
