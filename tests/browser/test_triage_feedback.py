"""What a person sees right after acting on an exception, in a real browser: a refused comment
says why in place and keeps the text; a resolution moves the header badge and the sidebar count
at once, and Back does not bring the old "Open" page out of the browser's cache."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from crosswalks.models import SapMaterial
from exceptions.models import ExceptionType
from tests.conftest import browser_login, screenshot
from tests.factories import SyncExceptionFactory, enqueued, make_cast  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_it_refuses_a_comment_over_5000_characters_in_place_and_keeps_what_was_typed(
    browser_context, live_server, enqueued  # noqa: F811
):
    people = make_cast()
    exception = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED,
                                     evidence={"product_code": "EL-T2", "product_name": "Enterprise License - Tier 2"})
    page = browser_login(browser_context, live_server, people.product_ops)
    page.goto(f"/triage/e/{exception.pk}/")
    body = "Checked with the product team. " * 170  # 5,270 characters

    page.fill("#comment textarea", body)
    page.click("#comment button")
    page.wait_for_selector("#comment-error")

    assert "at most 5000 characters" in page.inner_text("#comment-error")
    assert page.input_value("#comment textarea") == body
    assert page.locator("#exception-work").count() == 1
    assert not exception.events.filter(kind="comment").exists()
    page.locator("#comment").scroll_into_view_if_needed()
    screenshot(page, "triage-comment-refused")

    page.fill("#comment textarea", "Checked with the product team.")
    page.click("#comment button")
    page.wait_for_selector(".timeline >> text=Checked with the product team.")
    assert page.locator("#comment-error").count() == 0
    assert page.locator("#exception-work").count() == 1


def test_it_shows_a_resolution_in_the_header_and_the_sidebar_and_not_as_open_after_back(
    browser_context, live_server, enqueued  # noqa: F811
):
    people = make_cast()
    first, _ = (SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED,
                                     evidence={"product_code": f"SKU-{i}", "product_name": f"Widget {i}"})
                for i in range(2))
    page = browser_login(browser_context, live_server, people.product_ops)
    page.goto("/triage/q/product-ops/")
    count = "#triage-sidebar a[href='/triage/q/product-ops/'] .count"
    assert page.inner_text(count) == "2"
    page.click(f"tr[data-id='{first.pk}'] td.title a")
    assert page.inner_text("#exception-status [data-exception-status]") == "Open"
    screenshot(page, "triage-detail-before-resolve")

    page.click("text=Fixed elsewhere — re-run")
    page.wait_for_selector("#exception-work .outcome")
    page.wait_for_selector("#exception-status [data-exception-status='resolved']")
    # A locator wait, not wait_for_function("…"): a string predicate is eval, which the CSP refuses.
    expect(page.locator(count)).to_have_text("1")
    assert page.locator("#triage-sidebar").count() == 1
    screenshot(page, "triage-detail-after-resolve")

    page.go_back()  # the list, asked for again: the resolved item has left it
    assert page.locator(f"tr[data-id='{first.pk}']").count() == 0
    assert page.inner_text(count) == "1"
    page.go_forward()
    assert page.inner_text("#exception-status [data-exception-status]") == "Resolved"
    assert page.inner_text(count) == "1"


def test_it_offers_a_weak_material_without_choosing_it_and_says_why_it_scored_so(
    browser_context, live_server, enqueued  # noqa: F811
):
    people = make_cast()
    SapMaterial.objects.bulk_create([SapMaterial(material="MAT-EL-003", description="Enterprise License - Tier 3")])
    exceptions = [SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:EL-T2",
                                       evidence={"product_code": "EL-T2", "product_name": "Enterprise License - Tier 2"})
                  for _ in range(4)]
    page = browser_login(browser_context, live_server, people.product_ops)
    page.goto(f"/triage/e/{exceptions[0].pk}/")

    assert page.input_value("input[name='sap_material[]'] >> nth=0") == ""
    assert "below 0.95" in page.inner_text(".suggest")
    assert "description" in page.inner_text(".suggest .why")
    assert "re-run 4 deals" in page.inner_text("[data-mapping-form] button[type=submit]")
    page.locator("#resolve").scroll_into_view_if_needed()
    screenshot(page, "triage-detail-weak-suggestion")
    page.click("[data-material='MAT-EL-003']")  # a person may still choose it, knowingly
    assert page.input_value("input[name='sap_material[]'] >> nth=0") == "MAT-EL-003"
