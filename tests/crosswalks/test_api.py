"""CRUD on /api/v1/crosswalks/products/: 1→N components, model permissions, clear 400s."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crosswalks.models import ProductMapping, ProductMappingComponent
from tests.factories import Cast, ProductMappingComponentFactory

pytestmark = pytest.mark.django_db
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
