"""The status mapping: SAP's codes and documents to what sales sees, and the fake port's path
through the poll into the Salesforce sandbox."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from integration_hub import backflow
from integration_hub.erp.s4hana import delivery_status_label, invoice_state, order_status_label
from integration_hub.models import HandoffStatus
from integration_hub.orders import erp_order_block_set

TODAY = date(2026, 6, 1)


def test_it_maps_the_order_header_statuses():
    assert order_status_label({"OverallSDProcessStatus": "A"}) == "Open"
    assert order_status_label({"OverallSDProcessStatus": "B"}) == "In Process"
    assert order_status_label({"OverallSDProcessStatus": "C", "TotalCreditCheckStatus": "B"}) == "Completed"
    assert order_status_label({"OverallSDProcessStatus": "A", "TotalCreditCheckStatus": "B"}) == "Credit Hold"
    assert order_status_label({"OverallSDProcessStatus": "A", "DeliveryBlockReason": "01"}) == "Delivery Block"
    assert order_status_label({"OverallSDDocumentRejectionSts": "C"}) == "Cancelled"
    assert delivery_status_label({"OverallTotalDeliveryStatus": "B"}) == "Partially Delivered"
    assert delivery_status_label({"OverallDeliveryStatus": "C"}) == "Delivered"
    assert delivery_status_label({}) == "Not Delivered"


def _invoice(number: str, gross: str, **fields: object) -> dict[str, object]:
    return {"BillingDocument": number, "BillingDocumentType": "F2", "TotalGrossAmount": Decimal(gross),
            "BillingDocumentIsCancelled": False, **fields}


def _item(number: str, amount: str, *, cleared: bool = False, due: date = TODAY) -> dict[str, object]:
    return {"BillingDocument": number, "AmountInTransactionCurrency": Decimal(amount), "IsCleared": cleared,
            "NetDueDate": due}


def test_it_reads_invoice_status_from_billing_documents_and_receivables():
    assert invoice_state([], [], TODAY) == ("", "Not Invoiced", Decimal(0), Decimal(0))
    invoice = _invoice("90000001", "500.00")
    assert invoice_state([invoice], [_item("90000001", "500.00")], TODAY)[1:] == ("Open", Decimal("500.00"), 0)
    partly = [_item("90000001", "500.00", cleared=True), _item("90000001", "300.00")]
    assert invoice_state([invoice], partly, TODAY)[1:] == ("Partially Paid", Decimal("500.00"), Decimal("200.00"))
    late = [_item("90000001", "500.00", due=TODAY - timedelta(days=3))]
    assert invoice_state([invoice], late, TODAY)[1] == "Overdue"
    assert invoice_state([invoice], [_item("90000001", "500.00", cleared=True)], TODAY)[1] == "Paid"
    cancelled = [_invoice("90000001", "500.00", BillingDocumentIsCancelled=True),
                 _invoice("90000002", "500.00", BillingDocumentType="S1", CancelledBillingDocument="90000001")]
    assert invoice_state(cancelled, [], TODAY) == ("", "Cancelled", Decimal(0), Decimal(0))
    again = [*cancelled, _invoice("90000003", "450.00")]
    assert invoice_state(again, [_item("90000003", "450.00")], TODAY)[:2] == ("90000003", "Open")


def test_it_writes_what_the_fake_erp_says_and_rereads_open_invoices_without_an_order_change(fake_world):
    opportunity_id, _ = fake_world.flow.one("clean")
    handoff = fake_world.drive(fake_world.receive(opportunity_id))
    assert handoff.status == HandoffStatus.WRITTEN_BACK, handoff.last_error
    erp_order_block_set(handoff=handoff, delivery_block="")
    erp = fake_world.erp
    erp.status_set(handoff.sap_sales_order, order_status="Completed", delivery_status="Delivered",
                   invoice_number="90000007", invoice_status="Open", amount_invoiced=Decimal("1200.00"))

    backflow.erp_status_poll()
    shown = fake_world.opportunity(opportunity_id)
    assert (shown["ERP_Order_Status__c"], shown["ERP_Invoice_Number__c"], shown["ERP_Invoice_Status__c"]) == (
        "Completed", "90000007", "Open")

    erp.status_set(handoff.sap_sales_order, moved=False, invoice_status="Paid", amount_paid=Decimal("1200.00"))
    backflow.erp_status_poll()
    shown = fake_world.opportunity(opportunity_id)
    assert (shown["ERP_Invoice_Status__c"], shown["ERP_Amount_Paid__c"]) == ("Paid", 1200.0)
    assert "order_statuses" in erp.calls
