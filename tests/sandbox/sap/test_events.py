"""Follow-on documents of a sales order (/_sandbox/events), seen the way the hub will see them:
through OData queries on deliveries, billing documents, the AR cube and the order itself."""

from __future__ import annotations

import datetime
import logging
from decimal import Decimal
from typing import Any

import pyodata
import pytest
import requests

from integration_hub.sandbox.sap import sales
from integration_hub.sandbox.sap.events import EventError, sales_order_event
from integration_hub.sandbox.server import RunningSandbox

logging.getLogger("pyodata").setLevel(logging.ERROR)

CUSTOMER = "17100001"  # ACME: terms NT30, a 3 % K007 customer discount, credit limit 50,000 USD


@pytest.fixture
def http() -> requests.Session:
    session = requests.Session()
    session.auth = ("sandbox", "sandbox")
    session.headers["Accept"] = "application/json"
    return session


@pytest.fixture
def order(seeded_sap: RunningSandbox) -> str:
    """A fresh order: 4 PC of MAT-SK-001 (item 10) and 1 PC of MAT-EG-001 (item 20)."""
    created, _ = sales.sales_order_create({
        "SalesOrderType": "OR", "SalesOrganization": "1710", "DistributionChannel": "10",
        "OrganizationDivision": "00", "SoldToParty": CUSTOMER, "PurchaseOrderByCustomer": "PO-EVENTS-1",
        "to_Item": [{"Material": "MAT-SK-001", "RequestedQuantity": "4"},
                    {"Material": "MAT-EG-001", "RequestedQuantity": "1"}],
    }, user="TESTER")
    return str(created["SalesOrder"])


def event(sandbox: RunningSandbox, body: Any, auth: tuple[str, str] | None = ("sandbox", "sandbox")) -> requests.Response:
    return requests.post(f"{sandbox.url}/_sandbox/events", json=body, auth=auth, timeout=10)


def ok(sandbox: RunningSandbox, number: str, name: str, **options: Any) -> dict[str, Any]:
    response = event(sandbox, {"sales_order": number, "event": name, **options})
    assert response.status_code == 201, response.text
    return dict(response.json())


def results(http: requests.Session, sandbox: RunningSandbox, path: str, **params: str) -> list[dict[str, Any]]:
    response = http.get(f"{sandbox.url}/sap/opu/odata/sap/{path}", params=params)
    assert response.status_code == 200, response.text
    return list(response.json()["d"]["results"])


def entity(http: requests.Session, sandbox: RunningSandbox, path: str) -> requests.Response:
    response = http.get(f"{sandbox.url}/sap/opu/odata/sap/{path}")
    assert response.status_code == 200, response.text
    return response


def sap_date(day: datetime.date) -> str:
    moment = datetime.datetime(day.year, day.month, day.day, tzinfo=datetime.UTC)
    return f"/Date({int(moment.timestamp() * 1000)})/"


def created(body: dict[str, Any], kind: str) -> list[str]:
    return [d["id"] for d in body["documents"] if d["type"] == kind and d["action"] == "created"]


def test_it_delivers_part_then_the_rest_and_moves_the_delivery_status(seeded_sap, http, order) -> None:
    first = ok(seeded_sap, order, "deliver", quantity_fraction=0.5)
    deliveries = results(http, seeded_sap, "API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryItem",
                         **{"$filter": f"ReferenceSDDocument eq '{order}'"})
    header = entity(http, seeded_sap, f"API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryHeader('{created(first, 'outbound_delivery')[0]}')"
                    "?$expand=to_DeliveryDocumentItem").json()["d"]

    assert first["order"]["OverallDeliveryStatus"] == "B" == first["order"]["OverallTotalDeliveryStatus"]
    assert first["order"]["OverallSDProcessStatus"] == "B"
    assert {(d["ReferenceSDDocumentItem"], d["ActualDeliveryQuantity"]) for d in deliveries} == {("10", "2"), ("20", "1")}
    assert header["OverallGoodsMovementStatus"] == "C" and header["SoldToParty"] == CUSTOMER
    assert header["ActualGoodsMovementDate"] == sap_date(datetime.datetime.now(datetime.UTC).date())
    assert len(header["to_DeliveryDocumentItem"]["results"]) == 2

    second = ok(seeded_sap, order, "deliver")
    items = results(http, seeded_sap, "API_SALES_ORDER_SRV/A_SalesOrderItem",
                    **{"$filter": f"SalesOrder eq '{order}'", "$select": "SalesOrderItem,DeliveryStatus"})
    assert second["order"]["OverallDeliveryStatus"] == "C"
    assert {i["DeliveryStatus"] for i in items} == {"C"}
    again = event(seeded_sap, {"sales_order": order, "event": "deliver"})
    assert again.status_code == 409 and "fully delivered" in again.json()["error"]


