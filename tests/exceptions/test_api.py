"""GET /api/v1/exceptions/: filters, and each user sees only their queues' exceptions."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exceptions.services import exception_resolve
from tests.factories import Cast, HandoffFactory, SyncExceptionFactory

pytestmark = pytest.mark.django_db
URL = reverse("api:exception-list")


def client_for(user: object) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def deal() -> dict[str, object]:
    handoff = HandoffFactory(status="blocked")
    pricing = SyncExceptionFactory(
        handoff=handoff,
        type_code="pricing_mismatch",
        fingerprint="pricing_mismatch:l1",
        title="Price differs by 4 %",
    )
    customer = SyncExceptionFactory(
        handoff=handoff,
        type_code="customer_not_found",
        fingerprint="customer_not_found:acc",
        title="Acme is not in SAP",
    )
    other = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:l9")
    return {"handoff": handoff, "pricing": pricing, "customer": customer, "other": other}


def test_it_filters_by_opportunity_id_and_status_for_staff(cast: Cast, deal: dict) -> None:
    exception_resolve(exception=deal["customer"], actor=cast.admin, note="mapped")

    response = client_for(cast.admin).get(
        URL, {"opportunity_id": deal["handoff"].opportunity_id, "status": "open"}
    )

    assert response.status_code == 200
    rows = response.json()["results"]
    assert [r["id"] for r in rows] == [deal["pricing"].pk]
    row = rows[0]
    assert row["type_code"] == "pricing_mismatch"
    assert row["queue"] == "pricing"
    assert row["status"] == "open"
    assert row["opportunity_id"] == deal["handoff"].opportunity_id
    assert row["handoff"] == deal["handoff"].pk
    assert row["title"] == "Price differs by 4 %"
    assert "evidence" in row and "message" in row


def test_it_accepts_a_15_char_opportunity_id(cast: Cast, deal: dict) -> None:
    response = client_for(cast.admin).get(URL, {"opportunity_id": deal["handoff"].opportunity_id[:15]})

    assert {r["id"] for r in response.json()["results"]} == {deal["pricing"].pk, deal["customer"].pk}


def test_it_finds_a_deal_s_exceptions_by_its_opportunity_id_with_a_lower_case_suffix(cast: Cast, deal: dict) -> None:
    typed = deal["handoff"].opportunity_id[:15] + deal["handoff"].opportunity_id[15:].lower()

    response = client_for(cast.admin).get(URL, {"opportunity_id": typed})

    assert {r["id"] for r in response.json()["results"]} == {deal["pricing"].pk, deal["customer"].pk}


@pytest.mark.parametrize("value", ["nope", "0065g00000AbCdEZZZ"], ids=["wrong-length", "forged-checksum"])
def test_it_answers_400_for_an_opportunity_id_that_is_not_one(cast: Cast, deal: dict, value: str) -> None:
    response = client_for(cast.admin).get(URL, {"opportunity_id": value})

    assert response.status_code == 400
    [message] = response.json()["opportunity_id"]
    assert message.startswith(f"{value!r} is not a valid Salesforce id")


def test_it_shows_a_queue_member_only_their_queues_exceptions(cast: Cast, deal: dict) -> None:
    pricing_rows = client_for(cast.pricing_analyst).get(URL).json()["results"]
    steward_rows = client_for(cast.master_data_steward).get(URL).json()["results"]

    assert {r["id"] for r in pricing_rows} == {deal["pricing"].pk, deal["other"].pk}
    assert {r["id"] for r in steward_rows} == {deal["customer"].pk}
    detail = reverse("api:exception-detail", args=[deal["pricing"].pk])
    assert client_for(cast.master_data_steward).get(detail).status_code == 404


def test_it_shows_the_outsider_nothing(cast: Cast, deal: dict) -> None:
    client = client_for(cast.outsider)

    assert client.get(URL).json()["results"] == []
    assert client.get(reverse("api:exception-detail", args=[deal["pricing"].pk])).status_code == 404


def test_it_refuses_anonymous_callers(deal: dict) -> None:
    assert APIClient().get(URL).status_code == 401


def test_it_filters_by_queue_and_type(cast: Cast, deal: dict) -> None:
    client = client_for(cast.admin)

    by_queue = client.get(URL, {"queue": "master-data"}).json()["results"]
    by_type = client.get(URL, {"type_code": "pricing_mismatch"}).json()["results"]

    assert [r["id"] for r in by_queue] == [deal["customer"].pk]
    assert {r["id"] for r in by_type} == {deal["pricing"].pk, deal["other"].pk}
