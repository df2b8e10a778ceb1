from __future__ import annotations

import pytest
import requests

from integration_hub.sandbox import catalog
from integration_hub.sandbox.netsuite.models import NsRecord

OPP = "006000000000042AAA"
CUSTOMER = catalog.netsuite_customers()[0]


def _order() -> dict[str, object]:
    return {"entity": {"id": CUSTOMER.internal_id}, "item": {"items": [
        {"item": {"id": "501"}, "quantity": 1, "rate": 1000}, {"item": {"id": "507"}, "quantity": 4, "rate": 250}]}}


def _fault(ns, **spec: object) -> None:
    response = ns.session.post(f"{ns.url}/_sandbox/faults", json=spec, timeout=10)
    assert response.status_code == 201, response.text


def _event(ns, **body: object) -> requests.Response:
    return ns.session.post(f"{ns.url}/_sandbox/events", json=body, timeout=10)


def test_it_answers_an_injected_5xx_in_netsuites_format_and_creates_nothing(ns):
    _fault(ns, kind="status", status=503, operation="record/salesOrder:PUT", times=1)
    failed = ns.request("PUT", f"salesOrder/eid:{OPP}", json=_order())
    assert failed.status_code == 503
    assert failed.json()["o:errorDetails"][0]["o:errorCode"] == "UNEXPECTED_ERROR"
    assert not NsRecord.objects.filter(record_type="salesOrder").exists()
    assert ns.request("PUT", f"salesOrder/eid:{OPP}", json=_order()).status_code == 204


def test_it_rate_limits_with_retry_after(ns):
    _fault(ns, kind="rate_limit", retry_after=7, operation="query/suiteql:POST", times=1)
    limited = ns.suiteql("SELECT id FROM customer")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "7")
    assert ns.suiteql("SELECT id FROM customer").status_code == 200


def test_a_dropped_response_still_leaves_one_order_after_the_upsert_is_repeated(ns):
    _fault(ns, kind="drop", operation="record/salesOrder:PUT", times=1)
    with pytest.raises(requests.ConnectionError):
        ns.request("PUT", f"salesOrder/eid:{OPP}", json=_order())
    assert NsRecord.objects.filter(record_type="salesOrder", external_id=OPP).count() == 1  # committed
    assert ns.request("PUT", f"salesOrder/eid:{OPP}", json=_order()).status_code == 204
    assert NsRecord.objects.filter(record_type="salesOrder").count() == 1


def test_the_control_plane_wants_credentials(ns):
    assert requests.post(f"{ns.url}/_sandbox/faults", json={"kind": "drop"}, timeout=10).status_code == 401
    assert requests.post(f"{ns.url}/_sandbox/events", json={}, timeout=10).status_code == 401
    basic = requests.get(f"{ns.url}/_sandbox/faults", auth=("sandbox", "sandbox"), timeout=10)
    assert basic.json() == {"faults": []}


def test_events_fulfil_invoice_and_pay_an_order_visibly_through_the_record_api(ns):
    order_id = ns.created_id(ns.request("PUT", f"salesOrder/eid:{OPP}", json=_order()))
    tran_id = ns.get(f"salesOrder/{order_id}").json()["tranId"]
    half = _event(ns, sales_order=f"eid:{OPP}", event="fulfil", quantity_fraction=0.5)
    assert half.status_code == 201, half.text
    assert half.json()["orderStatus"]["id"] == "E"  # licence billable, gateways half shipped
    assert _event(ns, sales_order=tran_id, event="fulfil").json()["orderStatus"]["refName"] == "Pending Billing"
    invoiced = _event(ns, sales_order=order_id, event="invoice").json()
    assert invoiced["orderStatus"] == {"id": "G", "refName": "Billed"}
    invoice_id = invoiced["records"][0]["id"]
    assert ns.get(f"invoice/{invoice_id}").json()["amountRemaining"] == 2000.0
    partial = _event(ns, sales_order=order_id, event="pay", amount=500)
    assert partial.status_code == 201
    invoice = ns.get(f"invoice/{invoice_id}").json()
    assert (invoice["amountPaid"], invoice["amountRemaining"], invoice["status"]["id"]) == (500.0, 1500.0, "Open")
    _event(ns, sales_order=order_id, event="pay")
    invoice = ns.get(f"invoice/{invoice_id}").json()
    assert (invoice["amountRemaining"], invoice["status"]["id"]) == (0.0, "Paid In Full")
    payments = ns.rows(f"SELECT foreigntotal FROM transaction WHERE type = 'CustPymt' AND entity = {CUSTOMER.internal_id} "
                       "ORDER BY id")
    assert payments == [{"foreigntotal": "500"}, {"foreigntotal": "1500"}]
    assert _event(ns, sales_order=order_id, event="pay").status_code == 409  # nothing left to pay


def test_events_refuse_bad_input_with_a_reason(ns):
    assert _event(ns, sales_order="4242", event="fulfil").status_code == 404
    assert _event(ns, sales_order="4242", event="explode").json()["field"] == "event"
    order_id = ns.created_id(ns.request("POST", "salesOrder", json=_order()))
    assert _event(ns, sales_order=order_id, event="fulfil", quantity_fraction=3).status_code == 400
    assert _event(ns, sales_order=order_id, event="fulfil", colour="red").status_code == 400
    assert _event(ns, sales_order=order_id, event="cancel").json()["orderStatus"]["id"] == "C"
    assert _event(ns, sales_order=order_id, event="invoice").status_code == 409