def test_it_invoices_what_was_delivered_with_a_receivable_due_per_the_terms(seeded_sap, http, order) -> None:
    ok(seeded_sap, order, "deliver", quantity_fraction=0.5)
    body = ok(seeded_sap, order, "invoice")
    billing_document = created(body, "billing_document")[0]
    billed = results(http, seeded_sap, "API_BILLING_DOCUMENT_SRV/A_BillingDocumentItem",
                     **{"$filter": f"SalesDocument eq '{order}'"})
    response = entity(http, seeded_sap, f"API_BILLING_DOCUMENT_SRV/A_BillingDocument('{billing_document}')")
    header = response.json()["d"]
    receivables = results(http, seeded_sap, "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube",
                          **{"$filter": f"BillingDocument eq '{billing_document}' and IsCleared eq false"})
    uncleared = results(http, seeded_sap, "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube",
                        **{"$filter": f"Customer eq '{CUSTOMER}' and ClearingAccountingDocument eq ''"})

    assert {(b["SalesDocumentItem"], b["BillingQuantity"]) for b in billed} == {("10", "2"), ("20", "1")}
    assert header["BillingDocumentType"] == "F2" and header["BillingDocumentIsCancelled"] is False
    assert response.headers["ETag"] == header["__metadata"]["etag"]
    # half of item 10 (1,513.20 net) and all of item 20 (1,406.50 net)
    assert Decimal(header["TotalNetAmount"]) == Decimal("756.60") + Decimal("1406.50")
    assert Decimal(header["TotalGrossAmount"]) == Decimal(header["TotalNetAmount"]) + Decimal(header["TaxAmount"])
    [receivable] = receivables
    assert Decimal(receivable["AmountInTransactionCurrency"]) == Decimal(header["TotalGrossAmount"])
    assert receivable["SalesDocument"] == order and receivable["ClearingAccountingDocument"] == ""
    assert receivable["NetDueDate"] == sap_date(datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=30))
    assert receivable["AccountingDocument"] in {u["AccountingDocument"] for u in uncleared}
    assert body["order"]["OverallOrdReltdBillgStatus"] == "B"
    delivery = results(http, seeded_sap, "API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryHeader",
                       **{"$filter": f"SoldToParty eq '{CUSTOMER}'"})[0]
    assert delivery["OverallDelivReltdBillgStatus"] == "C"
    nothing = event(seeded_sap, {"sales_order": order, "event": "invoice"})
    assert nothing.status_code == 409 and "Nothing to bill" in nothing.json()["error"]


def test_it_bills_the_whole_order_when_nothing_was_delivered(seeded_sap, http, order) -> None:
    body = ok(seeded_sap, order, "invoice")
    header = entity(http, seeded_sap, f"API_BILLING_DOCUMENT_SRV/A_BillingDocument('{created(body, 'billing_document')[0]}')"
                    "?$expand=to_Item").json()["d"]
    placed = entity(http, seeded_sap, f"API_SALES_ORDER_SRV/A_SalesOrder('{order}')").json()["d"]

    assert header["BillingDocumentCategory"] == "A"
    assert header["TotalNetAmount"] == placed["TotalNetAmount"] == "2919.70"
    assert sum(Decimal(i["NetAmount"]) for i in header["to_Item"]["results"]) == Decimal("2919.70")
    assert placed["OverallSDProcessStatus"] == "C" and placed["OverallOrdReltdBillgStatus"] == "C"


