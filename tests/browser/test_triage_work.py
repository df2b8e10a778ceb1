"""Working the list in a real browser: resolve and next with undo (nothing runs until the window
is over), a root cause worked as one unit after its preview, and a snooze that wakes up when
what it waits for holds. The broker is a recorder: the test plays the worker at the due time."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from crosswalks.models import ProductMapping
from crosswalks.services import product_mapping_create
from exceptions import tasks
from exceptions.models import ExceptionType, PendingResolution, SyncException
from tests.conftest import browser_login, screenshot
from tests.factories import SyncExceptionFactory, enqueued, make_cast  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)

COUNT = "#triage-sidebar a[href='/triage/q/{slug}/'] .count"


@pytest.fixture
def held() -> Any:
    """Held resolutions handed to the broker (id, countdown), not delivered: the test is the worker."""
    calls: list[tuple[int, float]] = []
    with mock.patch.object(tasks.pending_resolution_apply, "apply_async",
                           side_effect=lambda args, countdown: calls.append((args[0], countdown))):
        yield calls


@pytest.fixture
def sap_knows_every_material() -> Any:
    with mock.patch("crosswalks.sap_lookup.SapLookup.materials_exist",
                    side_effect=lambda materials: dict.fromkeys(materials, True)):
        yield


def _pricing(n: int) -> list[SyncException]:
    return [SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH, fingerprint=f"pricing_mismatch:price:W{i}",
                                 title=f"Price differs from SAP by 4.{i}0% on Widget {i}", amount=Decimal(10000 * (i + 1)),
                                 currency="USD", customer_name=f"Customer {i}", variance_pct=Decimal(f"4.{i}0"),
                                 evidence={"product_code": f"W{i}", "crm_net": "100.00", "sap_net": "104.00",
                                           "variance_percent": f"4.{i}0", "quantity": "1", "currency": "USD"})
            for i in range(n)]


def _wait_until_due(pending_id: int) -> None:
    due = PendingResolution.objects.get(pk=pending_id).due_at
    time.sleep(max(0.0, (due - timezone.now()).total_seconds()) + 0.05)


def test_it_keeps_an_undone_resolution_open_and_reruns_nothing(
    browser_context, live_server, enqueued, held, settings  # noqa: F811
):
    settings.HUB_UNDO_SECONDS = 3
    people = make_cast()
    rows = _pricing(3)
    page = browser_login(browser_context, live_server, people.pricing_analyst)
    page.goto("/triage/q/pricing/")
    page.wait_for_selector("tr.selected")
    target = page.get_attribute("tr.selected", "data-id")

    page.keyboard.press("e")  # resolve and next
    page.wait_for_selector("#undo-toast.live")
    assert "Accept SAP price" in page.inner_text("#undo-toast")
    assert page.get_attribute("tr.selected", "data-id") != target  # the selection moved on
    screenshot(page, "triage-list-undo-toast")
    page.keyboard.press("z")  # undo, within the window
    expect(page.locator("#undo-toast")).to_contain_text("stays open")

    [(pending_id, countdown)] = held
    assert countdown == 3
    assert not PendingResolution.objects.exists()
    time.sleep(3.2)
    assert tasks.pending_resolution_apply(pending_id) == "not due, undone or applied"  # the worker, late
    exception = SyncException.objects.get(pk=target)
    assert exception.status == "open"
    assert not exception.events.filter(kind="resolved").exists()
    assert enqueued == []  # no re-run
    assert page.locator(f"tr[data-id='{target}'] [data-quick]").count() == 1  # still workable on its row
    assert page.inner_text(COUNT.format(slug="pricing")) == str(len(rows))


def test_it_applies_a_resolution_when_the_undo_window_ends_and_keeps_focus_on_the_list(
    browser_context, live_server, enqueued, held, settings  # noqa: F811
):
    settings.HUB_UNDO_SECONDS = 2
    people = make_cast()
    rows = _pricing(3)
    page = browser_login(browser_context, live_server, people.pricing_analyst)
    page.goto("/triage/q/pricing/")
    page.wait_for_selector("tr.selected")
    count = COUNT.format(slug="pricing")
    assert page.inner_text(count) == "3"
    target = page.get_attribute("tr.selected", "data-id")

    page.click(f"tr[data-id='{target}'] [data-quick] button")
    page.wait_for_selector("#undo-toast.live")
    following = page.get_attribute("tr.selected", "data-id")
    assert following != target
    assert SyncException.objects.get(pk=target).status == "open"  # held, not applied yet
    assert enqueued == []

    [(pending_id, _)] = held
    _wait_until_due(pending_id)
    assert tasks.pending_resolution_apply(pending_id) == "applied"  # the worker, on time

    expect(page.locator(f"tr[data-id='{target}']")).to_have_count(0, timeout=8000)
    expect(page.locator(count)).to_have_text("2", timeout=8000)
    expect(page.locator("#undo-toast")).to_contain_text("Applied")
    assert page.get_attribute("tr.selected", "data-id") == following
    focused = page.evaluate("document.activeElement.closest('tr[data-id]')?.dataset.id || null")
    assert focused == following  # focus stayed on the list, on the next row
    exception = SyncException.objects.get(pk=target)
    assert exception.status == "resolved"
    assert enqueued == [exception.handoff_id]  # the deal re-runs, once
    assert tasks.pending_resolution_apply(pending_id) == "not due, undone or applied"  # a second delivery
    assert enqueued == [exception.handoff_id]
    assert {str(r.pk) for r in rows} >= {target, following}
    screenshot(page, "triage-list-after-undo-window")


def test_it_maps_a_product_for_its_whole_group_after_a_preview_and_reruns_the_deals(
    browser_context, live_server, enqueued, sap_knows_every_material  # noqa: F811
):
    people = make_cast()
    group = [SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:product:EA-S",
                                  title="Product EA-S has no SAP material", product_code="EA-S",
                                  evidence={"product_code": "EA-S", "product_name": "Enterprise Annual + Support"})
             for _ in range(3)]
    other = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:product:X",
                                 evidence={"product_code": "X", "product_name": "Something else"})
    page = browser_login(browser_context, live_server, people.product_ops)
    page.goto("/triage/q/product-ops/")
    page.click(".tr-aside a.cause[href*='EA-S']")
    assert "3 deals blocked by" in page.inner_text("#group-title")

    page.fill("input[name=sap_material]", "mat-ea-01")
    page.click("form.group-form button")
    page.wait_for_selector("#group-preview")
    preview = page.inner_text("#group-preview")
    assert "EA-S → MAT-EA-01" in preview
    assert "Resolves all 3 open exceptions" in preview
    assert "Re-runs 3 deals" in preview
    assert not ProductMapping.objects.exists()  # a preview writes nothing
    screenshot(page, "triage-group-preview")

    page.click("[data-group-apply]")
    page.wait_for_url("**/triage/q/product-ops/")
    assert "3 exceptions resolved" in page.inner_text(".messages")
    mapping = ProductMapping.objects.get(crm_product_code="EA-S")
    assert mapping.components.get().sap_material == "MAT-EA-01"
    assert set(SyncException.objects.filter(pk__in=[g.pk for g in group]).values_list("status", flat=True)) == {"resolved"}
    assert sorted(enqueued) == sorted(g.handoff_id for g in group)
    assert SyncException.objects.get(pk=other.pk).status == "open"
    assert page.inner_text(COUNT.format(slug="product-ops")) == "1"
    assert page.locator(".tr-aside a.cause[href*='EA-S']").count() == 0
    screenshot(page, "triage-group-applied")


def test_it_wakes_a_snooze_when_the_product_it_waits_for_is_mapped(
    browser_context, live_server, enqueued, sap_knows_every_material  # noqa: F811
):
    people = make_cast()
    waiting = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:product:NEW-1",
                                   title="Product NEW-1 has no SAP material", product_code="NEW-1",
                                   evidence={"product_code": "NEW-1", "product_name": "New bundle"})
    SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED)
    page = browser_login(browser_context, live_server, people.product_ops)
    page.goto(f"/triage/e/{waiting.pk}/")
    page.select_option("[data-snooze-condition]", "product_mapped")
    assert page.is_hidden("[data-snooze-time]")  # no time to pick for a condition
    page.click("#snooze button[type=submit]")
    page.wait_for_url("**/triage/q/product-ops/")
    assert page.locator(f"tr[data-id='{waiting.pk}']").count() == 0  # out of the way
    assert "checks itself again" in page.inner_text(".messages")

    assert tasks.snooze_sweep() == {"woke": 0, "applied": 0}  # nothing mapped yet: it sleeps on
    assert enqueued == []
    # The product is mapped elsewhere (the catalogue team's API client), not from this exception:
    # the save resolves what it fixes, snoozed or not, and the deal re-runs.
    product_mapping_create(crm_product_code="NEW-1", components=[{"sap_material": "MAT-NB-1", "quantity_factor": "1"}],
                           actor=people.admin)
    assert SyncException.objects.get(pk=waiting.pk).status == "resolved"
    assert enqueued == [waiting.handoff_id]
    assert tasks.snooze_sweep() == {"woke": 0, "applied": 0}  # the beat finds nothing left to wake: once

    page.goto(f"/triage/e/{waiting.pk}/")
    assert page.inner_text("#exception-status [data-exception-status]") == "Resolved"
    assert "snoozed until this product is mapped (NEW-1)" in page.inner_text(".timeline")
    assert "NEW-1 saved" in page.inner_text(".timeline")
    assert page.locator("[data-snoozed]").count() == 0
    screenshot(page, "triage-detail-snooze-woken")


def test_it_shows_the_same_lines_on_both_sides_of_the_pricing_evidence(browser_context, live_server):
    from tests.factories import HandoffFactory

    people = make_cast()
    lines = [{"product_code": "RS-010", "description": "Rack Server R7", "quantity": "3.0", "unit_price": "7382.55",
              "discount_percent": "0", "total_price": "22147.65", "materials": [{"material": "MAT-RS-010"}]},
             {"product_code": "EG-004", "description": "Edge Gateway G2", "quantity": "2.0", "unit_price": "1159.25",
              "discount_percent": "0", "total_price": "2318.50", "materials": [{"material": "MAT-EG-004"}]}]
    exception = SyncExceptionFactory(
        handoff=HandoffFactory(status="blocked", canonical={"lines": lines, "currency": "GBP"}),
        type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing_mismatch:price:EG-004",
        title="Price differs from SAP by -12.00% on Edge Gateway G2", currency="GBP",
        evidence={"product_code": "EG-004", "quantity": "2.0", "crm_unit_price": "1159.25", "crm_net": "2318.50",
                  "sap_net": "2634.64", "variance_percent": "-12.00", "currency": "GBP", "deal_value": "24466.15",
                  "sap_conditions": [{"material": "MAT-RS-010", "net_amount": "22147.65", "conditions": []},
                                     {"material": "MAT-EG-004", "net_amount": "2634.64",
                                      "conditions": [{"type": "PPR0", "rate": "1317.32"}]}]})
    page = browser_login(browser_context, live_server, people.pricing_analyst)
    page.goto(f"/triage/e/{exception.pk}/")

    rows = page.locator(".price-lines tbody tr")
    assert rows.count() == 2
    first = rows.nth(0).inner_text()  # the line the variance is about comes first, both sides on one row
    assert "EG-004" in first and "MAT-EG-004" in first
    assert "2,318.50\u00a0GBP" in first and "2,634.64\u00a0GBP" in first and "1,317.32\u00a0GBP" in first
    assert "-12.00 %" in first
    assert "0.00 %" in rows.nth(1).inner_text()  # the other line agrees
    assert page.locator(".price-lines tr.focus").count() == 1
    box = page.locator(".price-lines").bounding_box()
    panel = page.locator("section.evidence").bounding_box()
    assert box and panel and box["x"] + box["width"] <= panel["x"] + panel["width"]  # no column cut off
