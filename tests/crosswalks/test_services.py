"""Crosswalk services validate what the admin and the API send them."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from crosswalks.models import PaymentTermsMapping, ProductMapping
from crosswalks.services import product_mapping_create, product_mapping_delete, product_mapping_update

pytestmark = pytest.mark.django_db


def test_it_maps_one_product_to_several_materials() -> None:
    mapping = product_mapping_create(
        crm_product_code="BND-PRO-TEAM",
        crm_product_name="Professional Team Pack",
        components=[
            {"sap_material": "MAT-PL-001", "quantity_factor": 5},
            {"sap_material": "MAT-TD-002", "quantity_factor": "2"},
        ],
        confidence="0.97",
    )

    assert mapping.confidence == Decimal("0.97")
    assert list(mapping.components.values_list("sap_material", "quantity_factor")) == [
        ("MAT-PL-001", Decimal("5")),
        ("MAT-TD-002", Decimal("2")),
    ]


@pytest.mark.parametrize(
    ("kwargs", "field", "says"),
    [
        ({"components": []}, "components", "at least one SAP material"),
        ({"components": [{"sap_material": "MAT-1", "quantity_factor": 0}]}, "components", "greater than 0"),
        (
            {"components": [{"sap_material": "MAT-1", "quantity_factor": "abc"}]},
            "components",
            "is not a number",
        ),
        ({"components": [{"sap_material": " "}]}, "components", "an SAP material is required"),
        ({"confidence": 2}, "confidence", "between 0 and 1"),
    ],
)
def test_it_rejects_invalid_mappings_with_a_message_per_field(kwargs: dict, field: str, says: str) -> None:
    arguments = {"crm_product_code": "SKU-1", "components": [{"sap_material": "MAT-1"}], **kwargs}

    with pytest.raises(ValidationError) as caught:
        product_mapping_create(**arguments)

    assert says in " ".join(caught.value.message_dict[field])
    assert not ProductMapping.objects.exists()


def test_it_keeps_the_old_components_when_an_update_is_invalid() -> None:
    mapping = product_mapping_create(crm_product_code="SKU-1", components=[{"sap_material": "MAT-1"}])

    with pytest.raises(ValidationError):
        product_mapping_update(mapping=mapping, components=[{"sap_material": "MAT-2", "quantity_factor": -1}])

    assert list(mapping.components.values_list("sap_material", flat=True)) == ["MAT-1"]
    product_mapping_delete(mapping=mapping)
    assert not ProductMapping.objects.exists()


def test_it_matches_payment_terms_case_insensitively_so_duplicates_are_refused() -> None:
    PaymentTermsMapping.objects.create(crm_value="Net 30", sap_terms_key="0001")

    with pytest.raises(IntegrityError):
        PaymentTermsMapping.objects.create(crm_value="NET 30", sap_terms_key="0002")