def test_it_clears_a_partial_payment_with_a_residual_item_then_the_rest(seeded_sap, http, order) -> None:
    body = ok(seeded_sap, order, "invoice")
    billing_document = created(body, "billing_document")[0]
    cube = "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube"
    [invoice_item] = results(http, seeded_sap, cube, **{"$filter": f"BillingDocument eq '{billing_document}'"})
    gross = Decimal(invoice_item["AmountInTransactionCurrency"])

    before = entity(http, seeded_sap, f"API_SALES_ORDER_SRV/A_SalesOrder('{order}')").json()["d"]
    paid = ok(seeded_sap, order, "pay", amount="1000.00")
    unchanged = entity(http, seeded_sap, f"API_SALES_ORDER_SRV/A_SalesOrder('{order}')").json()["d"]
    assert unchanged["LastChangeDateTime"] == before["LastChangeDateTime"]  # FI posting, the order is untouched
    assert "sales_order" not in {d["type"] for d in paid["documents"]}
    after_part = results(http, seeded_sap, cube, **{"$filter": f"BillingDocument eq '{billing_document}'"})
    open_items = [i for i in after_part if not i["IsCleared"]]
    cleared = [i for i in after_part if i["IsCleared"]]
    header = entity(http, seeded_sap, f"API_BILLING_DOCUMENT_SRV/A_BillingDocument('{billing_document}')").json()["d"]

    assert [Decimal(i["AmountInTransactionCurrency"]) for i in open_items] == [gross - Decimal("1000.00")]
    assert open_items[0]["InvoiceReference"] == invoice_item["AccountingDocument"]
    assert open_items[0]["NetDueDate"] == invoice_item["NetDueDate"]
    assert cleared[0]["ClearingAccountingDocument"] == open_items[0]["AccountingDocument"]
    assert cleared[0]["ClearingDate"] == sap_date(datetime.datetime.now(datetime.UTC).date())
    assert header["InvoiceClearingStatus"] == "B"
    too_much = event(seeded_sap, {"sales_order": order, "event": "pay", "amount": "999999"})
    assert too_much.status_code == 400 and too_much.json()["field"] == "amount"

    ok(seeded_sap, order, "pay")
    still_open = results(http, seeded_sap, cube, **{"$filter": f"SalesDocument eq '{order}' and IsCleared eq false"})
    header = entity(http, seeded_sap, f"API_BILLING_DOCUMENT_SRV/A_BillingDocument('{billing_document}')").json()["d"]
    assert still_open == [] and header["InvoiceClearingStatus"] == "C"
    nothing = event(seeded_sap, {"sales_order": order, "event": "pay"})
    assert nothing.status_code == 409


def test_it_blocks_and_releases_credit_on_the_account_and_the_order(seeded_sap, http, order) -> None:
    blocked = ok(seeded_sap, order, "credit_block")
    account = entity(http, seeded_sap, f"API_CRDTMBUSINESSPARTNER/CreditManagementAccount(BusinessPartner='{CUSTOMER}',"
                     "CreditSegment='1000')").json()["d"]
    refused = event(seeded_sap, {"sales_order": order, "event": "deliver"})

    assert blocked["order"]["TotalCreditCheckStatus"] == "B" and account["CreditAccountIsBlocked"] is True
    assert refused.status_code == 409 and "credit" in refused.json()["error"]

    released = ok(seeded_sap, order, "credit_release")
    account = entity(http, seeded_sap, f"API_CRDTMBUSINESSPARTNER/CreditManagementAccount(BusinessPartner='{CUSTOMER}',"
                     "CreditSegment='1000')").json()["d"]
    assert released["order"]["TotalCreditCheckStatus"] == "A" and account["CreditAccountIsBlocked"] is False
    assert ok(seeded_sap, order, "deliver")["order"]["OverallDeliveryStatus"] == "C"


