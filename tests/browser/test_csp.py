"""The Content-Security-Policy in a real browser: the main screens load and draw their charts with
no violation in the console, and the policy really is enforced (an injected inline script does not
run). htmx under the policy is what the other browser tests (triage, crosswalks, …) exercise."""

from __future__ import annotations

import pytest

from exceptions.models import ExceptionType
from tests.conftest import browser_login
from tests.factories import SyncExceptionFactory, make_cast

pytestmark = pytest.mark.django_db(transaction=True)


def _violations(page):
    seen: list[str] = []
    page.on("console", lambda message: seen.append(message.text)
            if "Content Security Policy" in message.text or "Refused to" in message.text else None)
    page.on("pageerror", lambda error: seen.append(f"page error: {error}"))
    return seen


def test_it_shows_the_main_screens_without_a_csp_violation(browser_context, live_server):
    people = make_cast()
    exception = SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing_mismatch:csp")
    page = browser_login(browser_context, live_server, people.admin)
    seen = _violations(page)
    for url in ["/", "/triage/", f"/triage/q/{exception.queue.slug}/", f"/triage/e/{exception.pk}/",
                "/crosswalks/", "/crosswalks/products/history/", "/approvals/", "/reconciliation/",
                f"/trace/?q=H-{exception.handoff_id}", "/admin/", "/admin/integration_hub/handoff/"]:
        page.goto(url)
        page.wait_for_load_state("networkidle")
    page.goto("/dashboard/")
    page.wait_for_selector("canvas[data-chart='automation_rate'][data-drawn='1']")  # Chart.js drew
    assert seen == []


def test_it_refuses_an_inline_script_injected_into_a_page(browser_context, live_server):
    people = make_cast()
    page = browser_login(browser_context, live_server, people.admin)
    seen = _violations(page)
    page.goto("/")
    page.evaluate("""() => { const s = document.createElement('script'); s.textContent = 'window.pwned = 1';
                             document.body.appendChild(s); }""")
    assert page.evaluate("() => window.pwned") is None
    assert any("Content Security Policy" in line for line in seen)
