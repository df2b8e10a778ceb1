from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from integration_hub.sandbox import catalog
from integration_hub.sandbox.netsuite.models import NsRecord

OPPORTUNITY = "0065g00000XyZ1AAA"


def _order(customer: str = "1001", **extra: object) -> dict[str, object]:
    license_item, gateway = catalog.netsuite_items()[0], catalog.netsuite_items()[6]
    return {"entity": {"id": customer}, "otherRefNum": OPPORTUNITY, "item": {"items": [
        {"item": {"id": license_item.internal_id}, "quantity": 2},
        {"item": {"id": gateway.internal_id}, "quantity": 3,
         "rate": 1400.0},
    ]}, **extra}


def test_it_creates_a_customer_with_204_and_the_id_only_in_location(ns):
    response = ns.request("POST", "customer", json={
        "companyName": "Northwind Traders Ltd", "externalId": "SF-ACC-001", "subsidiary": {"id": "2"},
        "vatRegNumber": "GB123456789", "terms": {"id": "5"}})
    assert response.status_code == 204
    assert response.content == b""
    assert response.headers["Location"].startswith(f"{ns.url}/services/rest/record/v1/customer/")
    new_id = ns.created_id(response)
    by_id = ns.get(f"customer/{new_id}").json()
    by_eid = ns.get("customer/eid:SF-ACC-001").json()
    assert by_id == by_eid
    assert by_id["companyName"] == "Northwind Traders Ltd"
    assert by_id["currency"]["refName"] == "Canadian Dollar"  # the subsidiary's base currency
    assert by_id["terms"] == {"links": by_id["terms"]["links"], "id": "5", "refName": "Net 30"}
    assert by_id["entityId"].startswith("CUS")


def test_it_reads_a_seeded_customer_with_credit_limit_open_balance_and_address(ns):
    seeded = catalog.netsuite_customers()[0]
    customer = ns.get(f"customer/{seeded.internal_id}?expandSubResources=true").json()
    assert customer["companyName"] == seeded.company_name
    assert customer["creditLimit"] == float(seeded.credit_limit)
    assert customer["balance"] == float(sum(amount for amount, _ in seeded.open_invoices))
    address = customer["addressBook"]["items"][0]["addressBookAddress"]
    assert address["country"]["id"] == "GB"
    collapsed = ns.get(f"customer/{seeded.internal_id}").json()
    assert set(collapsed["addressBook"]) == {"links"}


def test_it_prices_order_lines_from_the_customers_price_level_and_names_the_order(ns):
    customer = next(c for c in catalog.netsuite_customers() if c.price_level == "2" and c.currency == "CAD")
    license_item = catalog.netsuite_items()[0]
    order_id = ns.created_id(ns.request("POST", "salesOrder", json=_order(customer.internal_id)))
    order = ns.get(f"salesOrder/{order_id}?expandSubResources=true").json()
    assert order["tranId"].startswith("SO")
    lines = order["item"]["items"]
    assert lines[0]["rate"] == float(license_item.price("CAD", "2"))
    assert lines[0]["amount"] == float(license_item.price("CAD", "2") * 2)
    assert lines[1]["rate"] == 1400.0
    assert order["total"] == lines[0]["amount"] + 4200.0
    assert order["currency"]["id"] == "3"
    assert order["orderStatus"] == {"id": "B", "refName": "Pending Fulfillment"}


def test_it_upserts_a_sales_order_by_external_id_idempotently(ns):
    first = ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=_order())
    second = ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=_order())
    assert first.status_code == second.status_code == 204
    assert first.headers["Location"] == second.headers["Location"]
    assert NsRecord.objects.filter(record_type="salesOrder").count() == 1
    order = ns.get(f"salesOrder/eid:{OPPORTUNITY}?expandSubResources=true").json()
    assert order["externalId"] == OPPORTUNITY
    assert order["item"]["count"] == 2  # repeated, not appended


def test_it_creates_one_order_when_the_same_upsert_races_itself(ns):
    def put(_: int) -> int:
        client = type(ns)(ns.url)
        return client.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=_order()).status_code
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(put, range(4)))
    assert statuses == [204] * 4
    assert NsRecord.objects.filter(record_type="salesOrder", external_id=OPPORTUNITY).count() == 1


def test_it_patches_one_line_and_appends_new_ones(ns):
    order_id = ns.created_id(ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=_order()))
    extra_item = catalog.netsuite_items()[1]
    response = ns.request("PATCH", f"salesOrder/{order_id}", json={"memo": "rush", "item": {"items": [
        {"line": 2, "quantity": 5}, {"item": {"id": extra_item.internal_id}, "quantity": 1, "rate": 10}]}})
    assert response.status_code == 204
    order = ns.get(f"salesOrder/{order_id}?expandSubResources=true").json()
    assert order["memo"] == "rush"
    assert [(line["line"], line["quantity"]) for line in order["item"]["items"]] == [(1, 2.0), (2, 5.0), (3, 1.0)]
    assert order["item"]["items"][1]["amount"] == 7000.0


