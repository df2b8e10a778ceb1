"""The operations dashboard in a real browser: the trend charts draw, a number opens the deals
behind it, the period switch redraws in place, and without JavaScript the numbers and weekly
tables are all there."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from exceptions.models import ExceptionStatus
from integration_hub.models import HandoffStatus
from tests.conftest import SCREENSHOTS, browser_login, screenshot
from tests.dashboard.seed import handoff_at, seed_realistic
from tests.factories import make_cast

pytestmark = pytest.mark.django_db(transaction=True)

# Pixels of a canvas that are not transparent: a drawn chart has thousands, an empty one none.
INKED = """canvas => { const d = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n; }"""


def test_it_draws_the_charts_and_drills_down_to_the_deals_behind_a_number(browser_context, live_server):
    people = make_cast()
    now = timezone.now()
    auto = handoff_at(now - timedelta(days=1), HandoffStatus.WRITTEN_BACK, ordered_after=25, confidences=[0.97] * 3)
    handoff_at(now - timedelta(days=9), HandoffStatus.WRITTEN_BACK, ordered_after=200, confidences=[0.8, 0.95],
               exceptions=[{"type_code": "pricing_mismatch"}])
    blocked = handoff_at(now - timedelta(days=2), HandoffStatus.BLOCKED, confidences=[0.6],
                         exceptions=[{"type_code": "product_not_mapped", "status": ExceptionStatus.OPEN,
                                      "amount": 48_000}])
    page = browser_login(browser_context, live_server, people.integration_ops)
    page.goto("/dashboard/")
    page.wait_for_selector("canvas[data-chart='automation_rate'][data-drawn='1']")
    drawn = page.eval_on_selector_all("canvas[data-chart]", "cs => cs.filter(c => c.dataset.drawn).length")
    assert drawn == 6  # every metric with a trend; the AP one has none yet
    assert page.eval_on_selector("canvas[data-chart='order_latency']", INKED) > 500
    screenshot(page, "dashboard-small")

    page.click("[data-drill='automation_rate']")
    page.wait_for_url("**/dashboard/deals/?segment=automated*")
    body = page.inner_text("table.deals")
    assert auto.opportunity_id in body and blocked.opportunity_id not in body
    screenshot(page, "dashboard-deals")


def test_it_reads_a_quarter_of_realistic_data(browser, browser_context, live_server):
    people = make_cast()
    seed_realistic(now=timezone.now(), deals=400, actor=people.approver)
    page = browser_login(browser_context, live_server, people.admin)
    page.goto("/dashboard/")
    page.wait_for_selector("canvas[data-chart='confidence'][data-drawn='1']")
    screenshot(page, "dashboard-realistic")
    page.locator(".dash-metrics > article").nth(2).screenshot(path=str(SCREENSHOTS / "dashboard-latency-card.png"))
    page.locator(".dash-risk").screenshot(path=str(SCREENSHOTS / "dashboard-risk.png"))
    assert "Work first" in page.inner_text(".dash-risk")

    # The period switch swaps the region with htmx and draws the new charts.
    page.click(".dash-periods >> text=Last 30 days")
    page.wait_for_selector(".dash-periods a.on >> text=Last 30 days")
    page.wait_for_selector("canvas[data-chart='automation_rate'][data-drawn='1']")
    assert "days=30" in page.url
    assert page.eval_on_selector("canvas[data-chart='automation_rate']", INKED) > 500

    # Without JavaScript: the same numbers, and each chart's weeks as a table.
    plain = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900},
                                java_script_enabled=False)
    try:
        page = browser_login(plain, live_server, people.admin)
        page.goto("/dashboard/")
        assert page.locator("[data-drill='automation_rate']").inner_text().endswith("%")
        page.click("#metric-automation_rate details.dtable summary")
        assert page.locator("#metric-automation_rate details.dtable tbody tr").count() == 12
        screenshot(page, "dashboard-no-js")
    finally:
        plain.close()
