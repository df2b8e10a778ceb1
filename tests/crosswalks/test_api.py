"""CRUD on /api/v1/crosswalks/products/: 1→N components, model permissions, clear 400s, and the
deals a write unblocks re-run."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crosswalks.models import CrosswalkChange, ProductMapping, ProductMappingComponent
from exceptions.models import ExceptionStatus, ExceptionType, SyncException
from integration_hub.models import HandoffStatus
from tests.factories import Cast, ProductMappingComponentFactory, SyncExceptionFactory

# Writes are checked against SAP as on the workbench: SAP knows these materials.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sap_knows_everything")]
URL = reverse("api:product-mapping-list")

BUNDLE = {
    "crm_product_code": "BND-DC-RACK",
    "crm_product_name": "Data Centre Rack Bundle",
    "components": [
        {"sap_material": "MAT-RS-001", "quantity_factor": "2"},
        {"sap_material": "MAT-NS-001", "quantity_factor": "1"},
        {"sap_material": "MAT-IS-001", "quantity_factor": "16"},
    ],
}


def client_for(user: object) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def detail(pk: int) -> str:
    return reverse("api:product-mapping-detail", args=[pk])


def test_it_creates_a_bundle_mapping_one_product_to_three_materials(cast: Cast) -> None:
    response = client_for(cast.integration_ops).post(URL, BUNDLE, format="json")

    assert response.status_code == 201, response.json()
    mapping = ProductMapping.objects.get(crm_product_code="BND-DC-RACK")
    assert [(c.sap_material, c.quantity_factor, c.position) for c in mapping.components.all()] == [
        ("MAT-RS-001", Decimal("2"), 0),
        ("MAT-NS-001", Decimal("1"), 1),
        ("MAT-IS-001", Decimal("16"), 2),
    ]
    assert mapping.updated_by == cast.integration_ops
    assert response.json()["components"][2] == {
        "sap_material": "MAT-IS-001",
        "quantity_factor": "16.0000",
        "position": 2,
    }


def test_it_lets_any_authenticated_user_read_but_not_write(cast: Cast) -> None:
    ProductMappingComponentFactory(mapping__crm_product_code="SKU-1", sap_material="MAT-1")
    client = client_for(cast.outsider)

    listed = client.get(URL)
    assert listed.status_code == 200
    assert [m["crm_product_code"] for m in listed.json()["results"]] == ["SKU-1"]
    assert client.post(URL, BUNDLE, format="json").status_code == 403
    mapping = ProductMapping.objects.get()
    assert client.patch(detail(mapping.pk), {"active": False}, format="json").status_code == 403
    assert client.delete(detail(mapping.pk)).status_code == 403
    assert APIClient().get(URL).status_code == 401
    assert ProductMapping.objects.get().active is True


def test_it_replaces_the_components_on_update_and_keeps_them_on_a_partial_update(cast: Cast) -> None:
    client = client_for(cast.integration_ops)
    pk = client.post(URL, BUNDLE, format="json").json()["id"]

    response = client.put(
        detail(pk),
        {
            **BUNDLE,
            "crm_product_name": "Rack Bundle v2",
            "components": [{"sap_material": "MAT-RS-002", "quantity_factor": "1.5"}],
        },
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert list(ProductMappingComponent.objects.values_list("sap_material", "quantity_factor")) == [
        ("MAT-RS-002", Decimal("1.5"))
    ]

    response = client.patch(detail(pk), {"confidence": "0.9"}, format="json")
    assert response.status_code == 200
    mapping = ProductMapping.objects.get(pk=pk)
    assert mapping.confidence == Decimal("0.9")
    assert mapping.crm_product_name == "Rack Bundle v2"
    assert mapping.components.count() == 1


def test_it_deletes_a_mapping_and_its_components(cast: Cast) -> None:
    client = client_for(cast.integration_ops)
    pk = client.post(URL, BUNDLE, format="json").json()["id"]

    assert client.delete(detail(pk)).status_code == 204
    assert not ProductMapping.objects.exists()
    assert not ProductMappingComponent.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "says"),
    [
        ({**BUNDLE, "components": []}, "components", "may not be empty"),
        (
            {**BUNDLE, "components": [{"sap_material": "MAT-1", "quantity_factor": "0"}]},
            "components",
            "greater than or equal to 0.0001",
        ),
        (
            {**BUNDLE, "components": [{"sap_material": "MAT-1", "quantity_factor": "-2"}]},
            "components",
            "greater than or equal to 0.0001",
        ),
        ({**BUNDLE, "confidence": "1.5"}, "confidence", "less than or equal to 1"),
        ({**BUNDLE, "confidence": "-0.1"}, "confidence", "greater than or equal to 0"),
        ({**BUNDLE, "crm_product_code": ""}, "crm_product_code", "may not be blank"),
        (
            {**BUNDLE, "components": [{"sap_material": "MAT-1"}, {"sap_material": "MAT-1"}]},
            "components",
            "MAT-1 is listed twice",
        ),
    ],
    ids=[
        "no-components",
        "zero-factor",
        "negative-factor",
        "confidence-above-1",
        "confidence-below-0",
        "blank-code",
        "duplicate-material",
    ],
)
def test_it_answers_bad_input_with_a_400_that_says_what_is_wrong(
    cast: Cast, payload: dict, field: str, says: str
) -> None:
    response = client_for(cast.integration_ops).post(URL, payload, format="json")

    assert response.status_code == 400
    assert field in response.json()
    assert says in str(response.json()[field])
    assert not ProductMapping.objects.exists()


def test_it_refuses_a_second_mapping_for_the_same_product_code(cast: Cast) -> None:
    client = client_for(cast.integration_ops)
    client.post(URL, BUNDLE, format="json")

    response = client.post(URL, BUNDLE, format="json")

    assert response.status_code == 400
    assert "already mapped" in str(response.json()["crm_product_code"])
    assert ProductMapping.objects.count() == 1


# -- a mapping added through the API unblocks its deals, as one added on the screen does ----------------
def _handoff_status(exception: SyncException) -> str:
    exception.handoff.refresh_from_db()
    return exception.handoff.status


def test_it_re_runs_the_deal_a_mapping_created_through_the_api_unblocks_and_names_it(
    cast: Cast, blocked_by_product: Callable[..., SyncException], enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    alone = blocked_by_product("BND-DC-RACK")
    shared = blocked_by_product("bnd-dc-rack")
    SyncExceptionFactory(handoff=shared.handoff, type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing:x")

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.integration_ops).post(URL, BUNDLE, format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["rerun_handoffs"] == [alone.handoff_id]
    assert response.json()["crm_product_code"] == "BND-DC-RACK"
    for exception in (alone, shared):
        exception.refresh_from_db()
        assert exception.status == ExceptionStatus.RESOLVED
        assert exception.resolved_by == cast.integration_ops
    assert _handoff_status(alone) == HandoffStatus.VALIDATING
    assert _handoff_status(shared) == HandoffStatus.BLOCKED  # its pricing mismatch is still open
    assert enqueued == [alone.handoff_id]
    assert CrosswalkChange.objects.get(row_key="BND-DC-RACK").channel == "api"
    # Reads carry it empty (the schema says it is always there): only a write re-runs deals.
    assert client_for(cast.outsider).get(URL).json()["results"][0]["rerun_handoffs"] == []


def test_it_re_runs_the_deal_an_api_update_unblocks(
    cast: Cast, blocked_by_product: Callable[..., SyncException], enqueued: list[int],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(cast.integration_ops)
    # Below the auto threshold: validation does not use it, so the deal is blocked.
    pk = client.post(URL, {**BUNDLE, "confidence": "0.8"}, format="json").json()["id"]
    exception = blocked_by_product("BND-DC-RACK")

    with django_capture_on_commit_callbacks(execute=True):
        response = client.patch(detail(pk), {"confidence": "1"}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["rerun_handoffs"] == [exception.handoff_id]
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    assert _handoff_status(exception) == HandoffStatus.VALIDATING
    assert enqueued == [exception.handoff_id]


def test_it_refuses_a_material_sap_does_not_have_and_the_deal_stays_blocked(
    cast: Cast, blocked_by_product: Callable[..., SyncException], enqueued: list[int],
) -> None:
    exception = blocked_by_product("BND-DC-RACK")
    payload = {**BUNDLE, "components": [{"sap_material": "MAT-RS-001"}, {"sap_material": "MAT-NOPE-9"}]}

    response = client_for(cast.integration_ops).post(URL, payload, format="json")

    assert response.status_code == 400
    assert "SAP has no material MAT-NOPE-9" in str(response.json()["components"])
    assert not ProductMapping.objects.exists() and not CrosswalkChange.objects.exists()
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.OPEN
    assert enqueued == []


def test_it_re_runs_the_deal_a_row_saved_through_the_tables_api_unblocks(
    cast: Cast, enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    exception = SyncExceptionFactory(type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:a",
                                     evidence={"account": "001A000000000001", "account_name": "Globex"})

    with django_capture_on_commit_callbacks(execute=True):
        response = client_for(cast.admin).post(reverse("api:crosswalk-table", args=["customers"]),
                                               {"crm_account_id": "001A000000000001", "sap_business_partner": "17100003"})

    assert response.status_code == 201, response.json()
    assert response.json()["rerun_handoffs"] == [exception.handoff_id]
    assert response.json()["preview"]["unblocks"] == [exception.handoff_id]
    assert _handoff_status(exception) == HandoffStatus.VALIDATING
    assert enqueued == [exception.handoff_id]
