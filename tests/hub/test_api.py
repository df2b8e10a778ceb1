"""GET /api/v1/handoffs/: status, SAP order number, open exceptions; outsiders see nothing."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from integration_hub.connectors.base import CallRecord
from integration_hub.services import handoff_transition, sync_attempt_record
from tests.factories import Cast, HandoffFactory, SyncExceptionFactory

pytestmark = pytest.mark.django_db
URL = reverse("api:handoff-list")


def client_for(user: object) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


@pytest.fixture
def blocked() -> object:
    handoff = HandoffFactory(status="blocked")
    SyncExceptionFactory(
        handoff=handoff,
        type_code="product_not_mapped",
        fingerprint="product_not_mapped:SKU-1",
        title="SKU-1 has no SAP material",
    )
    SyncExceptionFactory(
        handoff=handoff,
        type_code="pricing_mismatch",
        fingerprint="pricing_mismatch:l1",
        title="Price differs",
        status="resolved",
    )
    return handoff


def test_it_lists_a_deal_by_opportunity_id_with_its_open_exceptions(cast: Cast, blocked: object) -> None:
    HandoffFactory(status="written_back", sap_sales_order="4500000001")

    response = client_for(cast.pricing_analyst).get(URL, {"opportunity_id": blocked.opportunity_id})

    assert response.status_code == 200
    rows = response.json()["results"]
    assert len(rows) == 1
    row = rows[0]
    assert row["opportunity_id"] == blocked.opportunity_id
    assert row["status"] == "blocked"
    assert row["sap_sales_order"] == ""
    assert row["open_exception_count"] == 1
    assert row["open_exceptions"] == [
        {
            "id": row["open_exceptions"][0]["id"],
            "type_code": "product_not_mapped",
            "queue": "product-ops",
            "title": "SKU-1 has no SAP material",
            "priority": 20,
        }
    ]


def test_it_shows_the_sap_order_number_of_a_finished_deal(cast: Cast) -> None:
    done = HandoffFactory(status="written_back", sap_sales_order="4500000001")

    row = (
        client_for(cast.integration_ops)
        .get(URL, {"opportunity_id": done.opportunity_id})
        .json()["results"][0]
    )

    assert (row["status"], row["sap_sales_order"], row["open_exceptions"]) == (
        "written_back",
        "4500000001",
        [],
    )


def test_it_filters_by_status(cast: Cast, blocked: object) -> None:
    HandoffFactory(status="ready")

    rows = client_for(cast.admin).get(URL, {"status": "blocked"}).json()["results"]

    assert [r["id"] for r in rows] == [blocked.pk]


def test_it_shows_events_and_sync_attempts_on_detail(cast: Cast) -> None:
    handoff = HandoffFactory(status="received")
    handoff_transition(handoff=handoff, to_status="validating", actor_label="worker", reason="extracted")
    sync_attempt_record(
        handoff=handoff,
        record=CallRecord(
            system="salesforce",
            operation="query:Opportunity",
            method="GET",
            url="https://sf/q",
            status=200,
            request_headers={"Authorization": "Bearer abc.def"},
        ),
    )

    body = client_for(cast.integration_ops).get(reverse("api:handoff-detail", args=[handoff.pk])).json()

    assert [(e["from_status"], e["to_status"], e["actor"]) for e in body["events"]] == [
        ("received", "validating", "worker")
    ]
    assert body["sync_attempts"][0]["operation"] == "query:Opportunity"
    assert "abc.def" not in str(body)


def test_it_gives_the_outsider_an_empty_list_and_404(cast: Cast, blocked: object) -> None:
    client = client_for(cast.outsider)

    assert client.get(URL).json()["results"] == []
    assert client.get(URL, {"opportunity_id": blocked.opportunity_id}).json()["results"] == []
    assert client.get(reverse("api:handoff-detail", args=[blocked.pk])).status_code == 404


def test_it_refuses_anonymous_and_bad_tokens(blocked: object) -> None:
    assert APIClient().get(URL).status_code == 401
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    assert bad.get(URL).status_code == 401


def test_it_accepts_a_session_login(cast: Cast, blocked: object) -> None:
    client = APIClient()
    client.force_login(cast.master_data_steward)

    assert client.get(URL).status_code == 200


def test_it_finds_a_handoff_by_either_form_of_its_opportunity_id(cast: Cast) -> None:
    deal = HandoffFactory(opportunity_id="0065g00000AbCdEAAV")
    HandoffFactory(opportunity_id="0065g00000abcdeAAA")  # another Opportunity: same letters, other case
    client = client_for(cast.integration_ops)

    found = {
        form: [row["id"] for row in client.get(URL, {"opportunity_id": form}).json()["results"]]
        for form in ["0065g00000AbCdE", "0065g00000AbCdEAAV", "0065g00000AbCdEaav"]
    }

    assert found == {form: [deal.pk] for form in found}


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("nope", "'nope' is not a valid Salesforce id: it should be 15 or 18 letters and digits"),
        (
            "0065g00000AbCdEZZZ",
            "'0065g00000AbCdEZZZ' is not a valid Salesforce id: its last 3 characters should be 'AAV' "
            "for the case of the first 15",
        ),
    ],
    ids=["wrong-length", "forged-checksum"],
)
def test_it_answers_400_for_an_opportunity_id_that_is_not_one(cast: Cast, blocked: object, value: str, says: str) -> None:
    response = client_for(cast.admin).get(URL, {"opportunity_id": value})

    assert response.status_code == 400
    assert response.json() == {"opportunity_id": [says]}
