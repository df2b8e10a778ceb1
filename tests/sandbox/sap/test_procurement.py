"""Procurement in the SAP sandbox over HTTP: purchase orders, goods receipts, supplier invoices,
the Post/Release function imports, SAP's duplicate check, faults, and `$metadata` through pyodata."""

from __future__ import annotations

import logging
from typing import Any

import pyodata
import pytest
import requests

from integration_hub.sandbox.faults import fault_add
from integration_hub.sandbox.sap import sales
from integration_hub.sandbox.sap.seed import AP_SCENARIOS, PURCHASE_ORDERS, SEEDED_SUPPLIER_INVOICE, SUPPLIERS
from integration_hub.sandbox.server import RunningSandbox

logging.getLogger("pyodata").setLevel(logging.ERROR)

PO_SRV = "API_PURCHASEORDER_PROCESS_SRV"
GR_SRV = "API_MATERIAL_DOCUMENT_SRV"
SI_SRV = "API_SUPPLIERINVOICE_PROCESS_SRV"


class Sap:
    """A logged-on HTTP session against the sandbox, with one CSRF token per service."""

    def __init__(self, sandbox: RunningSandbox) -> None:
        self.root = f"{sandbox.url}/sap/opu/odata/sap/"
        self.http = requests.Session()
        self.http.auth = ("sandbox", "sandbox")
        self.http.headers["Accept"] = "application/json"
        self.tokens: dict[str, str] = {}

    def token(self, service: str) -> str:
        if service not in self.tokens:
            self.tokens[service] = self.http.head(f"{self.root}{service}/", headers={"X-CSRF-Token": "Fetch"},
                                                  timeout=10).headers["x-csrf-token"]
        return self.tokens[service]

    def get(self, service: str, path: str, **params: str) -> requests.Response:
        return self.http.get(f"{self.root}{service}/{path}", params=params, timeout=10)

    def post(self, service: str, path: str, body: Any = None, **params: str) -> requests.Response:
        return self.http.post(f"{self.root}{service}/{path}", json=body, params=params,
                              headers={"X-CSRF-Token": self.token(service)}, timeout=10)

    def results(self, service: str, path: str, **params: str) -> list[dict[str, Any]]:
        response = self.get(service, path, **params)
        assert response.status_code == 200, response.text
        return list(response.json()["d"]["results"])


@pytest.fixture
def sap(seeded_sap: RunningSandbox) -> Sap:
    return Sap(seeded_sap)


def error_of(response: requests.Response) -> tuple[str, str]:
    error = response.json()["error"]
    return error["code"], error["message"]["value"]


def invoice_body(**overrides: Any) -> dict[str, Any]:
    """10 PC of the exact PO item 4500000001/10 at 240.00, from its supplier."""
    body: dict[str, Any] = {
        "CompanyCode": "1710", "InvoicingParty": "17500001", "SupplierInvoiceIDByInvcgParty": "NW-7781",
        "DocumentDate": "/Date(1796083200000)/", "DocumentCurrency": "USD", "InvoiceGrossAmount": "2400.00",
        "to_SuplrInvcItemPurOrdRef": [{"PurchaseOrder": "4500000001", "PurchaseOrderItem": "10",
                                       "SupplierInvoiceItemAmount": "2400.00", "QuantityInPurchaseOrderUnit": "10",
                                       "PurchaseOrderQuantityUnit": "PC"}],
    }
    body.update(overrides)
    return body


def created(response: requests.Response) -> dict[str, Any]:
    assert response.status_code == 201, response.text
    return dict(response.json()["d"])


# -- metadata and reads ------------------------------------------------------------------------------
def test_pyodata_reads_the_three_services_from_their_metadata(sap) -> None:
    po_client = pyodata.Client(f"{sap.root}{PO_SRV}/", sap.http)
    gr_client = pyodata.Client(f"{sap.root}{GR_SRV}/", sap.http)
    si_client = pyodata.Client(f"{sap.root}{SI_SRV}/", sap.http)

    per_100 = po_client.entity_sets.A_PurchaseOrder.get_entity("4500000004").expand("to_PurchaseOrderItem").execute()
    split = (gr_client.entity_sets.A_MaterialDocumentItem.get_entities()
             .filter("PurchaseOrder eq '4500000003' and PurchaseOrderItem eq '00010'").execute())
    invoice = si_client.entity_sets.A_SupplierInvoice.get_entity(SupplierInvoice="5105600001", FiscalYear="2026").execute()

    item = per_100.to_PurchaseOrderItem[0]
    assert (per_100.Supplier, per_100.PaymentTerms, per_100.DocumentCurrency) == ("17500002", "NT45", "USD")
    assert (item.NetPriceAmount, item.NetPriceQuantity, item.OrderQuantity) == ("23500.00", "100", "1000")
    assert item.InvoiceIsGoodsReceiptBased is True
    assert sorted(i.QuantityInEntryUnit for i in split) == ["12", "8"]
    assert len({i.MaterialDocument for i in split}) == 2 and {i.GoodsMovementType for i in split} == {"101"}
    assert (invoice.SupplierInvoiceIDByInvcgParty, invoice.SupplierInvoiceStatus) == ("INV-00123", "5")
    assert {f.name for f in si_client.schema.function_imports} >= {"Post", "Release"}


