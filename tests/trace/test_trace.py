"""The trace: any business key of a deal answers with one timeline across Salesforce, the hub and
SAP, read live from SAP through the ERP port, as the person asking may see it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from exceptions.models import ExceptionType
from integration_hub import backflow, ports
from integration_hub.erp.base import ErpDocument
from integration_hub.models import HandoffEvent, HandoffStatus, SyncAttempt, salesforce_id_18
from integration_hub.services import handoff_receive
from tests.backflow.test_backflow import ordered, sap_event
from tests.factories import ORG_ID, HandoffFactory, SyncExceptionFactory, make_cast
from tests.fakes import FakeErp

API = "/api/v1/trace/"
NOTIFICATION = salesforce_id_18("04l5g00000ABCDE")


def api(user: Any, q: str, **params: str) -> Any:
    client = Client()
    client.force_login(user)
    return client.get(API, {"q": q, **params})


def kinds(body: dict[str, Any]) -> list[str]:
    return [entry["kind"] for entry in body["timeline"]]


def created_number(event: dict[str, Any], kind: str) -> str:
    return str(next(d["id"] for d in event["documents"] if d["type"] == kind and d["action"] == "created"))


def test_it_traces_a_deal_by_every_key_in_one_time_ordered_timeline(sync_world):
    people = make_cast()
    handoff = ordered(sync_world)
    order = handoff.sap_sales_order
    delivery = created_number(sap_event(sync_world, order, "deliver"), "outbound_delivery")
    invoice = created_number(sap_event(sync_world, order, "invoice"), "billing_document")

    # Before any status poll the hub has never heard of the invoice: it is found by asking SAP.
    body = api(people.integration_ops, invoice).json()
    assert body["matched"] == {"kind": "invoice", "value": invoice, "label": "SAP invoice (billing document)",
                               "via": "sap"}
    assert [h["id"] for h in body["handoffs"]] == [handoff.pk]
    assert not SyncAttempt.objects.filter(operation="read:A_BillingDocument", handoff__isnull=False).exists()
    assert SyncAttempt.objects.filter(operation="read:A_BillingDocument", handoff__isnull=True).exists()

    sap_event(sync_world, order, "pay", amount="1000.00")
    sap_event(sync_world, order, "pay")
    backflow.erp_status_poll()
    _, _ = handoff_receive(org_id=ORG_ID, opportunity_id=handoff.opportunity_id, source="webhook",
                           notification_id=NOTIFICATION, actor_label="webhook")
    business_partner = handoff.canonical["organization"]["sap_business_partner"]

    keys = {
        handoff.opportunity_id: "opportunity", handoff.opportunity_id[:15]: "opportunity",
        order: "sales_order", delivery: "delivery", invoice: "invoice", business_partner: "business_partner",
        NOTIFICATION[:15]: "notification", f"H-{handoff.pk}": "handoff", str(handoff.pk): "handoff",
    }
    for key, kind in keys.items():
        response = api(people.integration_ops, key)
        assert response.status_code == 200, (key, response.content)
        body = response.json()
        assert body["matched"]["kind"] == kind, key
        assert [h["id"] for h in body["handoffs"]] == [handoff.pk], key

    timeline = api(people.integration_ops, invoice).json()["timeline"]
    assert {e["system"] for e in timeline} == {"salesforce", "hub", "sap"}
    journey = [e["kind"] for e in timeline if e["kind"] in ("delivery", "invoice", "payment")
               or (e["kind"] == "status" and e["status"] in ("received", "written_back"))]
    assert journey == ["status", "status", "delivery", "invoice", "payment", "payment"]
    assert timeline[0]["kind"] in ("status", "notification", "sync_attempt")
    payments = [e for e in timeline if e["kind"] == "payment"]
    assert [e["title"] for e in payments][0] == "Part paid: 1,000.00 " + payments[0]["data"]["currency"]
    paid = sum(Decimal(e["data"]["amount"]) for e in payments)
    gross = next(Decimal(e["data"]["amount"]) for e in timeline if e["kind"] == "invoice")
    assert paid == gross
    assert any(e["kind"] == "erp_status_write" and "Paid" in e["detail"] for e in timeline)
    attempt = next(e for e in timeline if e["kind"] == "sync_attempt")
    assert {"method", "path", "status_code"} <= set(attempt["data"]) and "request" not in attempt["data"]
    assert attempt["duration_ms"] is not None
    # Timed entries are in time order; SAP's day-dated documents follow the order's write-back.
    timed = [e["at"] for e in timeline if not e["day_only"]]
    assert timed == sorted(timed)

    expanded = api(people.integration_ops, invoice, expand="bodies").json()["timeline"]
    assert "request" in next(e for e in expanded if e["kind"] == "sync_attempt")["data"]


def test_it_shows_the_hub_side_with_a_note_when_sap_cannot_be_read(sync_world, settings):
    people = make_cast()
    handoff = ordered(sync_world)
    settings.SAP_BASE_URL = "http://127.0.0.1:9/sap/opu/odata/sap/"
    ports.ports_reset()

    response = api(people.integration_ops, handoff.opportunity_id)
    assert response.status_code == 200
    body = response.json()
    assert any(note.startswith("SAP could not be read:") for note in body["notes"])
    assert "status" in kinds(body) and not {"delivery", "invoice", "payment"} & set(kinds(body))

    unknown = api(people.integration_ops, "90009999")
    assert unknown.status_code == 404
    assert "SAP could not be read" in unknown.json()["detail"]

    screen = Client()
    screen.force_login(people.integration_ops)
    page = screen.get("/trace/", {"q": handoff.opportunity_id})
    assert page.status_code == 200
    assert "SAP could not be read" in page.content.decode()


@pytest.fixture
def fake_erp() -> Any:
    fake = FakeErp()
    with ports.ports_use(erp=fake):
        yield fake


def test_it_lets_another_queue_see_that_an_exception_exists_but_not_what_it_says(cast, fake_erp):
    exception = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, title="Widget Pro has no SAP material",
                                     message="secret-ish detail",
                                     evidence={"product_code": "WP-1", "product_name": "Widget Pro"})
    handoff = exception.handoff

    mine = api(cast.product_ops, f"H-{handoff.pk}").json()["timeline"]
    assert [e["title"] for e in mine if e["kind"] == "exception"] == [
        "Product not mapped opened: Widget Pro has no SAP material"]
    assert next(e for e in mine if e["kind"] == "exception")["link"] == f"/triage/e/{exception.pk}/"
    triage = Client()
    triage.force_login(cast.product_ops)
    assert f'href="/trace/?q=H-{handoff.pk}">Trace this deal' in triage.get(f"/triage/e/{exception.pk}/").content.decode()

    # A deal with nothing of the pricing queue's is not the pricing analyst's to trace at all;
    # once it has a price variance too, they see it, and the product exception only as a fact.
    assert api(cast.pricing_analyst, f"H-{handoff.pk}").status_code == 404
    SyncExceptionFactory(handoff=handoff, type_code=ExceptionType.PRICING_MISMATCH, title="Price differs",
                         fingerprint="pricing_mismatch:WP-1")
    response = api(cast.pricing_analyst, f"H-{handoff.pk}")
    assert response.status_code == 200
    theirs = [e for e in response.json()["timeline"] if e["kind"] == "exception"]
    assert ("Product not mapped opened", True, "") in [(e["title"], e["hidden"], e["link"]) for e in theirs]
    assert "Widget Pro" not in response.content.decode()

    assert api(cast.outsider, f"H-{handoff.pk}").status_code == 404
    outsider = Client()
    outsider.force_login(cast.outsider)
    page = outsider.get("/trace/", {"q": f"H-{handoff.pk}"})
    assert page.status_code == 404 and "Nothing matches" in page.content.decode()
    assert Client().get("/trace/", {"q": "H-1"}).status_code == 302  # login first
    assert Client().get(API, {"q": "H-1"}).status_code in (401, 403)


@pytest.mark.parametrize(("q", "says"), [
    ("", "Nothing to trace"), ("x" * 41, "41 characters"), ("5000001; DROP", "letters, digits and dashes"),
])
def test_it_answers_400_for_what_is_no_key(cast, q, says):
    response = api(cast.integration_ops, q)
    assert response.status_code == 400
    assert says in response.json()["detail"]
    if q:
        client = Client()
        client.force_login(cast.integration_ops)
        page = client.get("/trace/", {"q": q})
        assert page.status_code == 400 and says in page.content.decode()


def test_it_answers_404_for_a_key_nothing_has(cast, fake_erp):
    for q in ("H-999999", "77777777", "0065g00000ZZZZZ"):
        response = api(cast.integration_ops, q)
        assert response.status_code == 404, q
        assert response.json()["detail"].startswith(f"Nothing matches “{q}”")
    assert "document_find" in fake_erp.calls  # the 8-digit number was asked of SAP


def test_it_lists_a_customers_deals_each_with_its_trace(cast, fake_erp):
    deals = [HandoffFactory(canonical={"name": f"Deal {i}", "amount": "1000", "currency": "USD",
                                       "organization": {"name": "Acme", "sap_business_partner": "17100009"}})
             for i in range(3)]
    body = api(cast.integration_ops, "17100009").json()
    assert body["matched"]["kind"] == "business_partner"
    assert sorted(h["id"] for h in body["handoffs"]) == sorted(d.pk for d in deals)
    assert body["timeline"] == []
    client = Client()
    client.force_login(cast.integration_ops)
    page = client.get("/trace/", {"q": "17100009"}).content.decode()
    for deal in deals:
        assert f'href="/trace/?q=H-{deal.pk}"' in page


def test_it_reads_an_order_number_before_a_handoff_id_and_says_both_match(cast, fake_erp):
    first = HandoffFactory()
    other = HandoffFactory(sap_sales_order=str(first.pk), status=HandoffStatus.WRITTEN_BACK)
    body = api(cast.integration_ops, str(first.pk)).json()
    assert body["matched"]["kind"] == "sales_order" and body["handoffs"][0]["id"] == other.pk
    assert any(f"H-{first.pk}" in note for note in body["notes"])
    assert api(cast.integration_ops, f"H-{first.pk}").json()["handoffs"][0]["id"] == first.pk


def test_it_places_sap_documents_dated_by_day_after_the_order_was_written_back(cast, fake_erp):
    handoff = HandoffFactory(sap_sales_order="5000123", status=HandoffStatus.WRITTEN_BACK)
    now = timezone.now()
    HandoffEvent.objects.create(handoff=handoff, actor_label="worker", from_status="created", to_status="written_back")
    today = now.date()
    fake_erp.document_add(ErpDocument("payment", "1400000001", "5000123", today, Decimal("119.00"), "USD", "Paid",
                                      "90000001"))
    fake_erp.document_add(ErpDocument("invoice", "90000001", "5000123", today, Decimal("119.00"), "USD", "Paid"))
    fake_erp.document_add(ErpDocument("delivery", "80000001", "5000123", today, status="Goods issued"))
    fake_erp.document_add(ErpDocument("delivery", "80000000", "5000123", today - timedelta(days=400)))
    body = api(cast.integration_ops, "90000001").json()
    assert body["matched"] == {"kind": "invoice", "value": "90000001", "label": "SAP invoice (billing document)",
                               "via": "sap"}
    assert kinds(body) == ["status", "delivery", "delivery", "invoice", "payment"]
    assert body["timeline"][1]["at"] == (today - timedelta(days=400)).isoformat()  # shown as SAP dated it


def test_it_is_described_in_the_schema(cast):
    client = Client()
    client.force_login(cast.admin)
    schema = client.get("/api/schema/").content.decode()
    assert "/api/v1/trace/" in schema and "TraceEntry" in schema
