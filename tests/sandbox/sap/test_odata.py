"""The SAP sandbox speaks OData V2 as S/4HANA Cloud does: proven with pyodata and raw HTTP."""

from __future__ import annotations

import datetime
import logging

import pyodata
import pytest
import requests
from pyodata.exceptions import HttpError

from integration_hub.sandbox.sap import views
from integration_hub.sandbox.sap.entities import SERVICES

logging.getLogger("pyodata").setLevel(logging.ERROR)

ORDER = {
    "SalesOrderType": "OR",
    "SalesOrganization": "1710",
    "DistributionChannel": "10",
    "OrganizationDivision": "00",
    "SoldToParty": "17100002",
    "PurchaseOrderByCustomer": "PO-HTTP-1",
    "to_Item": {"results": [{"Material": "MAT-SK-001", "RequestedQuantity": "3"}]},
}


@pytest.fixture
def http(service_root: str) -> requests.Session:
    session = requests.Session()
    session.auth = ("sandbox", "sandbox")
    session.headers["Accept"] = "application/json"
    return session


def csrf(session: requests.Session, url: str) -> str:
    token = session.head(url, headers={"X-CSRF-Token": "Fetch"}).headers["x-csrf-token"]
    session.headers["X-CSRF-Token"] = token
    return token


def test_it_serves_metadata_pyodata_builds_clients_from(service_root: str, http: requests.Session) -> None:
    for name, service in SERVICES.items():
        response = http.get(f"{service_root}{name}/$metadata")
        assert response.headers["Content-Type"].startswith("application/xml")
        client = pyodata.Client(f"{service_root}{name}/", http)
        assert {s.name for s in client.schema.entity_sets} == {t.set_name for t in service.types}


def test_it_answers_pyodata_queries_with_filter_top_skip_and_inlinecount(service_root: str,
                                                                         http: requests.Session) -> None:
    client = pyodata.Client(f"{service_root}API_BUSINESS_PARTNER/", http)
    partners = client.entity_sets.A_BusinessPartner

    page = (partners.get_entities().filter("BusinessPartnerCategory eq '2'").select("BusinessPartner,SearchTerm1")
            .top(50).skip(10).count(inline=True).execute())
    acme = partners.get_entities().filter("substringof('Acme',BusinessPartnerFullName) eq true").execute()
    one = partners.get_entity("17100001").expand("to_BusinessPartnerAddress").execute()

    assert page.total_count >= 200 and len(page) == 50
    assert page[0].BusinessPartner == "17100011"
    assert "ACME Corporation" not in [p.BusinessPartnerFullName for p in acme]  # case-sensitive, as in SAP
    assert one.BusinessPartnerFullName == "ACME Corporation"
    assert one.to_BusinessPartnerAddress[0].CityName == "Phoenix"
    assert partners.get_entities().filter(BusinessPartnerCategory="2").count().execute() == page.total_count


def test_it_deep_inserts_a_sales_order_from_pyodata_after_a_csrf_fetch(service_root: str,
                                                                       http: requests.Session) -> None:
    url = f"{service_root}API_SALES_ORDER_SRV/"
    client = pyodata.Client(url, http)
    orders = client.entity_sets.A_SalesOrder
    request = orders.create_entity().set(
        SalesOrderType="OR", SalesOrganization="1710", DistributionChannel="10", OrganizationDivision="00",
        SoldToParty="17100002", PurchaseOrderByCustomer="PO-PYODATA-1",
        RequestedDeliveryDate=datetime.datetime(2027, 2, 1, tzinfo=datetime.UTC),
        to_Item=[{"SalesOrderItem": "10", "Material": "MAT-EL-001", "RequestedQuantity": "5"},
                 {"SalesOrderItem": "20", "Material": "MAT-PS-001", "RequestedQuantity": "1"}],
        to_Partner=[{"PartnerFunction": "SH", "Customer": "17100002"}],
    )
    with pytest.raises(HttpError) as refused:
        request.execute()
    assert refused.value.response.status_code == 403

    csrf(http, url)
    created = request.execute()

    assert created.SalesOrder.isdigit() and created.TotalNetAmount == "63600.00"
    read = orders.get_entity(created.SalesOrder).expand("to_Item,to_Partner").execute()
    assert [i.Material for i in read.to_Item] == ["MAT-EL-001", "MAT-PS-001"]
    assert read.RequestedDeliveryDate == datetime.datetime(2027, 2, 1, tzinfo=datetime.UTC)
    assert read.etag.startswith('W/"datetimeoffset')
    page = orders.get_entities().filter("PurchaseOrderByCustomer eq 'PO-PYODATA-1'").count(inline=True).execute()
    assert page.total_count == 1
    update = orders.update_entity(SalesOrder=created.SalesOrder)
    update.set(DeliveryBlockReason="01")
    update.add_headers({"If-Match": read.etag})
    update.execute()
    assert orders.get_entity(created.SalesOrder).execute().DeliveryBlockReason == "01"