def test_pyodata_calls_post_and_release(sap) -> None:
    parked = created(sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(PaymentBlockingReason="R")))
    sap.http.headers["X-CSRF-Token"] = sap.token(SI_SRV)
    client = pyodata.Client(f"{sap.root}{SI_SRV}/", sap.http)
    key = {"SupplierInvoice": parked["SupplierInvoice"], "FiscalYear": parked["FiscalYear"]}

    posted = client.functions.Post.parameter("SupplierInvoice", key["SupplierInvoice"]).parameter(
        "FiscalYear", key["FiscalYear"]).execute()
    after_post = client.entity_sets.A_SupplierInvoice.get_entity(**key).execute()
    released = (client.functions.Release.parameter("SupplierInvoice", key["SupplierInvoice"])
                .parameter("FiscalYear", key["FiscalYear"]).parameter("DiscountDaysHaveToBeShifted", False).execute())
    after_release = client.entity_sets.A_SupplierInvoice.get_entity(**key).execute()

    assert parked["SupplierInvoiceStatus"] == "A" and parked["PaymentBlockingReason"] == "R"
    # V2 JSON wraps a complex result in the function's name, as Gateway does; pyodata hands it back raw.
    assert posted["Post"]["Success"] is True and released["Release"]["Success"] is True
    assert (after_post.SupplierInvoiceStatus, after_post.PaymentBlockingReason) == ("5", "R")
    assert (after_release.SupplierInvoiceStatus, after_release.PaymentBlockingReason) == ("5", "")


def test_the_seed_holds_every_documented_scenario(sap) -> None:
    pos = {po["PurchaseOrder"]: po for po in sap.results(PO_SRV, "A_PurchaseOrder", **{"$expand": "to_PurchaseOrderItem"})}
    suppliers = {s["Supplier"]: s for s in sap.results("API_BUSINESS_PARTNER", "A_Supplier",
                                                        **{"$expand": "to_SupplierCompany"})}

    for scenario in AP_SCENARIOS:
        po = pos[scenario.purchase_order]
        items = {i["PurchaseOrderItem"] for i in po["to_PurchaseOrderItem"]["results"]}
        assert scenario.item.zfill(5) in items, scenario.name
        assert po["Supplier"] == scenario.supplier, scenario.name
    assert set(suppliers) == {s.number for s in SUPPLIERS}
    usual = {s["Supplier"]: s["to_SupplierCompany"]["results"][0]["PaymentTerms"] for s in suppliers.values()}
    assert pos["4500000006"]["PaymentTerms"] != usual["17500002"]  # the terms-conflict PO
    assert len(pos) == len(PURCHASE_ORDERS)
    none_received = sap.results(GR_SRV, "A_MaterialDocumentItem", **{"$filter": "PurchaseOrder eq '4500000005'"})
    assert none_received == []


