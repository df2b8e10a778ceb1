"""The payables port (`PayablesPort`) through `S4HanaErp`, against the SAP sandbox over real HTTP:
POs with per-100 prices, split and reversed receipts, supplier look-ups, invoices found by a
reference written differently, and an idempotent post by the hub's key."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest

from integration_hub import ports
from integration_hub.connectors.sap import SapClient
from integration_hub.erp.base import (
    PayablesPort,
    SupplierInvoiceItem,
    SupplierInvoiceRequest,
    invoice_reference_key,
)
from integration_hub.erp.s4hana import S4HanaErp
from integration_hub.errors import NotFound, ServiceUnavailable, ValidationFailed
from integration_hub.models import SyncAttempt
from integration_hub.recording import record
from integration_hub.sandbox.faults import fault_add
from integration_hub.sandbox.sap.seed import seed
from integration_hub.sandbox.server import RunningSandbox

SI_SRV = "API_SUPPLIERINVOICE_PROCESS_SRV"


@pytest.fixture
def service_root(sap_sandbox: RunningSandbox, settings) -> str:
    seed()
    root = f"{sap_sandbox.url}/sap/opu/odata/sap/"
    settings.SAP_BASE_URL, settings.SAP_USER, settings.SAP_PASSWORD, settings.SAP_TIMEOUT = root, "sandbox", "sandbox", 10
    return root


@pytest.fixture
def erp(service_root: str) -> Iterator[S4HanaErp]:
    adapter = S4HanaErp(SapClient(base_url=service_root, user="sandbox", password="sandbox", timeout=10,
                                  recorder=record))
    yield adapter
    adapter.close()


def exact_invoice(**changes: object) -> SupplierInvoiceRequest:
    """The seeded exact match: 100 PC of 4500000001/10 at 240.00 from Litware (17500001)."""
    request = SupplierInvoiceRequest(
        company_code="1710", supplier="17500001", reference="NW-2026-0042", invoice_date=date(2026, 12, 1),
        gross_amount=Decimal("24000.00"), currency="USD", payment_terms="NT30",
        items=(SupplierInvoiceItem("4500000001", "10", Decimal(100), "PC", Decimal("24000.00"), "MAT-SK-001"),),
    )
    return replace(request, **changes)  # type: ignore[arg-type]


def invoices_of(erp: S4HanaErp, supplier: str) -> list[dict[str, object]]:
    return erp.client.supplier_invoices(supplier)


# -- reference normalisation ------------------------------------------------------------------------
@pytest.mark.parametrize(("reference", "key"), [
    ("INV-00123", "INV123"), ("inv 123", "INV123"), ("Inv.0123", "INV123"), ("RE 123", "INV123"), ("rg-123", "INV123"),
    ("123", "123"), ("00123", "123"), ("2026/0045", "202645"), ("A-100", "A100"), ("INVOICE 7", "INVOICE7"), ("", ""),
])
def test_invoice_references_are_normalised_as_documented(reference, key) -> None:
    assert invoice_reference_key(reference) == key


# -- purchase orders and receipts ---------------------------------------------------------------------
def test_a_po_priced_per_100_gives_its_unit_price(erp) -> None:
    po = erp.purchase_order_get("4500000004")
    item = po.item("10")

    assert (po.supplier, po.company_code, po.currency, po.payment_terms) == ("17500002", "1710", "USD", "NT45")
    assert item is not None and po.item("00010") == item and po.item("20") is None
    assert (item.net_price, item.price_quantity, item.unit_price) == (Decimal("23500.00"), Decimal(100), Decimal(235))
    assert (item.quantity, item.unit, item.material, item.gr_based, item.plant) == (
        Decimal(1000), "PC", "MAT-SK-001", True, "1710")


def test_a_po_lists_its_items_in_order_and_says_which_are_gr_based(erp) -> None:
    po = erp.purchase_order_get("4500000001")
    two_way = erp.purchase_order_get("4500000007")

    assert [(i.item, i.material, i.unit_price) for i in po.items] == [
        ("10", "MAT-SK-001", Decimal("240.00")), ("20", "MAT-NS-001", Decimal("1500.00"))]
    assert [i.gr_based for i in two_way.items] == [False] and two_way.currency == "EUR"


def test_an_unknown_po_is_not_found(erp) -> None:
    with pytest.raises(NotFound):
        erp.purchase_order_get("4599999999")


def test_split_receipts_come_as_two_documents_that_add_up(erp) -> None:
    receipts = [r for r in erp.goods_receipts_for("4500000003") if r.purchase_order_item == "10"]

    assert [(r.quantity, r.posted_on, r.movement_type) for r in receipts] == [
        (Decimal(12), date(2026, 11, 10), "101"), (Decimal(8), date(2026, 11, 18), "101")]
    assert len({r.material_document for r in receipts}) == 2
    assert sum(r.quantity for r in receipts) == erp.purchase_order_get("4500000003").item("10").quantity  # type: ignore[union-attr]


def test_a_reversal_counts_against_the_receipt_and_a_missing_receipt_is_none(erp) -> None:
    reversed_receipts = erp.goods_receipts_for("4500000010")

    assert [(r.movement_type, r.quantity, r.unit) for r in reversed_receipts] == [
        ("101", Decimal(10), "PC"), ("102", Decimal(-2), "PC")]
    assert sum(r.quantity for r in reversed_receipts) == 8
    assert erp.goods_receipts_for("4500000005") == []
    assert [r.quantity for r in erp.goods_receipts_for("4500000002")] == [Decimal(30)]  # partial


def test_a_receipt_posted_later_shows_up_and_one_beyond_the_order_is_refused(erp) -> None:
    posted = erp.goods_receipt_post("4500000005", "10", Decimal(5), posted_on=date(2026, 12, 1), delivery_note="DN-9")

    with pytest.raises(ValidationFailed) as refused:
        erp.goods_receipt_post("4500000005", "10", Decimal(1))

    assert [(r.purchase_order_item, r.quantity, r.unit, r.movement_type, r.posted_on) for r in posted] == [
        ("10", Decimal(5), "PC", "101", date(2026, 12, 1))]
    assert erp.goods_receipts_for("4500000005") == posted
    assert refused.value.code == "M7/022"


def test_suppliers_are_told_from_customers(erp) -> None:
    assert erp.supplier_exists("17500004") is True
    assert erp.supplier_exists("17100001") is False  # a customer, not a supplier
    assert erp.supplier_exists("") is False


# -- finding invoices ---------------------------------------------------------------------------------
def test_an_invoice_is_found_by_a_reference_written_differently(erp) -> None:
    found = erp.supplier_invoices_find(supplier="17500001", reference="inv 123")

    assert [(i.number, i.fiscal_year, i.reference, i.invoice_date, i.gross_amount, i.status) for i in found] == [
        ("5105600001", "2026", "INV-00123", date(2026, 11, 20), Decimal("2400.00"), "5")]
    assert erp.supplier_invoices_find(supplier="17500001", reference="INV-00124") == []
    assert erp.supplier_invoices_find(supplier="17500002", reference="INV-00123") == []
    assert erp.supplier_invoices_find(supplier="17500001", reference="") == []


# -- posting ------------------------------------------------------------------------------------------
def test_an_exact_invoice_posts_once_per_key(erp) -> None:
    before = len(invoices_of(erp, "17500001"))

    first = erp.supplier_invoice_post(exact_invoice(header_text="hub"), idempotency_key="VI-000042")
    again = erp.supplier_invoice_post(exact_invoice(header_text="hub"), idempotency_key="VI-000042")

    assert (first.status, first.payment_block, first.supplier, first.gross_amount) == (
        "5", "", "17500001", Decimal("24000.00"))
    assert first.header_text == "VI-000042 hub" and first.reference == "NW-2026-0042"
    assert again == first
    assert len(invoices_of(erp, "17500001")) == before + 1
    assert erp.supplier_invoice_by_key("VI-000042") == first
    assert erp.supplier_invoice_by_key("VI-00004") is None  # a key is matched whole, not as a prefix


def test_a_per_100_invoice_posts_at_the_unit_price(erp) -> None:
    posted = erp.supplier_invoice_post(SupplierInvoiceRequest(
        company_code="1710", supplier="17500002", reference="CT-88", invoice_date=date(2026, 12, 1),
        gross_amount=Decimal("235000.00"), currency="USD", payment_terms="NT45",
        items=(SupplierInvoiceItem("4500000004", "10", Decimal(1000), "PC", Decimal("235000.00")),),
    ), idempotency_key="VI-000043")
    stored = erp.client.get_supplier_invoice(posted.number, posted.fiscal_year)
    item = stored["to_SuplrInvcItemPurOrdRef"][0]

    assert posted.status == "5"
    assert (item["PurchaseOrderItem"], item["QuantityInPurchaseOrderUnit"], item["SupplierInvoiceItemAmount"]) == (
        "00010", Decimal(1000), Decimal("235000.00"))


def test_a_split_shipment_and_a_second_po_post_on_one_invoice(erp) -> None:
    posted = erp.supplier_invoice_post(SupplierInvoiceRequest(
        company_code="1710", supplier="17500002", reference="CT-89", invoice_date=date(2026, 12, 1),
        gross_amount=Decimal("129800.00"), currency="USD", payment_terms="NT45",
        items=(SupplierInvoiceItem("4500000003", "10", Decimal(20), "PC", Decimal("120000.00")),
               SupplierInvoiceItem("4500000003", "20", Decimal(40), "PC", Decimal("9800.00"))),
    ), idempotency_key="VI-000044")
    assert posted.status == "5" and posted.gross_amount == Decimal("129800.00")


def test_a_blocked_invoice_is_released(erp) -> None:
    blocked = erp.supplier_invoice_post(exact_invoice(payment_block="R", header_text="price +3%"),
                                        idempotency_key="VI-000045")

    erp.supplier_invoice_release(blocked.number, blocked.fiscal_year)
    erp.supplier_invoice_release(blocked.number, blocked.fiscal_year)  # already released: nothing to do
    released = erp.supplier_invoice_by_key("VI-000045")

    assert blocked.payment_block == "R" and blocked.header_text == "VI-000045 price +3%"
    assert released is not None and released.payment_block == "" and released.status == "5"


def test_releasing_an_unknown_invoice_is_not_found(erp) -> None:
    with pytest.raises(NotFound):
        erp.supplier_invoice_release("5105699999", "2026")


def test_sap_refuses_a_duplicate_written_its_own_way_and_the_hub_finds_the_other_spelling(erp) -> None:
    duplicate = exact_invoice(reference="inv-00123", invoice_date=date(2026, 11, 20), gross_amount=Decimal("2400.00"),
                              items=(SupplierInvoiceItem("4500000008", "10", Decimal(10), "PC", Decimal("2400.00")),))

    with pytest.raises(ValidationFailed) as refused:
        erp.supplier_invoice_post(duplicate, idempotency_key="VI-000046")

    assert refused.value.code == "M8/108" and "5105600001 2026" in str(refused.value)
    assert erp.supplier_invoice_by_key("VI-000046") is None
    assert [i.number for i in erp.supplier_invoices_find(supplier="17500001", reference="INV 123")] == ["5105600001"]


def test_an_invoice_for_a_gr_based_item_without_receipt_is_refused(erp) -> None:
    missing = exact_invoice(gross_amount=Decimal("7500.00"),
                            items=(SupplierInvoiceItem("4500000005", "10", Decimal(5), "PC", Decimal("7500.00")),))
    with pytest.raises(ValidationFailed) as refused:
        erp.supplier_invoice_post(missing, idempotency_key="VI-000047")
    assert refused.value.code == "M8/054"


def test_a_lost_answer_to_the_create_is_looked_up_by_the_key_not_sent_again(erp) -> None:
    before = len(invoices_of(erp, "17500001"))
    fault_add(system="sap", kind="drop", operation=f"{SI_SRV}/A_SupplierInvoice:POST", times=1)

    posted = erp.supplier_invoice_post(exact_invoice(), idempotency_key="VI-000048")

    assert posted.status == "5" and posted.header_text == "VI-000048"
    assert len(invoices_of(erp, "17500001")) == before + 1
    creates = SyncAttempt.objects.filter(operation="create:A_SupplierInvoice")
    assert [a.error_class for a in creates] == ["AmbiguousOutcome"]  # sent once, its answer lost


def test_a_lost_answer_to_the_post_is_read_back(erp) -> None:
    fault_add(system="sap", kind="drop", operation=f"{SI_SRV}/Post:POST", times=1)
    posted = erp.supplier_invoice_post(exact_invoice(), idempotency_key="VI-000049")
    assert posted.status == "5"
    assert [a.error_class for a in SyncAttempt.objects.filter(operation="function:Post")] == ["AmbiguousOutcome"]


def test_a_post_sap_could_not_do_leaves_the_invoice_parked_and_says_so(erp) -> None:
    fault_add(system="sap", kind="status", status=503, operation=f"{SI_SRV}/Post:POST", times=1)
    with pytest.raises(ServiceUnavailable):
        erp.supplier_invoice_post(exact_invoice(), idempotency_key="VI-000050")
    parked = erp.supplier_invoice_by_key("VI-000050")
    retried = erp.supplier_invoice_post(exact_invoice(), idempotency_key="VI-000050")

    assert parked is not None and parked.status == "A"
    assert retried.number == parked.number and retried.status == "5"


def test_calls_are_recorded_without_a_handoff(erp) -> None:
    erp.purchase_order_get("4500000001")
    attempts = SyncAttempt.objects.filter(operation="read:A_PurchaseOrder")
    assert [(a.handoff_id, a.status_code, a.ok) for a in attempts] == [(None, 200, True)]
    assert "sandbox" not in str(attempts[0].request)  # the password is never stored


def test_the_payables_port_comes_from_ports(service_root) -> None:
    ports.ports_reset()
    try:
        port = ports.payables_for()
        assert isinstance(port, PayablesPort)
        assert port.purchase_order_get("4500000009").supplier == "17500004"
    finally:
        ports.ports_reset()
