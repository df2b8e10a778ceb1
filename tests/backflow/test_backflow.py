"""ERP → CRM status: what SAP does to an order after the handoff shows in Salesforce.

Both sandboxes over HTTP: the pipeline turns a clean deal into an order, the SAP sandbox's
events deliver, invoice, take payments and block credit as a tenant would, and the status poll
(`integration_hub.backflow`) writes what changed onto the Opportunity and its Account.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import requests

from exceptions.models import ExceptionStatus, SyncException
from integration_hub import backflow
from integration_hub.models import ErpStatusWrite, Handoff, HandoffStatus, SyncAttempt
from integration_hub.orders import erp_order_block_set
from integration_hub.services import erp_status_watermark_claim

ERP_FIELDS = ("ERP_Order_Status__c", "ERP_Delivery_Status__c", "ERP_Invoice_Number__c", "ERP_Invoice_Status__c",
              "ERP_Amount_Invoiced__c", "ERP_Amount_Paid__c")


def sap_event(world: Any, number: str, event: str, **options: Any) -> dict[str, Any]:
    response = requests.post(f"{world.sap_url}/_sandbox/events", json={"sales_order": number, "event": event, **options},
                             auth=("sandbox", "sandbox"), timeout=10)
    assert response.status_code == 201, response.text
    return dict(response.json())


def ordered(world: Any) -> Handoff:
    """A clean deal made into an SAP order whose approval window has passed (its block released)."""
    opportunity_id, _ = world.flow.one("clean")
    handoff = world.drive(world.receive(opportunity_id))
    assert handoff.status == HandoffStatus.WRITTEN_BACK, handoff.last_error
    if world.erp.order_get(handoff.sap_sales_order).delivery_block:
        erp_order_block_set(handoff=handoff, delivery_block="")
    return handoff


def erp_fields(world: Any, handoff: Handoff) -> dict[str, Any]:
    opportunity = world.opportunity(handoff.opportunity_id)
    return {name: opportunity[name] for name in ERP_FIELDS}


def account(world: Any, handoff: Handoff) -> dict[str, Any]:
    opportunity = world.opportunity(handoff.opportunity_id)
    return dict(world.salesforce.get("Account", opportunity["AccountId"]))


def composite_calls() -> int:
    return SyncAttempt.objects.filter(operation="composite:sobjects").count()


def invoice_gross(world: Any, created: dict[str, Any]) -> Decimal:
    number = next(d["id"] for d in created["documents"] if d["type"] == "billing_document")
    response = requests.get(f"{world.sap_url}/sap/opu/odata/sap/API_BILLING_DOCUMENT_SRV/A_BillingDocument('{number}')",
                            auth=("sandbox", "sandbox"), headers={"Accept": "application/json"}, timeout=10)
    return Decimal(response.json()["d"]["TotalGrossAmount"])


def test_it_shows_delivery_invoice_and_payments_in_salesforce_and_writes_nothing_unchanged(sync_world):
    handoff = ordered(sync_world)
    number = handoff.sap_sales_order

    backflow.erp_status_poll()
    assert erp_fields(sync_world, handoff) == {
        "ERP_Order_Status__c": "Open", "ERP_Delivery_Status__c": "Not Delivered", "ERP_Invoice_Number__c": None,
        "ERP_Invoice_Status__c": "Not Invoiced", "ERP_Amount_Invoiced__c": 0.0, "ERP_Amount_Paid__c": 0.0}
    assert sync_world.opportunity(handoff.opportunity_id)["ERP_Last_Synced__c"]

    sap_event(sync_world, number, "deliver", quantity_fraction=0.5)
    backflow.erp_status_poll()
    shown = erp_fields(sync_world, handoff)
    assert (shown["ERP_Order_Status__c"], shown["ERP_Delivery_Status__c"]) == ("In Process", "Partially Delivered")

    sap_event(sync_world, number, "deliver")
    invoice = sap_event(sync_world, number, "invoice")
    gross = invoice_gross(sync_world, invoice)
    invoice_number = next(d["id"] for d in invoice["documents"] if d["type"] == "billing_document")
    backflow.erp_status_poll()
    assert erp_fields(sync_world, handoff) == {
        "ERP_Order_Status__c": "Completed", "ERP_Delivery_Status__c": "Delivered",
        "ERP_Invoice_Number__c": invoice_number, "ERP_Invoice_Status__c": "Open",
        "ERP_Amount_Invoiced__c": float(gross), "ERP_Amount_Paid__c": 0.0}
    open_ar_invoiced = Decimal(str(account(sync_world, handoff)["ERP_Open_AR__c"]))

    # A payment posts in FI: the order's LastChangeDateTime stays, the poll re-reads open invoices.
    sap_event(sync_world, number, "pay", amount="1000.00")
    backflow.erp_status_poll()
    shown = erp_fields(sync_world, handoff)
    assert (shown["ERP_Invoice_Status__c"], shown["ERP_Amount_Paid__c"]) == ("Partially Paid", 1000.0)
    assert Decimal(str(account(sync_world, handoff)["ERP_Open_AR__c"])) == open_ar_invoiced - 1000

    sap_event(sync_world, number, "pay")
    backflow.erp_status_poll()
    shown = erp_fields(sync_world, handoff)
    assert (shown["ERP_Invoice_Status__c"], shown["ERP_Amount_Paid__c"]) == ("Paid", float(gross))
    assert Decimal(str(account(sync_world, handoff)["ERP_Open_AR__c"])) == open_ar_invoiced - gross

    calls = composite_calls()
    result = backflow.erp_status_poll()
    assert result.claimed and result.records_sent == 0
    assert composite_calls() == calls

    # Each landed record is kept for the deal's trace, with the ERP change it carried.
    writes = list(ErpStatusWrite.objects.filter(handoff=handoff, kind="deal"))
    assert [w.view["invoice_status"] for w in writes] == [
        "Not Invoiced", "Not Invoiced", "Open", "Partially Paid", "Paid"]
    assert all(w.written and w.record_id == handoff.opportunity_id for w in writes)
    assert writes[1].erp_changed_at is not None and writes[1].erp_changed_at <= writes[1].created_at


def test_it_shows_a_credit_block_on_the_order_and_on_the_account(sync_world):
    handoff = ordered(sync_world)
    backflow.erp_status_poll()
    assert account(sync_world, handoff)["ERP_Credit_Status__c"] == "OK"

    sap_event(sync_world, handoff.sap_sales_order, "credit_block")
    backflow.erp_status_poll()
    assert erp_fields(sync_world, handoff)["ERP_Order_Status__c"] == "Credit Hold"
    assert account(sync_world, handoff)["ERP_Credit_Status__c"] == "Blocked"

    sap_event(sync_world, handoff.sap_sales_order, "credit_release")
    backflow.erp_status_poll()
    assert erp_fields(sync_world, handoff)["ERP_Order_Status__c"] == "Open"
    assert account(sync_world, handoff)["ERP_Credit_Status__c"] == "OK"


def test_it_writes_many_orders_in_one_composite_call(sync_world):
    handoffs = [ordered(sync_world) for _ in range(3)]
    for handoff in handoffs:
        sap_event(sync_world, handoff.sap_sales_order, "deliver")
    calls = composite_calls()

    result = backflow.erp_status_poll()

    assert composite_calls() == calls + 1
    assert result.records_sent >= 3 and result.records_refused == 0
    for handoff in handoffs:
        assert erp_fields(sync_world, handoff)["ERP_Delivery_Status__c"] == "Delivered"


def test_it_opens_crm_update_rejected_for_a_refused_record_while_the_others_land_and_resolves_it_later(sync_world):
    refused, landed = ordered(sync_world), ordered(sync_world)
    sync_world.fault("salesforce", operation=f"composite:sobjects:Opportunity:{refused.opportunity_id}",
                     kind="status", status=400, message="ERP fields are locked while the deal is audited", times=1)

    result = backflow.erp_status_poll()

    assert result.records_refused == 1
    assert erp_fields(sync_world, landed)["ERP_Order_Status__c"] == "Open"
    assert erp_fields(sync_world, refused)["ERP_Order_Status__c"] is None
    exception = SyncException.objects.get(handoff=refused, type_code="crm_update_rejected")
    assert exception.status == ExceptionStatus.OPEN
    assert exception.queue.slug == "integration-ops"
    assert exception.evidence["errors"][0]["code"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert "locked while the deal is audited" in exception.evidence["errors"][0]["message"]
    assert not SyncException.objects.filter(handoff=landed).exists()

    backflow.erp_status_poll()  # nothing changed in SAP: the refused record is sent again all the same

    assert erp_fields(sync_world, refused)["ERP_Order_Status__c"] == "Open"
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    refused.refresh_from_db()
    assert refused.status == HandoffStatus.WRITTEN_BACK
    assert refused.erp_status["pending"] == []


@pytest.mark.django_db
def test_it_skips_a_poll_while_another_beat_holds_the_target():
    assert erp_status_watermark_claim(erp_target="s4hana", worker="other-beat") is not None

    result = backflow.erp_status_poll()

    assert not result.claimed
    assert SyncAttempt.objects.count() == 0
