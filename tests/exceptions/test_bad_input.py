"""Bad input to the triage list and the bulk actions gets a clear answer, never a 500.

These run on PostgreSQL with the suite and again on SQLite (the embedded demo's database) in
`make test`: a lookup only PostgreSQL knows was a 500 on the demo.
"""

from __future__ import annotations

import base64
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from exceptions import views
from exceptions.models import SyncException
from exceptions.services import exception_tags_set
from tests.exceptions.test_triage import api, web
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db
LIST = reverse("exceptions:list", args=["pricing"])
API_LIST = reverse("api:exception-list")


def cursor(values: list[object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode().rstrip("=")


@pytest.fixture
def tagged(cast: Cast) -> tuple[SyncException, SyncException]:
    bold = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:bold",
                                title="Bold discount", amount=Decimal("5000"))
    exception_tags_set(exception=bold, actor=cast.admin, tags="bold, q3")
    # A tag that holds "bold" inside it must not match the tag "bold".
    plain = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:plain",
                                 title="Plain discount", amount=Decimal("100"))
    exception_tags_set(exception=plain, actor=cast.admin, tags="not-bold")
    return bold, plain


def test_it_filters_the_triage_list_by_tag(cast: Cast, tagged: tuple[SyncException, SyncException]) -> None:
    bold, _ = tagged

    response = web(cast.pricing_analyst).get(LIST, {"tag": "Bold"})

    assert response.status_code == 200
    assert [e.pk for e in response.context["rows"]] == [bold.pk]


def test_it_filters_the_api_list_by_tag(cast: Cast, tagged: tuple[SyncException, SyncException]) -> None:
    bold, _ = tagged

    response = api(cast.pricing_analyst).get(API_LIST, {"tag": "bold"})

    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [bold.pk]


@pytest.mark.parametrize("amount", ["NaN", "-Infinity", "Infinity", "abc", "sNaN", "1e999999"])
def test_it_answers_400_to_an_amount_that_is_no_number_on_the_api(cast: Cast, tagged: object, amount: str) -> None:
    response = api(cast.pricing_analyst).get(API_LIST, {"amount_min": amount})

    assert response.status_code == 400
    assert "Min amount" in response.json()["amount_min"][0]


@pytest.mark.parametrize("amount", ["NaN", "-Infinity", "abc"])
def test_it_shows_a_bad_amount_by_the_filter_instead_of_the_unfiltered_list(cast: Cast, tagged: object,
                                                                             amount: str) -> None:
    response = web(cast.pricing_analyst).get(LIST, {"amount_min": amount})

    assert response.status_code == 200
    assert list(response.context["rows"]) == []  # not every exception, as if no filter had been typed
    html = response.content.decode()
    assert "Min amount: enter an amount as a number" in html
    assert 'aria-invalid="true"' in html
    assert "Bold discount" not in html


def test_it_refuses_a_bulk_action_on_a_filter_it_cannot_read(cast: Cast, tagged: object) -> None:
    response = api(cast.pricing_analyst).post(reverse("api:bulk-job-list"),
                                              {"queue": "pricing", "filter": "amount_min=NaN", "action": "assign_me"},
                                              format="json")

    assert response.status_code == 400
    assert "Min amount" in response.json()["detail"]
    assert not SyncException.objects.filter(assignee=cast.pricing_analyst).exists()


@pytest.mark.parametrize(("sort", "values"), [
    ("priority", [3, "2024-02-30T10:00:00+00:00", 1]),  # well formed, but no such day
    ("oldest", ["2024-13-01T10:00:00+00:00", 1]),
    ("amount", ["NaN", 1]),
    ("amount", ["-Infinity", 1]),
    ("newest", ["2024-01-01T10:00:00+00:00", 2**64]),
    ("priority", [3, "2024-01-01T10:00:00+00:00"]),  # one key short
])
def test_it_answers_400_invalid_cursor_to_a_cursor_it_never_handed_out(cast: Cast, tagged: object, sort: str,
                                                                       values: list[object]) -> None:
    response = web(cast.pricing_analyst).get(LIST, {"sort": sort, "after": cursor(values)})

    assert response.status_code == 400
    assert "invalid cursor" in response.content.decode()


def test_it_still_pages_with_the_cursor_it_handed_out(cast: Cast, tagged: tuple[SyncException, SyncException]) -> None:
    bold, plain = tagged
    views.PAGE_SIZE, old = 1, views.PAGE_SIZE
    try:
        first = web(cast.pricing_analyst).get(LIST, {"sort": "amount"})
        second = web(cast.pricing_analyst).get(LIST + first.context["next_url"])
    finally:
        views.PAGE_SIZE = old
    assert [e.pk for e in first.context["rows"]] == [bold.pk]
    assert second.status_code == 200
    assert [e.pk for e in second.context["rows"]] == [plain.pk]


BAD_IDS = [2**64, 2**63, -1, 0, "abc", "1.5", None]


@pytest.mark.parametrize("bad", BAD_IDS)
def test_it_answers_400_to_an_impossible_id_in_a_bulk_action(cast: Cast, tagged: tuple[SyncException, ...],
                                                             bad: object) -> None:
    response = api(cast.pricing_analyst).post(reverse("api:exception-bulk"),
                                              {"ids": [tagged[0].pk, bad], "action": "assign_me"}, format="json")

    assert response.status_code == 400
    message = response.json()["ids"]["1"][0]
    assert "exception id" in message or "This field may not be null" in message
    assert not SyncException.objects.filter(assignee=cast.pricing_analyst).exists()


@pytest.mark.parametrize("bad", BAD_IDS)
def test_it_answers_400_to_an_impossible_id_in_a_bulk_job(cast: Cast, tagged: tuple[SyncException, ...],
                                                          bad: object) -> None:
    response = api(cast.pricing_analyst).post(reverse("api:bulk-job-list"),
                                              {"queue": "pricing", "ids": [bad], "action": "assign_me"}, format="json")

    assert response.status_code == 400
    assert response.json()["ids"]["0"]


def test_it_ignores_ids_no_list_could_render_on_the_bulk_screen(cast: Cast, tagged: tuple[SyncException, ...]) -> None:
    response = web(cast.pricing_analyst).post(reverse("exceptions:bulk", args=["pricing"]),
                                              {"ids": [str(2**64), "-3", "²", "x"], "action": "assign_me"})

    assert response.status_code == 302  # back to the list, with the message below
    assert "Select at least one exception you may work." in [str(m) for m in response.wsgi_request._messages]
