"""Triage in a real browser: a product-ops user maps a product from the exception screen and
watches the deal become an order; a pricing analyst works the list with the keyboard."""

from __future__ import annotations

from decimal import Decimal
from unittest import mock

import pytest

from exceptions.models import SyncException
from exceptions.resolution import exception_resolve_path
from integration_hub.tasks import process_handoff
from tests.conftest import browser_login, screenshot
from tests.factories import SyncExceptionFactory, make_cast
from tests.pipeline.conftest import sync_world, world  # noqa: F401


def test_it_lets_product_ops_map_a_product_and_watch_the_deal_become_an_order(
    world, browser_context, live_server  # noqa: F811
):
    people = make_cast()
    opportunity_id, _ = world.flow.one("product_not_mapped")
    with mock.patch.object(process_handoff, "delay", side_effect=lambda i: None):
        handoff = world.drive(world.receive(opportunity_id))
    exception = SyncException.objects.get(handoff=handoff, type_code="product_not_mapped")

    # The live server runs the pipeline in the request's thread right after the resolution commits.
    with mock.patch.object(process_handoff, "delay", side_effect=lambda i: process_handoff(i)):
        page = browser_login(browser_context, live_server, people.product_ops)
        page.goto("/triage/")
        screenshot(page, "triage-overview")
        page.click("text=Product ops")
        page.click(f"tr[data-id='{exception.pk}'] td.title a")
        assert "Product not mapped" in page.inner_text("header.detail-head")
        page.fill("input[name='sap_material[]'] >> nth=0", "MAT-EL-001")
        screenshot(page, "triage-detail-product")
        page.click("text=Save mapping")
        page.wait_for_selector("#exception-work .outcome")

    handoff.refresh_from_db()
    pricing = SyncException.objects.filter(handoff=handoff, status="open", type_code="pricing_mismatch").first()
    if pricing is not None:
        # The typed CRM price belonged to another product: pricing accepts SAP's price.
        with mock.patch.object(process_handoff, "delay", side_effect=lambda i: process_handoff(i)):
            exception_resolve_path(exception=pricing, actor=people.admin, path="accept_sap", data={})
    page.reload()
    page.wait_for_selector("[data-handoff-status='written_back']", timeout=15000)
    handoff.refresh_from_db()
    assert page.inner_text("[data-sap-order]") == handoff.sap_sales_order
    assert len(world.orders_for(opportunity_id)) == 1
    screenshot(page, "triage-detail-written-back")


@pytest.mark.django_db(transaction=True)
def test_it_lets_a_pricing_analyst_work_the_list_with_the_keyboard(browser_context, live_server):
    people = make_cast()
    rows = [
        SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:price:P{i}",
                             title=f"Price differs from SAP by {4 + i}.10% on Widget {i}",
                             amount=Decimal(25000 * (i + 1)), currency="USD", customer_name=f"Customer {i}",
                             evidence={"product_code": f"P{i}", "crm_net": "100.00", "sap_net": "104.10",
                                       "variance_percent": f"{4 + i}.10", "quantity": "2", "currency": "USD"})
        for i in range(4)
    ]
    page = browser_login(browser_context, live_server, people.pricing_analyst)
    page.goto("/triage/q/pricing/")
    page.wait_for_selector("tr.selected")
    order = page.eval_on_selector_all("tbody tr[data-id]", "rs => rs.map(r => r.dataset.id)")

    page.keyboard.press("j")
    assert page.get_attribute("tr.selected", "data-id") == order[1]
    page.keyboard.press("a")
    page.wait_for_selector(f"tr[data-id='{order[1]}'] .avatar")
    assert page.get_attribute("tr.selected", "data-id") == order[1]  # the refresh kept the selection
    assigned = SyncException.objects.get(pk=order[1])
    assert assigned.assignee_id == people.pricing_analyst.pk
    page.keyboard.press("j")
    page.keyboard.press("x")
    page.keyboard.press("?")
    assert page.is_visible("#shortcuts")
    screenshot(page, "triage-list-keyboard")
    page.keyboard.press("Escape")
    page.keyboard.press("k")
    page.keyboard.press("r")
    page.wait_for_url(f"**/triage/e/{order[1]}/#resolve")
    screenshot(page, "triage-detail-pricing")
    page.click("text=Accept SAP price")
    page.wait_for_selector("#exception-work .outcome")
    assert SyncException.objects.get(pk=order[1]).status == "resolved"
    assert {r.pk for r in rows} == {int(i) for i in order}