def test_it_guards_writes_with_csrf_tokens_bound_to_the_session_cookie(service_root: str,
                                                                       http: requests.Session) -> None:
    url = f"{service_root}API_SALES_ORDER_SRV/"
    refused = http.post(f"{url}A_SalesOrder", json=ORDER)
    assert (refused.status_code, refused.headers["x-csrf-token"], refused.text) == (
        403, "Required", "CSRF token validation failed")

    token = csrf(http, url)
    assert csrf(http, url) == token  # the same session keeps its token
    other = requests.Session()
    other.auth = ("sandbox", "sandbox")
    assert other.post(f"{url}A_SalesOrder", json=ORDER, headers={"X-CSRF-Token": token}).status_code == 403

    created = http.post(f"{url}A_SalesOrder", json=ORDER)
    assert created.status_code == 201
    assert created.headers["Location"].endswith(f"A_SalesOrder('{created.json()['d']['SalesOrder']}')")
    assert created.headers["ETag"] == created.json()["d"]["__metadata"]["etag"]


def test_it_requires_basic_auth(service_root: str) -> None:
    assert requests.get(f"{service_root}API_PRODUCT_SRV/A_Product", timeout=5).status_code == 401
    assert requests.get(f"{service_root}API_PRODUCT_SRV/A_Product", auth=("sandbox", "nope"), timeout=5).status_code == 401


def test_it_addresses_entities_by_either_key_syntax_and_navigation(service_root: str, http: requests.Session) -> None:
    root = f"{service_root}API_SALES_ORDER_SRV/"
    positional = http.get(f"{root}A_SalesOrder('5000000')").json()["d"]
    named = http.get(f"{root}A_SalesOrder%28SalesOrder%3D%275000000%27%29").json()["d"]
    items = http.get(f"{root}A_SalesOrder('5000000')/to_Item").json()["d"]["results"]
    item = http.get(f"{root}A_SalesOrderItem(SalesOrder='5000000',SalesOrderItem='10')?sap-client=100").json()["d"]
    count = http.get(f"{root}A_SalesOrder('5000000')/to_Item/$count").text
    missing = http.get(f"{root}A_SalesOrder('4711')")

    assert positional == named
    assert positional["to_Item"] == {"__deferred": {"uri": f"{positional['__metadata']['uri']}/to_Item"}}
    assert positional["LastChangeDateTime"].endswith("+0000)/")
    assert [i["SalesOrderItem"] for i in items] == ["10", "20"] and count == "2"
    assert item["Material"] == items[0]["Material"]
    assert missing.status_code == 404 and missing.json()["error"]["message"]["lang"] == "en"


FILTERS = [
    ("startswith(OrganizationBPName1,'ACME') eq true", {"17100001", "17190001"}),  # and its near-duplicate
    ("SearchTerm1 eq 'ACME' and BusinessPartnerCategory eq '2'", {"17100001"}),
    ("substringof('acme corp',tolower(BusinessPartnerFullName)) eq true", {"17100001", "17190001"}),
    ("endswith(BusinessPartnerFullName,'Corporation') and startswith(BusinessPartner,'1710000')",
     {"17100001", "17100003", "17100005", "17100007", "17100009"}),
    ("not (BusinessPartnerCategory eq '2') and LastName eq 'Garcia' and FirstName eq 'Isla'", {"17300001", "17300205"}),
    ("CreationDate lt datetime'2023-02-01T00:00:00' and BusinessPartner eq '17100001'", {"17100001"}),
    ("CreationDate gt datetimeoffset'2023-02-01T00:00:00Z' and BusinessPartner eq '17100001'", set()),
    ("(BusinessPartner eq '17100001' or BusinessPartner eq '17100002') and BusinessPartner ne '17100002'",
     {"17100001"}),
]


def test_it_filters_with_operators_functions_and_typed_literals(service_root: str, http: requests.Session) -> None:
    for query, expected in FILTERS:
        response = http.get(f"{service_root}API_BUSINESS_PARTNER/A_BusinessPartner", params={"$filter": query})
        assert response.status_code == 200, response.text
        assert {p["BusinessPartner"] for p in response.json()["d"]["results"]} == expected, query