# -- purchase orders and goods receipts ----------------------------------------------------------------
def test_a_purchase_order_is_created_with_its_items_in_one_deep_insert(sap) -> None:
    po = created(sap.post(PO_SRV, "A_PurchaseOrder", {
        "CompanyCode": "1710", "Supplier": "17500001",
        "to_PurchaseOrderItem": [
            {"Material": "MAT-SK-001", "OrderQuantity": "5", "NetPriceAmount": "240.00"},
            {"Material": "MAT-NS-001", "OrderQuantity": "200", "NetPriceAmount": "150000.00", "NetPriceQuantity": "100",
             "InvoiceIsGoodsReceiptBased": True},
        ],
    }))
    items = sap.results(PO_SRV, f"A_PurchaseOrder('{po['PurchaseOrder']}')/to_PurchaseOrderItem")

    assert po["PurchaseOrder"] == "4500000011" and po["PaymentTerms"] == "NT30"  # the supplier's usual terms
    assert po["DocumentCurrency"] == "USD"
    assert [(i["PurchaseOrderItem"], i["PurchaseOrderQuantityUnit"], i["NetPriceQuantity"]) for i in items] == [
        ("00010", "PC", "1"), ("00020", "PC", "100")]
    assert [i["InvoiceIsGoodsReceiptBased"] for i in items] == [False, True]


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"Supplier": "17599999"}, "ME/045", "Supplier 17599999 does not exist"),
    ({"CompanyCode": "9999"}, "F5/165", "Company code 9999 does not exist"),
    ({"to_PurchaseOrderItem": [{"Material": "NOPE", "OrderQuantity": "1", "NetPriceAmount": "1"}]}, "M3/305",
     "Material NOPE does not exist"),
    ({"to_PurchaseOrderItem": [{"Material": "MAT-SK-001", "OrderQuantity": "0", "NetPriceAmount": "1"}]}, "ME/100",
     "greater than zero"),
    ({"to_PurchaseOrderItem": []}, "/IWBEP/CM_MGW_RT/022", "Purchase order item"),
])
def test_a_bad_purchase_order_is_refused_whole(sap, change, code, words) -> None:
    body = {"CompanyCode": "1710", "Supplier": "17500001",
            "to_PurchaseOrderItem": [{"Material": "MAT-SK-001", "OrderQuantity": "1", "NetPriceAmount": "1"}], **change}
    response = sap.post(PO_SRV, "A_PurchaseOrder", body)

    assert response.status_code == 400
    assert error_of(response)[0] == code and words in error_of(response)[1]
    assert len(sap.results(PO_SRV, "A_PurchaseOrder")) == len(PURCHASE_ORDERS)


def test_a_goods_receipt_posts_against_a_po_item_and_refuses_more_than_was_ordered(sap) -> None:
    def receipt(quantity: str, movement: str = "101") -> requests.Response:
        return sap.post(GR_SRV, "A_MaterialDocumentHeader", {
            "GoodsMovementCode": "01", "PostingDate": "/Date(1796083200000)/",
            "to_MaterialDocumentItem": [{"GoodsMovementType": movement, "PurchaseOrder": "4500000005",
                                         "PurchaseOrderItem": "00010", "QuantityInEntryUnit": quantity,
                                         "EntryUnit": "PC"}]})

    first = created(receipt("3"))
    too_many = receipt("3")
    too_much_back = receipt("4", "102")
    back = created(receipt("1", "102"))
    items = sap.results(GR_SRV, "A_MaterialDocumentItem", **{"$filter": "PurchaseOrder eq '4500000005'"})

    assert first["MaterialDocumentYear"] == "2026" and first["MaterialDocument"] == "5000000101"
    assert too_many.status_code == 400 and error_of(too_many)[0] == "M7/022"
    assert "exceeded by 1 PC" in error_of(too_many)[1]
    assert too_much_back.status_code == 400 and error_of(too_much_back)[0] == "M7/021"
    assert [(i["GoodsMovementType"], i["QuantityInEntryUnit"], i["DebitCreditCode"], i["Supplier"]) for i in items] == [
        ("101", "3", "S", "17500001"), ("102", "1", "H", "17500001")]
    assert back["to_MaterialDocumentItem"]["results"][0]["MaterialDocument"] == "5000000102"


def test_items_are_created_only_inside_their_header(sap) -> None:
    response = sap.post(PO_SRV, "A_PurchaseOrderItem", {"PurchaseOrder": "4500000001", "PurchaseOrderItem": "00030"})
    assert response.status_code == 405 and "deep insert of A_PurchaseOrder" in error_of(response)[1]


# -- supplier invoices ---------------------------------------------------------------------------------
def test_an_invoice_is_parked_then_posted_and_cannot_be_posted_twice(sap) -> None:
    parked = created(sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(DocumentHeaderText="VI-000001 hub")))
    key = {"SupplierInvoice": f"'{parked['SupplierInvoice']}'", "FiscalYear": f"'{parked['FiscalYear']}'"}

    posted = sap.post(SI_SRV, "Post", **key)
    again = sap.post(SI_SRV, "Post", **key)
    found = sap.results(SI_SRV, "A_SupplierInvoice", **{"$filter": "startswith(DocumentHeaderText,'VI-000001')",
                                                        "$expand": "to_SuplrInvcItemPurOrdRef"})

    assert parked["SupplierInvoice"] == "5105600002" and parked["SupplierInvoiceStatus"] == "A"
    assert posted.status_code == 200 and posted.json()["d"]["Post"]["Success"] is True
    assert again.status_code == 400 and "already posted" in error_of(again)[1]
    assert [i["SupplierInvoiceStatus"] for i in found] == ["5"]
    ref = found[0]["to_SuplrInvcItemPurOrdRef"]["results"][0]
    assert (ref["SupplierInvoiceItem"], ref["PurchaseOrderItem"], ref["SupplierInvoiceItemAmount"]) == (
        "000001", "00010", "2400.00")