def test_it_cancels_the_latest_invoice_and_clears_its_receivable_against_the_reversal(seeded_sap, http, order) -> None:
    invoice = created(ok(seeded_sap, order, "invoice"), "billing_document")[0]
    body = ok(seeded_sap, order, "cancel_invoice")
    [cancellation] = created(body, "billing_document")
    headers = results(http, seeded_sap, "API_BILLING_DOCUMENT_SRV/A_BillingDocument",
                      **{"$filter": f"SoldToParty eq '{CUSTOMER}'", "$orderby": "BillingDocument"})
    receivables = results(http, seeded_sap, "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube",
                          **{"$filter": f"SalesDocument eq '{order}'"})

    by_number = {h["BillingDocument"]: h for h in headers}
    assert by_number[invoice]["BillingDocumentIsCancelled"] is True
    assert by_number[cancellation]["BillingDocumentType"] == "S1"
    assert by_number[cancellation]["CancelledBillingDocument"] == invoice
    assert all(r["IsCleared"] for r in receivables) and len(receivables) == 2
    assert sum(Decimal(r["AmountInTransactionCurrency"]) for r in receivables) == 0
    assert body["order"]["OverallOrdReltdBillgStatus"] == "A"
    again = ok(seeded_sap, order, "invoice")  # the order can be billed again
    assert created(again, "billing_document") and again["order"]["OverallOrdReltdBillgStatus"] == "C"
    ok(seeded_sap, order, "pay")
    paid = event(seeded_sap, {"sales_order": order, "event": "cancel_invoice"})
    assert paid.status_code == 409 and "paid" in paid.json()["error"]


def test_it_changes_the_amount_so_items_and_pricing_still_sum(seeded_sap, http, order) -> None:
    before = entity(http, seeded_sap, f"API_SALES_ORDER_SRV/A_SalesOrder('{order}')")
    body = ok(seeded_sap, order, "change_amount", total_net_amount="3500.00")
    after = entity(http, seeded_sap, f"API_SALES_ORDER_SRV/A_SalesOrder('{order}')?$expand=to_Item/to_PricingElement")
    placed = after.json()["d"]
    items = placed["to_Item"]["results"]

    assert body["order"]["TotalNetAmount"] == placed["TotalNetAmount"] == "3500.00"
    assert sum(Decimal(i["NetAmount"]) for i in items) == Decimal("3500.00")
    for item in items:
        elements = item["to_PricingElement"]["results"]
        value = [Decimal(e["ConditionAmount"]) for e in elements if e["ConditionClass"] in ("A", "B")]
        assert sum(value) == Decimal(item["NetAmount"])
        k007 = next(e for e in elements if e["ConditionType"] == "K007")
        assert k007["ConditionRateValue"] == "-3"
    assert after.headers["ETag"] != before.headers["ETag"]
    bad = event(seeded_sap, {"sales_order": order, "event": "change_amount", "total_net_amount": "-1"})
    assert bad.status_code == 400 and bad.json()["field"] == "total_net_amount"


