"""An admin imports a product crosswalk CSV with an error, fixes it, and watches blocked deals become orders."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

from django.contrib.auth import get_user_model

from exceptions.models import SyncException
from integration_hub.models import HandoffStatus
from integration_hub.sandbox import catalog
from integration_hub.tasks import process_handoff
from tests.conftest import browser_login, screenshot
from tests.pipeline.conftest import sync_world, world  # noqa: F401


def _material_priced_like(handoff, code: str) -> str:
    """A material SAP prices at what sales charged for the unmapped line, so the deal has no other defect."""
    line = next(li for li in handoff.canonical["lines"] if li["product_code"] == code)
    charged = Decimal(str(line["unit_price"]))
    return min(catalog.materials(), key=lambda m: abs(m.price - charged)).material


def test_it_imports_a_fixed_csv_and_blocked_deals_become_orders(browser_context, live_server, sync_world):  # noqa: F811
    opportunity_id, _ = sync_world.flow.one("product_not_mapped")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    assert handoff.status == HandoffStatus.BLOCKED
    exception = SyncException.objects.get(handoff=handoff, type_code="product_not_mapped")
    code, name = exception.evidence["product_code"], exception.evidence["product_name"]
    material = _material_priced_like(handoff, code)

    admin = get_user_model().objects.create_user("admin", is_staff=True, is_superuser=True)
    bad = f"crm_product_code;crm_product_name;materials;confidence\r\n{code};{name};{material} × 1;1\r\nTYPO-1;Typo;MAT-DOES-NOT-EXIST;1\r\n"
    good = f"crm_product_code;crm_product_name;materials;confidence\r\n{code};{name};{material} × 1;1\r\n"

    # The worker is this process: an unblocked handoff is processed as soon as the import commits.
    with mock.patch.object(process_handoff, "delay", side_effect=lambda i: process_handoff(i)), \
            mock.patch.object(process_handoff, "apply_async", side_effect=lambda args, **kw: process_handoff(args[0])):
        page = browser_login(browser_context, live_server, admin)
        page.goto("/crosswalks/")
        assert "blocked by product" in page.inner_text(".xw-alerts")
        screenshot(page, "crosswalks-workbench")

        page.click("text=Import CSV")
        page.set_input_files("input[type=file]", files=[{"name": "products.csv", "mimeType": "text/csv",
                                                         "buffer": ("\ufeff" + bad).encode("utf-8")}])
        page.click("button:has-text('Dry run')")
        page.wait_for_selector(".xw-errors")
        errors = page.inner_text(".xw-errors")
        assert "3" in errors and "SAP has no material MAT-DOES-NOT-EXIST" in errors
        assert "Nothing was imported" in page.inner_text("#result")
        screenshot(page, "crosswalks-import-error")

        page.set_input_files("input[type=file]", files=[{"name": "products.csv", "mimeType": "text/csv",
                                                         "buffer": ("\ufeff" + good).encode("utf-8")}])
        page.click("button:has-text('Dry run')")
        page.wait_for_selector("text=1 to add")
        assert "Unblocks 1 blocked deal" in page.inner_text("#result")
        assert opportunity_id in page.inner_text("#result")
        screenshot(page, "crosswalks-import-dry-run")

        page.click("button:has-text('Import')")
        page.wait_for_selector("text=Imported: 1 added")
        handoff.refresh_from_db()
        open_now = list(handoff.exceptions.filter(status="open").values_list("type_code", "title"))
        assert handoff.status == HandoffStatus.WRITTEN_BACK and handoff.sap_sales_order, (handoff.status, open_now)
        page.wait_for_selector(".xw-status-written_back", timeout=10000)
        assert handoff.sap_sales_order in page.inner_text("#watch")
        screenshot(page, "crosswalks-import-orders")

        page.goto(f"/crosswalks/products/history/?key={code}")
        assert "CSV import" in page.inner_text("table")
        screenshot(page, "crosswalks-history")
