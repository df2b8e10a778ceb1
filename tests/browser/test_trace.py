"""The trace in a real browser: finance searches an SAP invoice number and reads the deal's whole
journey, from the deal arriving in the hub to SAP's payment."""

from __future__ import annotations

from unittest import mock

from integration_hub import backflow
from integration_hub.tasks import process_handoff
from tests.backflow.test_backflow import ordered, sap_event
from tests.conftest import browser_login, screenshot
from tests.factories import make_cast
from tests.pipeline.conftest import world  # noqa: F401


def test_it_shows_the_whole_journey_of_a_deal_from_its_invoice_number(world, browser_context, live_server):  # noqa: F811
    people = make_cast()
    with mock.patch.object(process_handoff, "delay", side_effect=lambda i: None):
        handoff = ordered(world)
    order = handoff.sap_sales_order
    sap_event(world, order, "deliver")
    invoiced = sap_event(world, order, "invoice")
    invoice = next(d["id"] for d in invoiced["documents"] if d["type"] == "billing_document")
    sap_event(world, order, "pay", amount="500.00")
    sap_event(world, order, "pay")
    backflow.erp_status_poll()

    page = browser_login(browser_context, live_server, people.integration_ops)
    page.goto("/trace/")
    page.fill("input[name=q]", invoice)
    page.click("button:text('Trace')")
    page.wait_for_selector("[data-matched='invoice']")
    assert page.inner_text("[data-sap-order]") == order
    assert page.inner_text("[data-opportunity]") == handoff.opportunity_id
    rows = page.eval_on_selector_all(
        ".trace-timeline li", "rs => rs.map(r => [r.dataset.kind, r.dataset.system, r.innerText])")
    journey = [kind for kind, _, text in rows
               if kind in ("delivery", "invoice", "payment")
               or (kind == "status" and ("Received" in text or "Written back" in text.split("\n")[-1]))]
    assert journey[0] == "status" and journey[-4:] == ["delivery", "invoice", "payment", "payment"]
    assert {system for _, system, _ in rows} == {"salesforce", "hub", "sap"}
    assert "Trace" in page.inner_text("header nav")
    screenshot(page, "trace")

    # The search went through htmx and into the address bar: a reload shows the same trace.
    assert f"q={invoice}" in page.url
