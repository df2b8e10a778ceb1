"""Each resolution path, driven against both sandboxes: the deal ends as an SAP order, or the
right hold is written back to Salesforce."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from crosswalks.models import ChangeChannel, CrosswalkChange, CustomerMapping, ProductMapping
from crosswalks.services import crosswalk_change_revert
from exceptions.errors import ResolutionError
from exceptions.models import ExceptionEvent, SyncException
from exceptions.resolution import exception_resolve_path
from integration_hub.models import HandoffStatus as S
from integration_hub.models import TransformationLog
from integration_hub.sandbox import catalog
from tests.factories import Cast, make_cast


def _blocked(world, kind):
    opportunity_id, _ = world.flow.one(kind)
    handoff = world.drive(world.receive(opportunity_id))
    assert handoff.status == S.BLOCKED, handoff.last_error
    return opportunity_id, handoff


def _open(handoff, type_code):
    return SyncException.objects.get(handoff=handoff, type_code=type_code, status="open")


def _resolve(world, exception, actor, path, **data):
    exception_resolve_path(exception=exception, actor=actor, path=path, data=data)
    return world.drive(exception.handoff)


def _open_types(handoff):
    return sorted(SyncException.objects.filter(handoff=handoff, status="open").values_list("type_code", flat=True))


@pytest.fixture
def people(sync_world) -> Cast:
    return make_cast()


def test_it_maps_an_unmapped_product_inline_and_the_deal_becomes_an_order(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "product_not_mapped")
    exception = _open(handoff, "product_not_mapped")
    code = exception.evidence["product_code"]

    handoff = _resolve(sync_world, exception, people.product_ops, "map_product",
                       components=[{"sap_material": "MAT-EL-001", "quantity_factor": "2"}])
    if _open_types(handoff) == ["pricing_mismatch"]:
        # The CRM price was typed for another product: pricing accepts SAP's price for the new material.
        handoff = _resolve(sync_world, _open(handoff, "pricing_mismatch"), people.pricing_analyst, "accept_sap")

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    mapping = ProductMapping.objects.get(crm_product_code=code)
    assert [(c.sap_material, c.quantity_factor) for c in mapping.components.all()] == [("MAT-EL-001", 2)]
    assert mapping.source == "manual"
    assert len(sync_world.orders_for(opportunity_id)) == 1
    assert ExceptionEvent.objects.filter(exception=exception, kind="action", actor=people.product_ops).exists()


def test_it_accepts_the_sap_price_and_creates_the_order(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "pricing_mismatch")

    handoff = _resolve(sync_world, _open(handoff, "pricing_mismatch"), people.pricing_analyst, "accept_sap")

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    code = next(iter(handoff.overrides["pricing"]))
    assert handoff.overrides["pricing"][code] == {"action": "accept_sap", "by": "pricing_analyst"}
    assert len(sync_world.orders_for(opportunity_id)) == 1


def test_it_sends_a_price_back_to_sales_with_the_hold_reason_in_salesforce(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "pricing_mismatch")

    handoff = _resolve(sync_world, _open(handoff, "pricing_mismatch"), people.pricing_analyst, "send_back",
                       note="discount needs VP sign-off")

    assert handoff.status == S.FAILED
    opportunity = sync_world.opportunity(opportunity_id)
    assert "discount needs VP sign-off" in opportunity["ERP_Hold_Reason__c"]
    assert opportunity["ERP_Sync_Status__c"] == "Failed"
    assert sync_world.orders_for(opportunity_id) == []


def test_it_lets_only_credit_release_a_hold_and_then_creates_the_order(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "credit_check_failed")
    exception = _open(handoff, "credit_check_failed")

    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        exception_resolve_path(exception=exception, actor=people.pricing_analyst, path="release", data={})
    handoff = _resolve(sync_world, exception, people.credit_manager, "release", note="paid last week")

    # A deal this large is high risk: after the release it may wait for an approver (issue 6).
    assert _open_types(handoff) == []
    assert handoff.status in {S.WRITTEN_BACK, S.AWAITING_APPROVAL}, handoff.last_error
    assert handoff.overrides["credit"] == {"action": "release", "by": "credit_manager"}
    assert len(sync_world.orders_for(opportunity_id)) == (1 if handoff.status == S.WRITTEN_BACK else 0)


def test_it_cancels_the_deal_when_credit_rejects_it_and_tells_salesforce(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "credit_check_failed")

    handoff = _resolve(sync_world, _open(handoff, "credit_check_failed"), people.credit_manager, "reject",
                       note="customer in collections")

    assert handoff.status == S.CANCELLED
    assert "customer in collections" in sync_world.opportunity(opportunity_id)["ERP_Hold_Reason__c"]
    assert sync_world.orders_for(opportunity_id) == []


def test_it_applies_the_policy_default_terms_and_creates_the_order(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "missing_required_field")
    sales_ops = people.admin

    handoff = _resolve(sync_world, _open(handoff, "missing_required_field"), sales_ops, "payment_terms",
                       use_default="1")

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert handoff.overrides["payment_terms"] == "NT30"
    assert sync_world.orders_for(opportunity_id)[0].payment_terms == "NT30"


def test_it_picks_a_candidate_partner_then_the_nearest_ship_to_and_ends_as_an_order(sync_world, people):
    from integration_hub.sandbox import catalog

    opportunity_id, handoff = _blocked(sync_world, "customer_not_found")
    exception = _open(handoff, "customer_not_found")
    candidates = exception.evidence.get("candidates") or []
    bp = candidates[0]["business_partner"] if candidates else next(
        c.business_partner for c in catalog.companies() if c.business_partner)

    handoff = _resolve(sync_world, exception, people.master_data_steward, "pick_customer", business_partner=bp)

    mapping = CustomerMapping.objects.get(org_id=handoff.org_id, crm_account_id=exception.evidence["account"])
    assert (mapping.sap_business_partner, mapping.source) == (bp, "manual")
    assert "customer_not_found" not in _open_types(handoff)
    # A partner picked for a net-new account has its own addresses and prices: logistics picks
    # the nearest ship-to and pricing accepts SAP's prices, each through its own path.
    for _ in range(3):
        remaining = SyncException.objects.filter(handoff=handoff, status="open").order_by("pk")
        if not remaining:
            break
        for other in remaining:
            path, data = ("ship_to", {"nearest": "0"}) if other.type_code == "address_invalid" else ("accept_sap", {})
            exception_resolve_path(exception=other, actor=people.admin, path=path, data=data)
        handoff = sync_world.drive(handoff)
    assert _open_types(handoff) == []
    assert handoff.status in {S.WRITTEN_BACK, S.AWAITING_APPROVAL}, handoff.last_error
    assert len(sync_world.orders_for(opportunity_id)) == (1 if handoff.status == S.WRITTEN_BACK else 0)


def test_it_ships_to_the_nearest_sap_address_logistics_picked(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "address_invalid")
    exception = _open(handoff, "address_invalid")
    nearest = exception.evidence["nearest"][0]

    handoff = _resolve(sync_world, exception, people.admin, "ship_to", nearest="0")

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert handoff.overrides["ship_to"]["postal_code"] == nearest["address"]["postal_code"]
    assert len(sync_world.orders_for(opportunity_id)) == 1


def test_it_approves_the_crm_price_as_a_manual_override_and_the_order_carries_it(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "pricing_mismatch")
    exception = _open(handoff, "pricing_mismatch")
    crm_net = Decimal(exception.evidence["crm_net"])

    handoff = _resolve(sync_world, exception, people.pricing_analyst, "crm_price", note="contract price")

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    code = exception.evidence["product_code"]
    assert handoff.overrides["pricing"][code] == {"action": "crm_price", "by": "pricing_analyst"}
    [order] = sync_world.orders_for(opportunity_id)
    # SAP's net for the line is the price sales committed to (a manual condition, not SAP's list price).
    assert any(item["net_amount"] == crm_net for item in order.items)
    assert TransformationLog.objects.filter(handoff=handoff, rule__startswith="CRM price approved by pricing_analyst",
                                            result_value=str(crm_net)).exists()


def test_it_fills_in_the_payment_terms_a_person_typed_and_creates_the_order(sync_world, people):
    opportunity_id, handoff = _blocked(sync_world, "missing_required_field")

    handoff = _resolve(sync_world, _open(handoff, "missing_required_field"), people.admin, "payment_terms",
                       terms_key="NT45")

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert sync_world.orders_for(opportunity_id)[0].payment_terms == "NT45"


def _sap_creation_error(world):
    world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="status", status=500, times=3)
    opportunity_id, _ = world.flow.one("clean")
    handoff = world.drive(world.receive(opportunity_id))
    assert handoff.status == S.BLOCKED, handoff.last_error
    return opportunity_id, handoff


def test_it_retries_an_sap_creation_error_from_the_hub_and_creates_one_order(sync_world, people):
    opportunity_id, handoff = _sap_creation_error(sync_world)

    handoff = _resolve(sync_world, _open(handoff, "sap_creation_error"), people.integration_ops, "retry",
                       note="SAP is back")

    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    assert len(sync_world.orders_for(opportunity_id)) == 1


def test_it_cancels_an_sap_creation_error_and_tells_salesforce(sync_world, people):
    opportunity_id, handoff = _sap_creation_error(sync_world)

    handoff = _resolve(sync_world, _open(handoff, "sap_creation_error"), people.integration_ops, "cancel",
                       note="duplicate of an order keyed by hand")

    assert handoff.status == S.CANCELLED
    opportunity = sync_world.opportunity(opportunity_id)
    assert "duplicate of an order keyed by hand" in opportunity["ERP_Hold_Reason__c"]
    assert sync_world.orders_for(opportunity_id) == []


# -- a crosswalk value entered on an exception is checked against SAP like one entered on the workbench --
def _partners_in_sap(n: int) -> list[str]:
    return [c.business_partner for c in catalog.companies() if c.business_partner][:n]


def test_it_refuses_a_business_partner_sap_does_not_know_says_so_and_writes_nothing(sync_world, people):
    _, handoff = _blocked(sync_world, "customer_not_found")
    exception = _open(handoff, "customer_not_found")
    account = exception.evidence["account"]
    client = Client()
    client.force_login(people.master_data_steward)

    response = client.post(reverse("exceptions:resolve", args=[exception.pk]),
                           {"path": "pick_customer", "business_partner": "9999999999"}, follow=True)

    page = response.content.decode()
    assert response.status_code == 422
    assert "SAP has no business partner 9999999999" in page
    assert 'value="9999999999"' in page  # what the steward typed stays in the form, to correct it
    assert not CustomerMapping.objects.filter(org_id=handoff.org_id, crm_account_id=account).exists()
    assert not CrosswalkChange.objects.filter(table="customers", row_key=f"{handoff.org_id}|{account}").exists()
    exception.refresh_from_db()
    assert exception.status == "open"
    handoff.refresh_from_db()
    assert handoff.status == S.BLOCKED


def test_it_records_a_pick_that_replaces_a_mapping_as_a_change_that_can_be_reverted(sync_world, people):
    _, handoff = _blocked(sync_world, "customer_not_found")
    exception = _open(handoff, "customer_not_found")
    account = exception.evidence["account"]
    earlier, picked = _partners_in_sap(2)
    CustomerMapping.objects.create(org_id=handoff.org_id, crm_account_id=account, crm_account_name="mapped before",
                                   sap_business_partner=earlier, sap_ship_to=earlier)

    exception_resolve_path(exception=exception, actor=people.master_data_steward, path="pick_customer",
                           data={"business_partner": picked})

    change = CrosswalkChange.objects.get(table="customers", row_key=f"{handoff.org_id}|{account}")
    assert (change.action, change.channel, change.actor) == ("update", "resolution", people.master_data_steward)
    assert (change.before["sap_business_partner"], change.after["sap_business_partner"]) == (earlier, picked)
    assert (change.before["sap_ship_to"], change.after["sap_ship_to"]) == (earlier, "")  # belonged to the old sold-to
    exception.refresh_from_db()
    assert exception.status == "resolved"

    crosswalk_change_revert(change=change, actor=people.admin, channel=ChangeChannel.UI)
    mapping = CustomerMapping.objects.get(org_id=handoff.org_id, crm_account_id=account)
    assert (mapping.sap_business_partner, mapping.sap_ship_to) == (earlier, earlier)


def test_it_refuses_a_material_sap_does_not_have_and_the_product_stays_unmapped(sync_world, people):
    _, handoff = _blocked(sync_world, "product_not_mapped")
    exception = _open(handoff, "product_not_mapped")
    code = exception.evidence["product_code"]

    with pytest.raises(ResolutionError, match="SAP has no material MAT-NOPE-999"):
        exception_resolve_path(exception=exception, actor=people.product_ops, path="map_product",
                               data={"components": [{"sap_material": "MAT-NOPE-999", "quantity_factor": "1"}]})

    assert not ProductMapping.objects.filter(crm_product_code__iexact=code).exists()
    assert not CrosswalkChange.objects.filter(table="products", row_key=code).exists()
    exception.refresh_from_db()
    assert exception.status == "open"
    assert not ExceptionEvent.objects.filter(exception=exception, kind="action").exists()
