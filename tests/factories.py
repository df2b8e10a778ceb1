"""factory_boy factories and the shared cast of users every permission test speaks about."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import factory
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import AbstractUser, Permission

from crosswalks.models import ProductMapping, ProductMappingComponent
from exceptions.models import CATALOGUE, ExceptionType, SyncException
from exceptions.services import queue_ensure, queue_member_add
from integration_hub.models import Handoff, HandoffSource, HandoffStatus, salesforce_id_18

ORG_ID = "00D000000000001EAA"


def opportunity_id(n: int) -> str:
    return salesforce_id_18(f"0065g{n:010d}")


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.com")
    # Tests log in by token or force_login; hashing a password per user would cost seconds.
    password = factory.LazyFunction(lambda: make_password(None))  # unusable, and no hashing


class HandoffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Handoff

    org_id = ORG_ID
    opportunity_id = factory.Sequence(opportunity_id)
    status = HandoffStatus.RECEIVED
    source = HandoffSource.WEBHOOK


class SyncExceptionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SyncException

    handoff = factory.SubFactory(HandoffFactory, status=HandoffStatus.BLOCKED)
    type_code = ExceptionType.PRODUCT_NOT_MAPPED
    queue = factory.LazyAttribute(lambda e: queue_ensure(slug=CATALOGUE[e.type_code].queue_slug))
    title = factory.Sequence(lambda n: f"Product SKU-{n} has no SAP material")
    message = "Add the crosswalk row for this product."
    evidence = factory.LazyAttribute(lambda e: {"title": e.title})
    fingerprint = factory.Sequence(lambda n: f"product_not_mapped:SKU-{n}")


class ProductMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductMapping

    crm_product_code = factory.Sequence(lambda n: f"SKU-{n:04d}")
    crm_product_name = factory.Sequence(lambda n: f"Product {n}")
    confidence = Decimal("1.0")


class ProductMappingComponentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProductMappingComponent

    mapping = factory.SubFactory(ProductMappingFactory)
    sap_material = factory.Sequence(lambda n: f"MAT-{n:04d}")
    quantity_factor = Decimal("1")


@dataclass
class Cast:
    pricing_analyst: AbstractUser
    master_data_steward: AbstractUser
    integration_ops: AbstractUser
    admin: AbstractUser
    outsider: AbstractUser
    credit_manager: AbstractUser
    approver: AbstractUser
    product_ops: AbstractUser

    def __iter__(self) -> Any:
        return iter(vars(self).values())


def make_cast() -> Cast:
    pricing = UserFactory(username="pricing_analyst")
    queue_ensure(slug="pricing").members.add(pricing)
    steward = UserFactory(username="master_data_steward")
    queue_ensure(slug="master-data").members.add(steward)
    ops = UserFactory(username="integration_ops")
    queue_ensure(slug="integration-ops").members.add(ops)
    # Integration ops curate the product crosswalk too: they hold its model permissions.
    ops.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="crosswalks",
            codename__in=["add_productmapping", "change_productmapping", "delete_productmapping"],
        )
    )
    admin = UserFactory(username="admin", is_staff=True, is_superuser=True)
    outsider = UserFactory(username="outsider")
    # Newer members join through the service, which grants guardian object permissions too.
    credit = UserFactory(username="credit_manager")
    queue_member_add(queue=queue_ensure(slug="credit"), user=credit, lead=True)
    approver = UserFactory(username="approver")
    product_ops = UserFactory(username="product_ops")
    queue_member_add(queue=queue_ensure(slug="product-ops"), user=product_ops)
    return Cast(
        pricing_analyst=pricing,
        master_data_steward=steward,
        integration_ops=ops,
        admin=admin,
        outsider=outsider,
        credit_manager=credit,
        approver=approver,
        product_ops=product_ops,
    )


@pytest.fixture
def cast(db: None) -> Cast:
    """The people permission tests talk about: 'the outsider gets 404'."""
    return make_cast()


@pytest.fixture(autouse=True)
def enqueued() -> Any:
    """Ids handed to the broker. Nothing here needs a worker: `delay` (what `delay_on_commit`
    calls once the transaction commits) is replaced by a recorder."""
    from unittest import mock

    from integration_hub.tasks import process_handoff

    calls: list[int] = []
    with mock.patch.object(process_handoff, "delay", side_effect=lambda handoff_id: calls.append(handoff_id)):
        yield calls