def test_it_filters_decimals_orders_selects_and_expands_nested_navigations(service_root: str,
                                                                           http: requests.Session) -> None:
    root = f"{service_root}API_SALES_ORDER_SRV/A_SalesOrder"
    response = http.get(root, params={"$filter": "TotalNetAmount gt 1000.5M", "$orderby": "TotalNetAmount desc",
                                      "$select": "SalesOrder,TotalNetAmount,to_Item",
                                      "$expand": "to_Item/to_PricingElement", "$inlinecount": "allpages"})
    body = response.json()["d"]
    amounts = [float(o["TotalNetAmount"]) for o in body["results"]]

    assert amounts == sorted(amounts, reverse=True) and all(a > 1000.5 for a in amounts)
    assert body["__count"] == str(len(amounts))
    assert set(body["results"][0]) == {"__metadata", "SalesOrder", "TotalNetAmount", "to_Item"}
    elements = body["results"][0]["to_Item"]["results"][0]["to_PricingElement"]["results"]
    assert elements[0]["ConditionType"] == "PPR0" and isinstance(elements[0]["ConditionAmount"], str)
    bad = http.get(root, params={"$filter": "NoSuchField eq 1"})
    assert bad.status_code == 400 and "NoSuchField" in bad.json()["error"]["message"]["value"]


