"""The AP API and screens refuse bad input with a clear 400 and keep invoices to accounts payable:
the outsider gets 403 on an upload and 404 on an invoice; nothing here reaches SAP."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from exceptions.queues import queue_ensure
from exceptions.services import queue_member_add
from integration_hub.ap import tasks
from integration_hub.ap.models import ApTolerance, VendorInvoice
from integration_hub.ap.services import ap_tolerance_history
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

GOOD = {"supplier": "17500001", "invoice_number": "NW-1", "invoice_date": "2026-12-01", "currency": "USD",
        "payment_terms": "NT30", "gross_amount": "24000.00",
        "lines": [{"purchase_order": "4500000001", "purchase_order_item": "10", "material": "MAT-SK-001",
                   "quantity": "100", "unit_price": "240.00"}]}


@pytest.fixture(autouse=True)
def no_worker() -> Any:
    with mock.patch.object(tasks.vendor_invoice_rematch, "delay") as delay:
        yield delay


@pytest.fixture
def clerk() -> Any:
    user = UserFactory(username="ap_clerk")
    queue_member_add(queue=queue_ensure(slug="ap-team"), user=user)
    return user


def api(user: Any = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


@pytest.mark.parametrize("payload, words", [
    ({}, "JSON invoice or a file"),
    ({**GOOD, "lines": []}, "line"),
    ({**GOOD, "invoice_date": "01/12/2026"}, "invoice_date"),
    ({**GOOD, "gross_amount": "lots"}, "gross_amount"),
])
def test_it_refuses_a_bad_json_invoice_with_a_400_and_keeps_nothing(clerk, payload, words) -> None:
    response = api(clerk).post("/api/v1/ap/invoices/", payload, format="json")
    assert response.status_code == 400 and words in response.json()["detail"]
    assert VendorInvoice.objects.count() == 0


def test_it_refuses_an_unreadable_file_with_a_400(clerk, settings, tmp_path) -> None:
    settings.MEDIA_ROOT = str(tmp_path)
    response = api(clerk).post("/api/v1/ap/invoices/", {"file": SimpleUploadedFile("junk.bin", b"\x00\x01 not an invoice")},
                               format="multipart")
    assert response.status_code == 400 and "unsupported format" in response.json()["detail"]
    assert VendorInvoice.objects.count() == 0


def test_it_takes_a_json_invoice_once_and_enqueues_its_match(clerk, no_worker, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = api(clerk).post("/api/v1/ap/invoices/", GOOD, format="json")
    assert first.status_code == 201 and first.json()["status"] == "received"
    again = api(clerk).post("/api/v1/ap/invoices/", GOOD, format="json")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert VendorInvoice.objects.count() == 1 and no_worker.call_count == 1


def test_the_outsider_may_neither_send_nor_read_invoices(clerk) -> None:
    outsider = UserFactory(username="outsider")
    created = api(clerk).post("/api/v1/ap/invoices/", GOOD, format="json").json()
    assert api(outsider).post("/api/v1/ap/invoices/", GOOD, format="json").status_code == 403
    assert api(outsider).get(f"/api/v1/ap/invoices/{created['id']}/").status_code == 404
    assert api(outsider).get("/api/v1/ap/invoices/").json()["count"] == 0
    assert api().get(f"/api/v1/ap/invoices/{created['id']}/").status_code in (401, 403)


def test_the_screens_are_for_accounts_payable(clerk, client) -> None:
    created = api(clerk).post("/api/v1/ap/invoices/", GOOD, format="json").json()
    client.force_login(UserFactory(username="outsider"))
    assert client.get("/ap/").status_code == 404
    assert client.get(f"/ap/invoices/{created['id']}/").status_code == 404
    client.force_login(clerk)
    assert client.get("/ap/").status_code == 200
    assert client.get(f"/ap/invoices/{created['id']}/").status_code == 200
    assert client.post("/ap/tolerances/", {"kind": "price", "upper_percent": "3"}).status_code == 403


def test_an_admin_edits_tolerances_with_history(client) -> None:
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    client.force_login(admin)
    response = client.post("/ap/tolerances/", {"kind": "price", "company_code": "1710", "upper_percent": "3",
                                               "lower_percent": "2", "reason": "agreed with procurement"})
    assert response.status_code == 302
    row = ApTolerance.objects.get()
    client.post("/ap/tolerances/", {"pk": row.pk, "kind": "price", "company_code": "1710", "upper_percent": "4",
                                    "lower_percent": "2"})
    bad = client.post("/ap/tolerances/", {"kind": "price", "upper_percent": "lots"})
    assert bad.status_code == 422 and b"not a number" in bad.content
    row.refresh_from_db()
    assert str(row.upper_percent) == "4.000"
    history = ap_tolerance_history()
    assert [c.action for c in history] == ["update", "create"] and history[0].before["upper_percent"] == "3.000"


def test_the_openapi_schema_lists_the_ap_endpoints(client) -> None:
    client.force_login(UserFactory(username="admin2", is_staff=True, is_superuser=True))
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").content.decode()
    assert "/api/v1/ap/invoices/" in schema and "/api/v1/ap/invoices/{id}/" in schema