@pytest.mark.django_db(transaction=True)
def test_it_lets_a_pricing_analyst_bulk_assign_a_filtered_selection_to_a_colleague(browser_context, live_server):
    from exceptions import bulk
    from exceptions.services import queue_ensure, queue_member_add
    from exceptions.tasks import bulk_job_run
    from tests.factories import UserFactory

    people = make_cast()
    colleague = UserFactory(username="pat", first_name="Pat", last_name="Lee")
    queue_member_add(queue=queue_ensure(slug="pricing"), user=colleague)
    acme = [SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:price:A{i}",
                                 title=f"Price differs from SAP by 3.{i}0% on Gizmo {i}", customer_name="Acme Corp",
                                 amount=Decimal(10000 + i), currency="USD") for i in range(55)]
    other = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:price:G1",
                                 customer_name="Globex")
    # The live server's worker: the job runs in the request's thread once it commits.
    with mock.patch.object(bulk_job_run, "delay", side_effect=lambda job_id: bulk.bulk_job_run(job_id=job_id)):
        page = browser_login(browser_context, live_server, people.pricing_analyst)
        page.goto("/triage/q/pricing/?customer=acme")
        assert page.is_hidden("[data-bulk-assignee]")  # only "Assign to…" needs a person
        page.check("input[name=scope][value=filter]")
        page.select_option("[data-bulk-action]", "assign")
        page.select_option("[data-bulk-assignee]", "pat")
        page.click("#bulk-form button[type=submit]")
        page.wait_for_selector("#bulk-status.done")
        assert "55 / 55" in page.inner_text("#bulk-status")
        assert "55 changed" in page.inner_text("#bulk-status")
        page.wait_for_selector("tbody tr[data-id] .avatar")
        screenshot(page, "triage-list-bulk-done")

    assert SyncException.objects.filter(pk__in=[e.pk for e in acme], assignee=colleague).count() == 55
    assert SyncException.objects.get(pk=other.pk).assignee is None


@pytest.mark.django_db(transaction=True)
def test_it_shows_new_and_resolved_exceptions_live_without_losing_the_selection(browser_context, live_server,
                                                                               settings):
    from exceptions.services import exception_resolve

    settings.HUB_TRIAGE_REFRESH_SECONDS = 1
    people = make_cast()
    rows = [SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:price:L{i}",
                                 title=f"Price differs from SAP by 3.{i}0% on Lamp {i}") for i in range(3)]
    page = browser_login(browser_context, live_server, people.pricing_analyst)
    page.goto("/triage/q/pricing/")
    page.wait_for_selector("tr.selected")
    page.keyboard.press("j")
    selected = page.get_attribute("tr.selected", "data-id")

    urgent = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:price:URGENT",
                                  priority=40, title="Price differs from SAP by 31.00% on Lamp X")
    gone = next(r for r in rows if str(r.pk) != selected)
    exception_resolve(exception=gone, actor=people.pricing_analyst, note="fixed elsewhere")

    page.wait_for_selector(f"tr[data-id='{urgent.pk}']", timeout=5000)  # no reload: the list refreshed itself
    page.wait_for_selector(f"tr[data-id='{gone.pk}']", state="detached", timeout=5000)
    assert page.get_attribute("tr.selected", "data-id") == selected
    order = page.eval_on_selector_all("tbody tr[data-id]", "rs => rs.map(r => r.dataset.id)")
    assert order[0] == str(urgent.pk)  # urgent first, by priority