def test_it_pages_long_collections_with_next_links(service_root: str, http: requests.Session, monkeypatch) -> None:
    monkeypatch.setattr(views, "PAGE_SIZE", 100)
    url = f"{service_root}API_BUSINESS_PARTNER/A_BusinessPartner"
    seen, pages = [], 0
    body = http.get(url, params={"$inlinecount": "allpages", "$select": "BusinessPartner"}).json()["d"]
    total = int(body["__count"])
    while True:
        pages += 1
        seen += [p["BusinessPartner"] for p in body["results"]]
        if "__next" not in body:
            break
        body = http.get(body["__next"]).json()["d"]
    assert len(seen) == len(set(seen)) == total and pages == -(-total // 100)


def test_it_keeps_a_failed_deep_insert_all_or_nothing(service_root: str, http: requests.Session) -> None:
    url = f"{service_root}API_SALES_ORDER_SRV/"
    csrf(http, url)
    before = http.get(f"{url}A_SalesOrder/$count").text
    bad = dict(ORDER, to_Item=[{"Material": "MAT-SK-001", "RequestedQuantity": "1"},
                               {"Material": "MAT-GHOST", "RequestedQuantity": "1"}])

    response = http.post(f"{url}A_SalesOrder", json=bad)

    error = response.json()["error"]
    assert response.status_code == 400
    assert error["message"]["value"] == "Material MAT-GHOST does not exist"
    assert error["innererror"]["errordetails"][0]["target"] == "to_Item(2)/Material"
    assert http.get(f"{url}A_SalesOrder/$count").text == before
    assert http.get(f"{url}A_SalesOrderItem", params={"$filter": "Material eq 'MAT-GHOST'"}).json()["d"]["results"] == []


def test_it_simulates_pricing_and_credit_without_saving(service_root: str, http: requests.Session) -> None:
    url = f"{service_root}API_SALES_ORDER_SIMULATION_SRV/"
    csrf(http, url)
    payload = dict(ORDER, to_Pricing={}, to_Credit={}, to_Item=[
        {"SalesOrderItem": "10", "Material": "MAT-TD-001", "RequestedQuantity": "2", "to_ScheduleLine": [],
         "to_PricingElement": [{"ConditionType": "DCM2", "ConditionRateValue": "-15"}]}])

    response = http.post(f"{url}A_SalesOrderSimulation", json=payload)

    body = response.json()["d"]
    assert response.status_code == 201 and response.headers["Location"].endswith("A_SalesOrderSimulation('')")
    assert "SLS_LORD/033" in response.headers["sap-message"]
    assert body["to_Pricing"]["TotalNetAmount"] == "3060.00"  # 2 x 1,800 less 15 %
    assert body["to_Credit"]["TotalCreditCheckStatus"] == "A"
    item = body["to_Item"]["results"][0]
    assert {e["ConditionType"]: e["ConditionAmount"] for e in item["to_PricingElement"]["results"]} == {
        "PPR0": "3600.00", "DCM2": "-540.00", "JR1": "0.00"}  # training is tax exempt
    assert item["to_ScheduleLine"]["results"][0]["ConfirmedDeliveryDate"].startswith("/Date(")
    orders = http.get(f"{service_root}API_SALES_ORDER_SRV/A_SalesOrder",
                      params={"$filter": "PurchaseOrderByCustomer eq 'PO-HTTP-1'"}).json()["d"]["results"]
    assert orders == []


def test_it_deep_creates_a_business_partner_as_customer(service_root: str, http: requests.Session) -> None:
    url = f"{service_root}API_BUSINESS_PARTNER/"
    csrf(http, url)
    response = http.post(f"{url}A_BusinessPartner", json={
        "BusinessPartnerCategory": "2", "OrganizationBPName1": "Fresh Start GmbH",
        "to_BusinessPartnerAddress": {"results": [{"Country": "DE", "CityName": "Walldorf", "PostalCode": "69190"}]},
        "to_BusinessPartnerRole": {"results": [{"BusinessPartnerRole": "FLCU01"}]},
        "to_BusinessPartnerTax": [{"BPTaxType": "DE0", "BPTaxNumber": "DE123456789"}],
        "to_Customer": {"to_CustomerSalesArea": [{"SalesOrganization": "1010", "DistributionChannel": "10",
                                                  "Division": "00", "CustomerPaymentTerms": "0002"}]},
    })
    assert response.status_code == 201, response.text
    number = response.json()["d"]["BusinessPartner"]

    read = http.get(f"{url}A_BusinessPartner('{number}')",
                    params={"$expand": "to_BusinessPartnerTax,to_Customer/to_CustomerSalesArea"}).json()["d"]
    assert read["SearchTerm1"] == "FRESH" and read["Customer"] == number
    assert read["to_Customer"]["to_CustomerSalesArea"]["results"][0]["Currency"] == "EUR"
    by_tax = http.get(f"{url}A_BusinessPartnerTaxNumber", params={"$filter": "BPTaxNumber eq 'DE123456789'"})
    assert [t["BusinessPartner"] for t in by_tax.json()["d"]["results"]] == [number]
    bad = http.post(f"{url}A_BusinessPartner", json={"BusinessPartnerCategory": "2", "Nonsense": "x"})
    assert bad.status_code == 400 and bad.json()["error"]["innererror"]["errordetails"][0]["propertyref"] == "Nonsense"


def test_it_requires_if_match_on_order_updates(service_root: str, http: requests.Session) -> None:
    url = f"{service_root}API_SALES_ORDER_SRV/"
    csrf(http, url)
    entity = f"{url}A_SalesOrder('5000000')"
    etag = http.get(entity).headers["ETag"]

    without = http.patch(entity, json={"DeliveryBlockReason": "01"})
    merged = http.request("MERGE", entity, json={"DeliveryBlockReason": "01"}, headers={"If-Match": etag})
    stale = http.patch(entity, json={"DeliveryBlockReason": "02"}, headers={"If-Match": etag})

    assert (without.status_code, merged.status_code, stale.status_code) == (428, 204, 412)
    assert merged.headers["ETag"] != etag and http.get(entity).json()["d"]["DeliveryBlockReason"] == "01"
    credit = f"{service_root}API_CRDTMBUSINESSPARTNER/"
    csrf(http, credit)
    account = f"{credit}CreditManagementAccount(BusinessPartner='17100001',CreditSegment='1000')"
    assert http.patch(account, json={"CreditLimitAmount": "75000.00"}).status_code == 204
    assert http.get(account).json()["d"]["CreditLimitAmount"] == "75000.00"


FAULTS = [
    ({"kind": "status", "status": 503}, 503, lambda r: r.json()["error"]["message"]["value"] == "Service unavailable"),
    ({"kind": "status", "status": 500}, 500, lambda r: "Technical error" in r.json()["error"]["message"]["value"]),
    ({"kind": "lock"}, 400, lambda r: r.json()["error"]["code"] == "V1/042"),
    ({"kind": "rate_limit", "retry_after": 12}, 429, lambda r: r.headers["Retry-After"] == "12"),
    ({"kind": "csrf_expiry"}, 403, lambda r: r.headers["x-csrf-token"] == "Required"),
]


def test_it_renders_faults_in_sap_wire_format(service_root: str, http: requests.Session) -> None:
    url = f"{service_root}API_SALES_ORDER_SRV/"
    csrf(http, url)
    for fault, status, check in FAULTS:
        armed = http.post(f"{service_root.split('/sap/')[0]}/_sandbox/faults",
                          json={**fault, "operation": "API_SALES_ORDER_SRV/A_SalesOrder:POST", "times": 1})
        assert armed.status_code == 201

        response = http.post(f"{url}A_SalesOrder", json=ORDER)

        assert response.status_code == status and check(response), fault
        if fault["kind"] == "csrf_expiry":
            csrf(http, url)
        assert http.post(f"{url}A_SalesOrder", json=ORDER).status_code == 201