def test_an_invoice_that_does_not_balance_stays_parked(sap) -> None:
    parked = created(sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(InvoiceGrossAmount="2856.00")))
    number, year = parked["SupplierInvoice"], parked["FiscalYear"]
    response = sap.post(SI_SRV, "Post", SupplierInvoice=f"'{number}'", FiscalYear=f"'{year}'")
    status = sap.get(SI_SRV, f"A_SupplierInvoice(SupplierInvoice='{number}',FiscalYear='{year}')")

    assert response.status_code == 400 and error_of(response)[0] == "M8/534"
    assert "Balance not zero: 456.00 USD" in error_of(response)[1]
    assert status.json()["d"]["SupplierInvoiceStatus"] == "A"


def test_release_removes_the_payment_block_of_a_posted_invoice_only(sap) -> None:
    parked = created(sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(PaymentBlockingReason="R")))
    key = {"SupplierInvoice": f"'{parked['SupplierInvoice']}'", "FiscalYear": f"'{parked['FiscalYear']}'"}

    too_early = sap.post(SI_SRV, "Release", **key)
    sap.post(SI_SRV, "Post", **key)
    released = sap.post(SI_SRV, "Release", **key, DiscountDaysHaveToBeShifted="false")
    twice = sap.post(SI_SRV, "Release", **key)
    unknown = sap.post(SI_SRV, "Release", SupplierInvoice="'5105699999'", FiscalYear="'2025'")

    assert too_early.status_code == 400 and "is not posted" in error_of(too_early)[1]
    assert released.status_code == 200 and released.json()["d"]["Release"]["Success"] is True
    assert twice.status_code == 400 and "not blocked for payment" in error_of(twice)[1]
    assert unknown.status_code == 404 and "does not exist" in error_of(unknown)[1]


def test_a_function_import_wants_post_and_a_csrf_token(sap) -> None:
    read = sap.get(SI_SRV, "Post", SupplierInvoice="'5105600001'", FiscalYear="'2026'")
    no_token = sap.http.post(f"{sap.root}{SI_SRV}/Post", params={"SupplierInvoice": "'5105600001'",
                                                                "FiscalYear": "'2026'"}, timeout=10)
    anonymous = requests.post(f"{sap.root}{SI_SRV}/Post", timeout=10)

    assert read.status_code == 405
    assert no_token.status_code == 403 and no_token.headers["x-csrf-token"] == "Required"
    assert anonymous.status_code == 401


def test_sap_refuses_an_invoice_it_already_has_with_the_same_reference_date_and_amount(sap) -> None:
    seeded = SEEDED_SUPPLIER_INVOICE
    same = {"InvoicingParty": "17500001", "DocumentDate": "/Date(1795132800000)/", "InvoiceGrossAmount": "2400.00",
            "to_SuplrInvcItemPurOrdRef": [{"PurchaseOrder": "4500000008", "PurchaseOrderItem": "10",
                                           "SupplierInvoiceItemAmount": "2400.00",
                                           "QuantityInPurchaseOrderUnit": "10"}]}

    duplicate = sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(SupplierInvoiceIDByInvcgParty="inv-00123", **same))
    spelled_otherwise = sap.post(SI_SRV, "A_SupplierInvoice",
                                 invoice_body(SupplierInvoiceIDByInvcgParty="inv 123", **same))
    other_day = sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(
        SupplierInvoiceIDByInvcgParty="INV-00123", **{**same, "DocumentDate": "/Date(1795219200000)/"}))

    assert seeded["DocumentDate"].isoformat() == "2026-11-20"  # 1795132800000 ms
    assert duplicate.status_code == 400
    assert error_of(duplicate) == ("M8/108", "Check if invoice already entered under accounting doc. no. "
                                             "5105600001 2026")
    # SAP compares the reference as stored (upper case): another spelling is the hub's to catch.
    assert spelled_otherwise.status_code == 201 and other_day.status_code == 201


