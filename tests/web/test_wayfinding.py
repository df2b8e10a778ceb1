"""Getting around without dead ends: the start page links only what a person may open, an error
is a page of the app (not a bare one), the browser finds an icon, and labels read as meant."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.test import Client, RequestFactory
from django.views.defaults import server_error

from approvals import risk
from approvals.models import RiskSettings
from exceptions.models import EscalationPolicy, ExceptionType
from tests.factories import Cast, SyncExceptionFactory, cast  # noqa: F401

pytestmark = pytest.mark.django_db


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_it_links_on_the_start_page_only_the_queues_a_person_may_open(cast: Cast) -> None:  # noqa: F811
    SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH)
    SyncExceptionFactory(type_code=ExceptionType.CREDIT_CHECK_FAILED)

    page = web(cast.pricing_analyst).get("/").content.decode()

    assert 'href="/triage/q/pricing/"' in page
    assert "Credit management" in page  # the count is still shown …
    assert 'href="/triage/q/credit/"' not in page  # … but not as a link into a 404


def test_it_answers_an_unknown_page_with_a_styled_404(cast: Cast) -> None:  # noqa: F811
    response = web(cast.pricing_analyst).get("/triage/q/credit/")

    page = response.content.decode()
    assert response.status_code == 404
    assert "hub.css" in page and 'class="topbar"' in page
    assert "Not found" in page and "Back to the start page" in page


def test_it_answers_a_server_error_with_a_styled_page_that_needs_no_request_context() -> None:
    response = server_error(RequestFactory().get("/"))

    page = response.content.decode()
    assert response.status_code == 500
    assert "hub.css" in page and "Something went wrong" in page


def test_it_gives_the_browser_an_icon(cast: Cast) -> None:  # noqa: F811
    client = web(cast.pricing_analyst)

    assert 'rel="icon"' in client.get("/").content.decode()
    response = client.get("/favicon.ico")
    assert response.status_code == 301 and response["Location"].endswith("favicon.svg")


def test_it_never_calls_a_customer_95_days_past_due_current() -> None:
    settings = RiskSettings()  # the defaults: 30 / 60 days, 20 % materiality
    inputs = risk.RiskInputs(open_items=[(Decimal("1200"), 95)], credit_limit=Decimal("100000"))

    factor = risk.customer_credit(inputs, settings)

    assert factor.level == "low"  # immaterial: 1.2 % of the credit line
    assert "current" not in factor.value
    assert "95 days" in factor.value and "20% materiality" in factor.value


def test_it_spells_plurals_in_the_admin() -> None:
    names = {str(model._meta.verbose_name_plural) for model in admin.site._registry}
    assert not [n for n in names if n.endswith("ys") and not n.endswith(("ays", "eys", "oys"))], names
    assert EscalationPolicy._meta.verbose_name_plural == "escalation policies"