def test_it_moves_last_change_date_time_for_a_watermark_poll(seeded_sap, http, order) -> None:
    placed = entity(http, seeded_sap, f"API_SALES_ORDER_SRV/A_SalesOrder('{order}')").json()["d"]
    millis = int(placed["LastChangeDateTime"][6:-7]) + 1
    mark = datetime.datetime.fromtimestamp(millis / 1000, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    poll = {"$filter": f"LastChangeDateTime ge datetimeoffset'{mark}'", "$select": "SalesOrder,LastChangeDateTime"}

    assert results(http, seeded_sap, "API_SALES_ORDER_SRV/A_SalesOrder", **poll) == []
    body = ok(seeded_sap, order, "deliver")
    changed = results(http, seeded_sap, "API_SALES_ORDER_SRV/A_SalesOrder", **poll)
    deliveries = results(http, seeded_sap, "API_OUTBOUND_DELIVERY_SRV/A_OutbDeliveryHeader",
                         **{"$filter": f"LastChangeDateTime gt datetimeoffset'{mark}'"})

    assert [o["SalesOrder"] for o in changed] == [order]
    assert [d["DeliveryDocument"] for d in deliveries] == created(body, "outbound_delivery")
    assert {"type": "sales_order", "id": order, "action": "changed"}.items() <= body["documents"][-1].items()


def test_it_serves_the_new_services_to_pyodata(seeded_sap, http, order) -> None:
    ok(seeded_sap, order, "deliver")
    ok(seeded_sap, order, "invoice")
    root = f"{seeded_sap.url}/sap/opu/odata/sap/"
    billing = pyodata.Client(f"{root}API_BILLING_DOCUMENT_SRV/", http)
    delivery = pyodata.Client(f"{root}API_OUTBOUND_DELIVERY_SRV/", http)

    items = billing.entity_sets.A_BillingDocumentItem.get_entities().filter(f"SalesDocument eq '{order}'").execute()
    header = billing.entity_sets.A_BillingDocument.get_entity(items[0].BillingDocument).expand("to_Item").execute()
    shipped = (delivery.entity_sets.A_OutbDeliveryItem.get_entities()
               .filter(f"ReferenceSDDocument eq '{order}'").count(inline=True).execute())

    assert header.TotalNetAmount == "2919.70" and header.BillingDocumentIsCancelled is False  # pyodata keeps strings
    assert isinstance(header.LastChangeDateTime, datetime.datetime)
    assert len(header.to_Item) == 2 and shipped.total_count == 2
    assert {i.ActualDeliveryQuantity for i in shipped} == {"4", "1"}


def test_it_keeps_the_new_services_read_only(seeded_sap, http) -> None:
    url = f"{seeded_sap.url}/sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV/"
    token = http.head(url, headers={"X-CSRF-Token": "Fetch"}).headers["x-csrf-token"]
    refused = http.post(f"{url}A_BillingDocument", json={"BillingDocument": "1"}, headers={"X-CSRF-Token": token})
    assert refused.status_code == 405 and refused.json()["error"]["code"] == "/IWBEP/CM_MGW_RT/051"


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"sales_order": "4711", "event": "deliver"}, 404, "sales_order"),
    ({"sales_order": "ORDER", "event": "ship"}, 400, "event"),
    ({"sales_order": "ORDER", "event": "deliver", "quantity": 2}, 400, "quantity"),
    ({"sales_order": "ORDER", "event": "deliver", "quantity_fraction": 1.5}, 400, "quantity_fraction"),
    ({"sales_order": "ORDER", "event": "deliver", "quantity_fraction": "half"}, 400, "quantity_fraction"),
    ({"sales_order": "ORDER", "event": "pay", "amount": True}, 400, "amount"),
    ({"sales_order": "ORDER", "event": "change_amount"}, 400, "total_net_amount"),
    ({"event": "invoice"}, 400, "sales_order"),
    ({"sales_order": 5000000, "event": "invoice"}, 400, "sales_order"),
    ({"sales_order": "ORDER"}, 400, "event"),
])
def test_it_answers_bad_events_with_json_errors_naming_the_problem(seeded_sap, order, body, status, field) -> None:
    if body.get("sales_order") == "ORDER":
        body = dict(body, sales_order=order)
    response = event(seeded_sap, body)
    assert (response.status_code, response.json().get("field")) == (status, field), response.text
    assert response.json()["error"]


def test_it_guards_the_events_endpoint_like_the_fault_endpoint(seeded_sap, order) -> None:
    assert event(seeded_sap, {"sales_order": order, "event": "deliver"}, auth=None).status_code == 401
    assert event(seeded_sap, {"sales_order": order, "event": "deliver"}, auth=("sandbox", "nope")).status_code == 401
    assert event(seeded_sap, ["deliver"]).status_code == 400
    garbage = requests.post(f"{seeded_sap.url}/_sandbox/events", data=b"{not json", auth=("sandbox", "sandbox"),
                            timeout=10)
    assert garbage.status_code == 400
    assert requests.get(f"{seeded_sap.url}/_sandbox/events", auth=("sandbox", "sandbox"), timeout=10).status_code == 405


def test_it_lets_a_demo_loop_move_orders_along_without_http(seeded_sap, order) -> None:
    result = sales_order_event(order, "deliver", quantity_fraction=Decimal("0.25"))
    assert result.order["OverallDeliveryStatus"] == "B"
    assert [d["type"] for d in result.documents] == ["outbound_delivery", "sales_order"]
    with pytest.raises(EventError) as raised:
        sales_order_event(order, "refund")
    assert raised.value.status == 400 and raised.value.field == "event"