@pytest.mark.parametrize(("change", "code", "words"), [
    ({"InvoicingParty": "17100001"}, "ME/045", "Supplier 17100001 does not exist"),
    ({"CompanyCode": "1010"}, "ME/046", "not created in company code 1010"),
    ({"DocumentCurrency": "EUR"}, "M8/052", "is in USD, the invoice in EUR"),
    ({"to_SuplrInvcItemPurOrdRef": [{"PurchaseOrder": "4500000005", "PurchaseOrderItem": "10",
                                     "SupplierInvoiceItemAmount": "7500", "QuantityInPurchaseOrderUnit": "5"}]},
     "M8/054", "No goods receipt posted for purchase order item 4500000005 00010"),
    ({"to_SuplrInvcItemPurOrdRef": [{"PurchaseOrder": "4500000001", "PurchaseOrderItem": "90",
                                     "SupplierInvoiceItemAmount": "1", "QuantityInPurchaseOrderUnit": "1"}]},
     "M8/050", "4500000001 00090 does not exist"),
    ({"PaymentBlockingReason": "Q"}, "M8/084", "Payment block key Q"),
    ({"InvoiceGrossAmount": "lots"}, "/IWBEP/CM_MGW_RT/022", "Invalid decimal value"),
])
def test_a_bad_supplier_invoice_is_refused_and_nothing_is_saved(sap, change, code, words) -> None:
    response = sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(**change))

    assert response.status_code == 400, response.text
    assert error_of(response)[0] == code and words in error_of(response)[1]
    assert len(sap.results(SI_SRV, "A_SupplierInvoice")) == 1


def test_a_two_way_po_item_needs_no_receipt(sap) -> None:
    response = sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(
        CompanyCode="1010", InvoicingParty="17500003", DocumentCurrency="EUR", InvoiceGrossAmount="7200.00",
        to_SuplrInvcItemPurOrdRef=[{"PurchaseOrder": "4500000007", "PurchaseOrderItem": "10",
                                    "SupplierInvoiceItemAmount": "7200.00", "QuantityInPurchaseOrderUnit": "40"}]))
    invoice = created(response)
    assert invoice["PaymentTerms"] == "0001" and invoice["FiscalYear"] == str(sales.today().year)


# -- faults ------------------------------------------------------------------------------------------------
def test_faults_reach_the_procurement_services_through_the_shared_contract(sap) -> None:
    fault_add(system="sap", kind="status", status=503, operation=f"{SI_SRV}/Post:POST", times=1)
    fault_add(system="sap", kind="lock", operation=f"{PO_SRV}/A_PurchaseOrder:POST", times=1)
    fault_add(system="sap", kind="rate_limit", operation=f"{GR_SRV}/A_MaterialDocumentItem:GET", times=1,
              retry_after=2)

    unavailable = sap.post(SI_SRV, "Post", SupplierInvoice="'5105600001'", FiscalYear="'2026'")
    locked = sap.post(PO_SRV, "A_PurchaseOrder", {"Supplier": "17500001"})
    limited = sap.get(GR_SRV, "A_MaterialDocumentItem")

    assert unavailable.status_code == 503 and error_of(unavailable)[0] == "/IWFND/CM_BEC/076"
    assert locked.status_code == 400 and error_of(locked)[0] == "MC/601"
    assert "currently being processed" in error_of(locked)[1]
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "2"
    assert sap.get(GR_SRV, "A_MaterialDocumentItem").status_code == 200  # each fault fired once


def test_a_dropped_create_still_creates_the_invoice(sap) -> None:
    fault_add(system="sap", kind="drop", operation=f"{SI_SRV}/A_SupplierInvoice:POST", times=1)
    with pytest.raises(requests.ConnectionError):
        sap.post(SI_SRV, "A_SupplierInvoice", invoice_body(DocumentHeaderText="VI-DROP"))
    found = sap.results(SI_SRV, "A_SupplierInvoice", **{"$filter": "DocumentHeaderText eq 'VI-DROP'"})
    assert [i["SupplierInvoiceStatus"] for i in found] == ["A"]


@pytest.mark.parametrize(("params", "words"), [
    ({"SupplierInvoice": "'5105600001'"}, "SupplierInvoice and FiscalYear are required"),
    ({"SupplierInvoice": "'51056000011'", "FiscalYear": "'2026'"}, "too long for parameter SupplierInvoice"),
    ({"SupplierInvoice": "'5105600001'", "FiscalYear": "'2026'", "DiscountDaysHaveToBeShifted": "yes"},
     "expects true or false"),
])
def test_bad_function_parameters_get_a_clear_error(sap, params, words) -> None:
    response = sap.post(SI_SRV, "Release", **params)
    assert response.status_code == 400 and words in error_of(response)[1]
