"""Crosswalk services validate what the admin and the API send them, and learn what the pipeline matched."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from crosswalks.models import CrosswalkChange, CustomerMapping, PaymentTermsMapping, ProductMapping
from crosswalks.services import (
    customer_mapping_learn,
    product_mapping_create,
    product_mapping_delete,
    product_mapping_update,
)
from exceptions.models import ExceptionStatus, ExceptionType
from integration_hub.models import HandoffStatus
from tests.factories import ORG_ID, SyncExceptionFactory

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("sap_knows_everything")]


def test_it_maps_one_product_to_several_materials() -> None:
    mapping = product_mapping_create(
        crm_product_code="BND-PRO-TEAM",
        crm_product_name="Professional Team Pack",
        components=[
            {"sap_material": "MAT-PL-001", "quantity_factor": 5},
            {"sap_material": "MAT-TD-002", "quantity_factor": "2"},
        ],
        confidence="0.97",
    ).row

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
    mapping = product_mapping_create(crm_product_code="SKU-1", components=[{"sap_material": "MAT-1"}]).row

    with pytest.raises(ValidationError):
        product_mapping_update(mapping=mapping, components=[{"sap_material": "MAT-2", "quantity_factor": -1}])

    assert list(mapping.components.values_list("sap_material", flat=True)) == ["MAT-1"]
    product_mapping_delete(mapping=mapping)
    assert not ProductMapping.objects.exists()


def test_it_matches_payment_terms_case_insensitively_so_duplicates_are_refused() -> None:
    PaymentTermsMapping.objects.create(crm_value="Net 30", sap_terms_key="0001")

    with pytest.raises(IntegrityError):
        PaymentTermsMapping.objects.create(crm_value="NET 30", sap_terms_key="0002")


def _learn(account: str, bp: str) -> CustomerMapping | None:
    return customer_mapping_learn(org_id=ORG_ID, crm_account_id=account, crm_account_name="Globex",
                                  business_partner=bp, confidence=0.99, reason="matched by tax id (deal 006X)")


def test_it_learns_a_customer_match_without_asking_sap_again_and_re_runs_the_accounts_blocked_deals(
    enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    blocked = SyncExceptionFactory(type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:a",
                                   evidence={"account": "001A000000000001", "account_name": "Globex"})

    with mock.patch("crosswalks.sap_lookup.SapLookup.partner_exists", side_effect=AssertionError("SAP asked")), \
            django_capture_on_commit_callbacks(execute=True):
        mapping = _learn("001A000000000001", "17100003")

    assert mapping is not None
    assert (mapping.sap_business_partner, mapping.source, mapping.confidence) == ("17100003", "suggested", Decimal("0.99"))
    change = CrosswalkChange.objects.get(table="customers")
    assert (change.action, change.channel, change.reason) == ("create", "pipeline", "matched by tax id (deal 006X)")
    blocked.refresh_from_db()
    assert blocked.status == ExceptionStatus.RESOLVED
    blocked.handoff.refresh_from_db()
    assert blocked.handoff.status == HandoffStatus.VALIDATING
    assert enqueued == [blocked.handoff_id]


def test_it_never_lets_learning_replace_a_mapping() -> None:
    CustomerMapping.objects.create(org_id=ORG_ID, crm_account_id="001A000000000001", sap_business_partner="17100001")

    assert _learn("001A000000000001", "17100003") is None

    assert CustomerMapping.objects.get().sap_business_partner == "17100001"
    assert not CrosswalkChange.objects.exists()
