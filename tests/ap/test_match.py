"""The 3-way match end to end: the API takes an invoice, the match reads the SAP sandbox over HTTP
(POs, receipts, SAP's own invoices) and either posts a supplier invoice there or raises the
catalogue's exception in the right queue. The worker is simulated: the rematch task's `delay`
runs the match at once (after commit, as a worker would)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from approvals.errors import FourEyesViolation
from exceptions.models import ExceptionStatus, SyncException
from exceptions.queues import queue_ensure
from exceptions.services import queue_member_add
from integration_hub import ports
from integration_hub.ap import services, tasks
from integration_hub.ap.intake import Field, from_json
from integration_hub.ap.models import AcceptanceStatus, VendorInvoice
from integration_hub.connectors.sap import SapClient
from integration_hub.erp.s4hana import S4HanaErp
from integration_hub.recording import record
from integration_hub.sandbox.sap import procurement
from integration_hub.sandbox.sap.seed import seed
from integration_hub.sandbox.server import RunningSandbox
from tests.factories import UserFactory

AP_QUEUES = ("procurement", "receiving", "warehouse", "ap-supervisor", "ap-team", "ap-analyst")


@pytest.fixture
def erp(sap_sandbox: RunningSandbox, settings: Any, tmp_path: Any) -> Iterator[S4HanaErp]:
    seed()
    root = f"{sap_sandbox.url}/sap/opu/odata/sap/"
    settings.SAP_BASE_URL, settings.SAP_USER, settings.SAP_PASSWORD, settings.SAP_TIMEOUT = root, "sandbox", "sandbox", 10
    settings.MEDIA_ROOT = str(tmp_path)
    settings.HUB_AP_FOUR_EYES_AMOUNT = 1000.0
    adapter = S4HanaErp(SapClient(base_url=root, user="sandbox", password="sandbox", timeout=10, recorder=record))
    with mock.patch.object(ports, "payables_for", lambda target="s4hana": adapter), \
            mock.patch.object(tasks.vendor_invoice_rematch, "delay",
                              side_effect=lambda pk: services.vendor_invoice_match(invoice_id=pk, erp=adapter)):
        yield adapter
    adapter.close()


@pytest.fixture
def clerk(transactional_db: None) -> Any:
    """An AP clerk working every AP queue."""
    user = UserFactory(username="ap_clerk")
    for slug in AP_QUEUES:
        queue_member_add(queue=queue_ensure(slug=slug), user=user)
    return user


@pytest.fixture
def approver(transactional_db: None) -> Any:
    user = UserFactory(username="ap_approver")
    user.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    queue_member_add(queue=queue_ensure(slug="procurement"), user=user)
    return user


def api(user: Any) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def body(supplier: str, lines: list[tuple[str, str, str, str, str]], *, number: str = "NW-1",
         day: str = "2026-12-01", currency: str = "USD", terms: str = "NT30", gross: str = "") -> dict[str, Any]:
    total = sum(Decimal(q) * Decimal(p) for _, _, _, q, p in lines)
    return {"supplier": supplier, "invoice_number": number, "invoice_date": day, "currency": currency,
            "payment_terms": terms, "gross_amount": gross or str(total.quantize(Decimal("0.01"))),
            "lines": [{"purchase_order": po, "purchase_order_item": item, "material": material, "quantity": q,
                       "unit_price": p} for po, item, material, q, p in lines]}


def send(user: Any, payload: dict[str, Any]) -> tuple[VendorInvoice, dict[str, Any]]:
    response = api(user).post("/api/v1/ap/invoices/", payload, format="json")
    assert response.status_code in (200, 201), response.content
    invoice = VendorInvoice.objects.get(pk=response.json()["id"])
    detail = api(user).get(f"/api/v1/ap/invoices/{invoice.pk}/")
    assert detail.status_code == 200
    return invoice, detail.json()


def open_types(invoice: VendorInvoice) -> dict[str, str]:
    return {e.type_code: e.queue.slug for e in invoice.exceptions.filter(status=ExceptionStatus.OPEN)
            .select_related("queue")}


EXACT = ("4500000001", "10", "MAT-SK-001", "100", "240.00")


def test_it_posts_an_exact_match_once_in_sap_even_when_sent_twice(erp, clerk) -> None:
    payload = body("17500001", [EXACT])
    first = api(clerk).post("/api/v1/ap/invoices/", payload, format="json")
    assert first.status_code == 201 and set(first.json()) == {"id", "status"}
    again = api(clerk).post("/api/v1/ap/invoices/", payload, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    detail = api(clerk).get(f"/api/v1/ap/invoices/{first.json()['id']}/").json()
    assert detail["status"] == "posted" and detail["sap_supplier_invoice"]
    assert detail["open_exception_types"] == []
    assert detail["extracted"]["fields"]["invoice_number"] == {"value": "NW-1", "confidence": 1.0, "source": "json"}
    assert [line["result"] for line in detail["match"]["lines"]] == ["matched"]
    posted = erp.supplier_invoices_find(supplier="17500001", reference="NW-1")
    assert len(posted) == 1 and posted[0].number == detail["sap_supplier_invoice"]
    assert posted[0].payment_block == "" and posted[0].gross_amount == Decimal("24000.00")


def test_it_holds_a_price_variance_blocked_for_payment_and_releases_it_once_accepted(erp, clerk) -> None:
    invoice, detail = send(clerk, body("17500001", [("4500000001", "20", "MAT-NS-001", "10", "1550.00")]))
    assert detail["status"] == "held" and detail["open_exception_types"] == ["ap_price_variance"]
    assert open_types(invoice) == {"ap_price_variance": "procurement"}
    assert detail["sap_supplier_invoice"] and detail["payment_block"] == "R"
    exception = invoice.exceptions.get()
    with pytest.raises(services.ApError):
        services.variance_accept(exception=exception, actor=clerk, reason=" ")
    services.variance_accept(exception=exception, actor=clerk, reason="supplier surcharge agreed by phone")
    invoice.refresh_from_db()
    assert invoice.status == "posted" and invoice.payment_block == ""
    [sap] = erp.supplier_invoices_find(supplier="17500001", reference="NW-1")
    assert sap.payment_block == ""


def test_it_asks_a_second_person_before_accepting_a_large_variance(erp, clerk, approver) -> None:
    invoice, detail = send(clerk, body("17500002", [("4500000003", "10", "MAT-RS-001", "20", "6200.00")],
                                       terms="NT45"))
    assert detail["open_exception_types"] == ["ap_price_variance"]
    exception = invoice.exceptions.get()
    acceptance = services.variance_accept(exception=exception, actor=clerk, reason="new price list")
    assert acceptance.status == AcceptanceStatus.PENDING and acceptance.amount == Decimal("4000.00")
    with pytest.raises(FourEyesViolation):
        services.variance_acceptance_decide(acceptance=acceptance, actor=clerk, approve=True)
    services.variance_acceptance_decide(acceptance=acceptance, actor=approver, approve=True)
    invoice.refresh_from_db()
    assert invoice.status == "posted" and invoice.payment_block == ""


def test_it_matches_a_partial_receipt_and_holds_more_than_was_received(erp, clerk) -> None:
    partial, detail = send(clerk, body("17500001", [("4500000002", "10", "MAT-EG-001", "30", "900.00")]))
    assert detail["status"] == "posted"
    over, detail = send(clerk, body("17500001", [("4500000002", "10", "MAT-EG-001", "50", "900.00")],
                                    number="NW-2"))
    # 30 received and already invoiced: nothing is left to invoice.
    assert open_types(over) == {"ap_quantity_variance": "receiving"} and detail["status"] == "held"


def test_it_sums_split_shipments_and_reads_per_100_prices(erp, clerk) -> None:
    _, split = send(clerk, body("17500002", [("4500000003", "10", "MAT-RS-001", "20", "6000.00"),
                                             ("4500000003", "20", "MAT-SK-001", "40", "245.00")], terms="NT45"))
    assert split["status"] == "posted", split["match"]
    assert [line["detail"]["received"] for line in split["match"]["lines"]] == ["20.000", "40.000"] or \
        [Decimal(line["detail"]["received"]) for line in split["match"]["lines"]] == [20, 40]
    _, per_100 = send(clerk, body("17500002", [("4500000004", "10", "MAT-SK-001", "1000", "235.00")],
                                  terms="NT45", number="NW-100"))
    assert per_100["status"] == "posted" and per_100["open_exception_types"] == []


def test_it_counts_a_reversal_against_the_receipt(erp, clerk) -> None:
    _, net = send(clerk, body("17500002", [("4500000010", "10", "MAT-NS-001", "8", "1450.00")], terms="NT45"))
    assert net["status"] == "posted"  # 10 received, 2 sent back: 8


def test_it_holds_an_invoice_for_more_than_the_reversal_left(erp, clerk) -> None:
    over, detail = send(clerk, body("17500002", [("4500000010", "10", "MAT-NS-001", "10", "1450.00")], terms="NT45"))
    assert open_types(over) == {"ap_quantity_variance": "receiving"}
    assert Decimal(over.exceptions.get().evidence["received"]) == 8


def test_it_posts_one_invoice_over_two_purchase_orders(erp, clerk) -> None:
    _, detail = send(clerk, body("17500001", [EXACT, ("4500000002", "10", "MAT-EG-001", "30", "900.00")]))
    assert detail["status"] == "posted" and detail["gross_amount"] == "51000.00"
    [sap] = erp.supplier_invoices_find(supplier="17500001", reference="NW-1")
    assert sap.gross_amount == Decimal("51000.00")


def test_it_waits_for_a_missing_receipt_and_posts_once_it_arrives(erp, clerk) -> None:
    invoice, detail = send(clerk, body("17500001", [("4500000005", "10", "MAT-NS-001", "5", "1500.00")]))
    assert open_types(invoice) == {"ap_missing_receipt": "warehouse"}
    assert detail["status"] == "held" and not detail["sap_supplier_invoice"]
    services.receipt_wait(exception=invoice.exceptions.get(), actor=clerk)
    assert tasks.waiting_invoices_rematch() == 1
    invoice.refresh_from_db()
    assert invoice.status == "held"
    procurement.material_document_create({
        "GoodsMovementCode": "01", "PostingDate": "/Date(1764547200000)/", "DocumentDate": "/Date(1764547200000)/",
        "to_MaterialDocumentItem": [{"GoodsMovementType": "101", "PurchaseOrder": "4500000005",
                                     "PurchaseOrderItem": "10", "QuantityInEntryUnit": "5", "EntryUnit": "PC"}],
    }, user="CB9980000000")
    tasks.waiting_invoices_rematch()
    invoice.refresh_from_db()
    assert invoice.status == "posted" and invoice.sap_supplier_invoice
    assert invoice.exceptions.get().status == ExceptionStatus.RESOLVED


def test_it_blocks_an_invoice_from_another_party_than_the_po_supplier(erp, clerk) -> None:
    invoice, detail = send(clerk, body("17500001", [("4500000009", "10", "MAT-SK-001", "200", "190.00")],
                                       currency="GBP", terms="NT60"))
    assert open_types(invoice) == {"ap_vendor_mismatch": "ap-supervisor"}
    assert not detail["sap_supplier_invoice"]


def test_it_finds_a_duplicate_in_sap_with_the_reference_written_differently(erp, clerk) -> None:
    invoice, detail = send(clerk, body("17500001", [("4500000008", "10", "MAT-SK-001", "10", "240.00")],
                                       number="inv 123", day="2026-11-20"))
    assert open_types(invoice) == {"ap_duplicate_invoice": "ap-team"} and not detail["sap_supplier_invoice"]
    assert "INV-00123" in invoice.exceptions.get().message
    services.duplicate_reject(exception=invoice.exceptions.get(), actor=clerk, note="already paid")
    invoice.refresh_from_db()
    assert invoice.status == "rejected"
    assert len(erp.supplier_invoices_find(supplier="17500001", reference="INV-00123")) == 1


def test_it_finds_a_duplicate_the_hub_already_has(erp, clerk) -> None:
    first, _ = send(clerk, body("17500001", [EXACT], number="INV-00777"))
    second, detail = send(clerk, body("17500001", [EXACT], number="inv 777") | {"currency": "usd"})
    assert first.status == "posted"
    assert open_types(second)["ap_duplicate_invoice"] == "ap-team" and not second.sap_supplier_invoice
    assert first.key in second.exceptions.get(type_code="ap_duplicate_invoice").title


def test_it_posts_a_terms_conflict_with_a_note_for_the_analyst(erp, clerk) -> None:
    invoice, detail = send(clerk, body("17500002", [("4500000006", "10", "MAT-EG-001", "10", "880.00")],
                                       terms="NT45"))
    assert detail["status"] == "posted" and detail["sap_supplier_invoice"]
    assert open_types(invoice) == {"ap_terms_conflict": "ap-analyst"}


def test_it_flags_a_substituted_material_instead_of_matching_it(erp, clerk) -> None:
    invoice, detail = send(clerk, body("17500001", [("4500000001", "10", "MAT-SK-002", "100", "240.00")]))
    assert detail["open_exception_types"] == ["ap_price_variance"]
    assert "substituted material MAT-SK-002" in invoice.exceptions.get().title


def test_it_sends_a_doubtful_field_to_a_person_and_matches_once_corrected(erp, clerk) -> None:
    extracted = from_json(body("17500001", [EXACT]))
    extracted = replace(extracted, invoice_date=Field("2026-12-07", 0.42, "ocr"), format="ocr")
    invoice, created = services.vendor_invoice_receive(extracted=extracted, content=b"scan", actor=clerk)
    assert created
    invoice.refresh_from_db()
    assert open_types(invoice) == {"ap_extraction_review": "ap-team"} and not invoice.sap_supplier_invoice
    with pytest.raises(services.ApError):
        services.invoice_field_correct(invoice=invoice, actor=clerk, path="invoice_date", value="7 Dec")
    services.invoice_field_correct(invoice=invoice, actor=clerk, path="invoice_date", value="2026-12-01")
    invoice.refresh_from_db()
    assert invoice.status == "posted" and invoice.invoice_date == date(2026, 12, 1)
    assert invoice.exceptions.get().status == ExceptionStatus.RESOLVED


def test_a_vendor_invoice_exception_opens_on_the_triage_screens(erp, clerk, client) -> None:
    invoice, _ = send(clerk, body("17500001", [("4500000009", "10", "MAT-SK-001", "200", "190.00")],
                                  currency="GBP", terms="NT60"))
    exception = invoice.exceptions.get()
    client.force_login(clerk)
    page = client.get(f"/triage/e/{exception.pk}/")
    assert page.status_code == 200 and invoice.key.encode() in page.content
    assert client.get("/triage/q/ap-supervisor/").status_code == 200
    assert client.get(f"/ap/invoices/{invoice.pk}/").status_code == 200
    api_row = api(clerk).get(f"/api/v1/exceptions/{exception.pk}/").json()
    assert api_row["vendor_invoice"] == invoice.pk and api_row["opportunity_id"] is None
    assert SyncException.objects.filter(vendor_invoice=invoice, handoff__isnull=True).count() == 1


def test_the_dashboard_shows_the_3_way_match_rate_once_invoices_matched(erp, clerk) -> None:
    from integration_hub.dashboard import dashboard_get

    admin = UserFactory(username="ap_admin", is_staff=True, is_superuser=True)
    send(clerk, body("17500001", [EXACT]))
    send(clerk, body("17500001", [("4500000009", "10", "MAT-SK-001", "200", "190.00")], number="NW-9",
                     currency="GBP", terms="NT60"))
    board = dashboard_get(user=admin)
    assert board is not None
    metric = next(m for m in board.metrics if m.key == "three_way_match")
    assert metric.available and (metric.numerator, metric.denominator) == (1, 2) and metric.value == 0.5


CSV = (b"supplier,invoice_number,invoice_date,currency,payment_terms,gross_amount,purchase_order,"
       b"purchase_order_item,material,quantity,unit_price,unit\n"
       b"17500002,CSV-7,2026-12-01,USD,NT45,235000.00,4500000004,10,MAT-SK-001,1000,235.00,PC\n")


def test_the_same_file_uploaded_twice_on_the_screen_posts_once(erp, clerk, client) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(clerk)
    first = client.post("/ap/upload/", {"file": SimpleUploadedFile("inv.csv", CSV, "text/csv")})
    again = client.post("/ap/upload/", {"file": SimpleUploadedFile("copy.csv", CSV, "text/csv")},
                        HTTP_HX_REQUEST="true")
    invoice = VendorInvoice.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/ap/invoices/{invoice.pk}/"
    assert again.status_code == 200 and invoice.key.encode() in again.content
    assert invoice.status == "posted" and invoice.format == "csv" and invoice.document
    assert len(erp.supplier_invoices_find(supplier="17500002", reference="CSV-7")) == 1
    assert client.get(f"/ap/invoices/{invoice.pk}/document/").status_code == 200
    bad = client.post("/ap/upload/", {"file": SimpleUploadedFile("x.bin", b"\x00junk")}, HTTP_HX_REQUEST="true")
    assert bad.status_code == 422 and b"unsupported format" in bad.content


def test_the_upload_form_needs_the_csrf_token(erp, clerk) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(clerk)
    assert strict.post("/ap/upload/", {"file": SimpleUploadedFile("inv.csv", CSV)}).status_code == 403
    assert VendorInvoice.objects.count() == 0
    page = strict.get("/ap/")
    assert b'name="csrfmiddlewaretoken"' in page.content and b"ap-drop" in page.content


def test_closing_an_invoice_exception_on_the_triage_matches_the_invoice_again(erp, clerk) -> None:
    from exceptions.services import exception_dismiss

    invoice, _ = send(clerk, body("17500001", [("4500000009", "10", "MAT-SK-001", "200", "190.00")],
                                  currency="GBP", terms="NT60"))
    first = invoice.exceptions.get()
    exception_dismiss(exception=first, actor=clerk, note="looked fine to me")
    # The match runs again and finds the same wrong party: a new open exception, nothing posted.
    invoice.refresh_from_db()
    assert invoice.exceptions.filter(status="open").count() == 1 and not invoice.sap_supplier_invoice
    assert invoice.exceptions.filter(status="open").get().pk != first.pk
