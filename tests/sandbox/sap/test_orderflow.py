"""The demo's orders move on by themselves: delivered after a minute, invoiced, most of them paid."""

from __future__ import annotations

import random

import requests

from integration_hub.sandbox.orderflow import OrderFlow
from integration_hub.sandbox.sap import sales
from integration_hub.sandbox.server import RunningSandbox


def _order(reference: str) -> str:
    created, _ = sales.sales_order_create({
        "SalesOrderType": "OR", "SalesOrganization": "1710", "DistributionChannel": "10", "OrganizationDivision": "00",
        "SoldToParty": "17100001", "PurchaseOrderByCustomer": reference,
        "to_Item": [{"Material": "MAT-SK-001", "RequestedQuantity": "2"}],
    }, user="TESTER")
    return str(created["SalesOrder"])


def _get(sandbox: RunningSandbox, path: str, **params: str) -> list[dict[str, object]]:
    response = requests.get(f"{sandbox.url}/sap/opu/odata/sap/{path}", params={**params, "$format": "json"},
                            auth=("sandbox", "sandbox"), timeout=10)
    assert response.status_code == 200, response.text
    return list(response.json()["d"]["results"])


def test_it_delivers_invoices_and_pays_an_order_as_time_passes(seeded_sap: RunningSandbox) -> None:
    order = _order("PO-FLOW-1")
    flow = OrderFlow(seeded_sap.url, ("sandbox", "sandbox"), random.Random(1))
    flow.fates[order] = "paid"

    assert flow.tick(now=0.0) == []  # first seen: nothing is due yet
    assert (order, "deliver") in flow.tick(now=61.0)
    assert (order, "invoice") in flow.tick(now=91.0)
    assert (order, "pay") in flow.tick(now=121.0)
    assert [step for step in flow.tick(now=500.0) if step[0] == order] == []  # nothing left to do

    [header] = _get(seeded_sap, "API_SALES_ORDER_SRV/A_SalesOrder", **{"$filter": f"SalesOrder eq '{order}'"})
    assert header["OverallDeliveryStatus"] == "C"
    billed = _get(seeded_sap, "API_BILLING_DOCUMENT_SRV/A_BillingDocumentItem", **{"$filter": f"SalesDocument eq '{order}'"})
    assert billed
    items = _get(seeded_sap, "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube",
                 **{"$filter": f"SalesDocument eq '{order}'"})
    assert items and all(item["IsCleared"] for item in items)


def test_it_leaves_an_unpaid_invoice_open(seeded_sap: RunningSandbox) -> None:
    order = _order("PO-FLOW-2")
    flow = OrderFlow(seeded_sap.url, ("sandbox", "sandbox"), random.Random(1))
    flow.fates[order] = "unpaid"
    for now in (0.0, 61.0, 91.0, 121.0):
        flow.tick(now=now)

    items = _get(seeded_sap, "API_OPLACCTGDOCITEMCUBE_SRV/A_OperationalAcctgDocItemCube",
                 **{"$filter": f"SalesDocument eq '{order}'"})
    assert items and not any(item["IsCleared"] for item in items)