def test_it_refuses_bad_references_values_and_missing_fields_with_netsuite_errors(ns):
    missing = ns.request("POST", "salesOrder", json={"item": {"items": [{"item": {"id": "501"}, "quantity": 1}]}})
    assert missing.status_code == 400
    detail = missing.json()["o:errorDetails"][0]
    assert (detail["o:errorCode"], detail["o:errorPath"]) == ("USER_ERROR", "entity")
    assert "Please enter value(s) for: Customer" in detail["detail"]
    bad_ref = ns.request("POST", "salesOrder", json={"entity": {"id": "eid:nobody"},
                                                      "item": {"items": [{"item": {"id": "501"}, "quantity": 1}]}})
    assert bad_ref.json()["o:errorDetails"][0]["o:errorCode"] == "INVALID_KEY_OR_REF"
    bad_item = ns.request("POST", "salesOrder", json=_order() | {"item": {"items": [{"item": {"id": "99999"},
                                                                                     "quantity": 1}]}})
    assert bad_item.json()["o:errorDetails"][0]["o:errorPath"] == "item.items[0].item"
    bad_value = ns.request("POST", "salesOrder", json=_order() | {"tranDate": "15/01/2025"})
    body = bad_value.json()
    assert set(body) == {"type", "title", "status", "o:errorDetails"}
    assert (body["status"], body["o:errorDetails"][0]["o:errorCode"]) == (400, "INVALID_FLD_VALUE")
    assert NsRecord.objects.filter(record_type="salesOrder").count() == 0
    assert ns.get("salesOrder/4242").json()["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"
    assert ns.get("salesOrder/4242").status_code == 404
    assert ns.get("opportunity/1").status_code == 404


def test_it_ignores_unknown_fields_unless_told_to_validate_names(ns):
    body = _order() | {"notAField": 1}
    assert ns.request("POST", "salesOrder", json=body).status_code == 204
    strict = ns.request("POST", "salesOrder", json=body, headers={"X-NetSuite-PropertyNameValidation": "Error"})
    assert strict.status_code == 400
    assert strict.json()["o:errorDetails"][0]["o:errorPath"] == "notAField"


def test_it_refuses_put_without_an_external_id_and_a_duplicate_external_id_on_post(ns):
    assert ns.request("PUT", "salesOrder/12", json=_order()).status_code == 400
    assert ns.request("POST", "salesOrder", json=_order(externalId="X-1")).status_code == 204
    duplicate = ns.request("POST", "salesOrder", json=_order(externalId="X-1"))
    assert duplicate.status_code == 400
    assert NsRecord.objects.filter(record_type="salesOrder").count() == 1


def test_it_transforms_an_order_into_an_invoice_of_what_is_billable(ns):
    order_id = ns.created_id(ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=_order()))
    # Only the licence line (non-inventory) is billable before the gateways ship.
    invoice_id = ns.created_id(ns.request("POST", f"salesOrder/{order_id}/!transform/invoice", json={}))
    invoice = ns.get(f"invoice/{invoice_id}?expandSubResources=true").json()
    assert invoice["createdFrom"]["id"] == order_id
    assert [line["orderLine"] for line in invoice["item"]["items"]] == [1]
    assert invoice["amountRemaining"] == invoice["total"]
    assert invoice["status"]["id"] == "Open"
    again = ns.request("POST", f"salesOrder/{order_id}/!transform/invoice", json={})
    assert again.status_code == 400  # nothing left to bill until the gateways ship
    ns.created_id(ns.request("POST", f"salesOrder/{order_id}/!transform/itemFulfillment"))
    ns.created_id(ns.request("POST", f"salesOrder/{order_id}/!transform/invoice"))
    order = ns.get(f"salesOrder/{order_id}").json()
    assert order["orderStatus"] == {"id": "G", "refName": "Billed"}


def test_it_deletes_an_order_only_while_nothing_depends_on_it(ns):
    order_id = ns.created_id(ns.request("POST", "salesOrder", json=_order()))
    ns.created_id(ns.request("POST", f"salesOrder/{order_id}/!transform/invoice"))
    assert ns.request("DELETE", f"salesOrder/{order_id}").status_code == 400
    other = ns.created_id(ns.request("POST", "salesOrder", json=_order()))
    assert ns.request("DELETE", f"salesOrder/{other}").status_code == 204
    assert ns.get(f"salesOrder/{other}").status_code == 404


def test_it_pages_a_record_collection(ns):
    first = ns.get("customer?limit=10&offset=0").json()
    assert (first["count"], first["hasMore"], first["totalResults"]) == (10, True, len(catalog.netsuite_customers()))
    assert any(link["rel"] == "next" for link in first["links"])
    last = ns.get("customer?limit=10&offset=40").json()
    assert last["hasMore"] is False
    assert ns.get("customer?limit=5000").status_code == 400


def test_it_lists_terms_subsidiaries_currencies_and_item_prices(ns):
    assert ns.get("term/5").json()["name"] == "Net 30"
    subsidiary = ns.get("subsidiary/2").json()
    assert subsidiary["currency"]["refName"] == "Canadian Dollar"
    assert ns.get("currency/2").json()["symbol"] == "GBP"
    item = catalog.netsuite_items()[6]
    prices = ns.get(f"{item.record_type}/{item.internal_id}?expandSubResources=true").json()["price"]["items"]
    gbp_base = next(p for p in prices if p["currencyPage"]["id"] == "2" and p["priceLevel"]["id"] == "1")
    assert gbp_base["price"] == float(item.price("GBP"))


def test_an_upsert_sent_again_after_fulfilment_keeps_the_order_as_it_is(ns):
    body = _order(orderStatus={"id": "B"})
    order_id = ns.created_id(ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=body))
    ns.created_id(ns.request("POST", f"salesOrder/{order_id}/!transform/itemFulfillment"))
    assert ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=body).status_code == 204
    order = ns.get(f"salesOrder/{order_id}?expandSubResources=true").json()
    assert order["item"]["items"][1]["quantityFulfilled"] == 3.0
    changed = _order() | {"item": {"items": [{"item": {"id": "501"}, "quantity": 1}]}}
    refused = ns.request("PUT", f"salesOrder/eid:{OPPORTUNITY}", json=changed)
    assert refused.status_code == 400
    assert ns.get(f"salesOrder/{order_id}?expandSubResources=true").json()["item"]["count"] == 2
