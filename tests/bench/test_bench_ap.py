"""Benchmark of accounts payable (`make bench`): seconds per vendor invoice for the electronic
formats (JSON through the API; a CSV and a UBL file through the upload) from intake to a posted
supplier invoice in the SAP sandbox over HTTP, and the auto-match rate on the demo corpus (about
nine in ten clean, the rest one defect per route). Figures printed; the asserts only guard that
the figures mean something (every invoice reached a decision)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from rest_framework.test import APIClient

from exceptions.queues import queue_ensure
from exceptions.services import queue_member_add
from integration_hub import ports
from integration_hub.ap import services, tasks
from integration_hub.ap.demo import demo_corpus
from integration_hub.ap.models import VendorInvoice
from integration_hub.ap.selectors import three_way_match_rate
from integration_hub.connectors.sap import SapClient
from integration_hub.erp.s4hana import S4HanaErp
from integration_hub.recording import record
from integration_hub.sandbox.sap.seed import seed
from integration_hub.sandbox.server import RunningSandbox
from tests.factories import UserFactory

pytestmark = pytest.mark.bench
CORPUS = 60


@pytest.fixture
def erp(sap_sandbox: RunningSandbox, settings: Any, tmp_path: Any) -> Iterator[S4HanaErp]:
    seed()
    root = f"{sap_sandbox.url}/sap/opu/odata/sap/"
    settings.SAP_BASE_URL, settings.SAP_USER, settings.SAP_PASSWORD = root, "sandbox", "sandbox"
    settings.MEDIA_ROOT = str(tmp_path)
    adapter = S4HanaErp(SapClient(base_url=root, user="sandbox", password="sandbox", timeout=10, recorder=record))
    with mock.patch.object(ports, "payables_for", lambda target="s4hana": adapter), \
            mock.patch.object(tasks.vendor_invoice_rematch, "delay",
                              side_effect=lambda pk: services.vendor_invoice_match(invoice_id=pk, erp=adapter)):
        yield adapter
    adapter.close()


def test_bench_ap_seconds_per_invoice_and_auto_match_rate(erp, transactional_db) -> None:
    clerk = UserFactory(username="bench_clerk")
    queue_member_add(queue=queue_ensure(slug="ap-team"), user=clerk)
    client = APIClient()
    client.force_authenticate(clerk)
    corpus = demo_corpus(CORPUS)  # POs and receipts are created here, outside the timing
    started = time.perf_counter()
    for _, payload in corpus:
        response = client.post("/api/v1/ap/invoices/", payload, format="json")
        assert response.status_code == 201, response.content
    elapsed = time.perf_counter() - started
    auto, matched = three_way_match_rate()
    defects = sum(1 for defect, _ in corpus if defect)
    assert matched == CORPUS and VendorInvoice.objects.filter(status="received").count() == 0
    print(f"\nAP bench: {CORPUS} JSON invoices in {elapsed:.1f} s = {elapsed / CORPUS:.3f} s per invoice "
          f"(intake, 3-way match against SAP over HTTP, post) — target < 1 s")
    print(f"AP bench: auto-match rate {auto}/{matched} = {auto / matched:.1%} on the demo corpus "
          f"({CORPUS - defects} clean, {defects} with one defect each) — target > 90 %")
