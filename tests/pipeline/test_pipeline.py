"""What the pipeline decides, deal by deal, against both sandboxes over real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest

from crosswalks.models import (
    CurrencyMapping,
    CustomerMapping,
    PaymentTermsMapping,
    ProductMapping,
    ProductMappingComponent,
)
from crosswalks.services import product_mapping_create
from exceptions.models import CATALOGUE, ExceptionStatus, SyncException
from exceptions.services import exception_resolve
from integration_hub.canonical import CanonicalDeal
from integration_hub.models import HandoffEvent, HandoffStatus, SyncAttempt, TransformationLog
from integration_hub.orders import erp_order_block_set
from integration_hub.sandbox import catalog
from integration_hub.sandbox.dealflow import DEFECTS
from integration_hub.services import handoff_override_set
from integration_hub.triggers import poll_salesforce
from tests.crosswalks.test_api import client_for

S = HandoffStatus


def _expected_items(planned) -> list[tuple[str, Decimal]]:
    items = []
    for line in planned.lines:
        for material, factor in line.product.components:
            items.append((material, Decimal(line.quantity) * factor))
    return items


def _open_types(handoff) -> set[str]:
    return set(SyncException.objects.filter(handoff=handoff, status=ExceptionStatus.OPEN).values_list("type_code", flat=True))


def _healing(handoff) -> list[str]:
    return [step for attempt in SyncAttempt.objects.filter(handoff=handoff) for step in attempt.healing]


def test_it_turns_a_clean_deal_into_exactly_one_matching_sap_order_and_writes_the_number_back(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, planned = sync_world.flow.one("clean")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    orders = sync_world.orders_for(opportunity_id)
    assert len(orders) == 1
    order = orders[0]
    assert order.number == handoff.sap_sales_order
    assert order.deal_key == opportunity_id
    assert order.customer == planned.company.business_partner
    assert order.payment_terms == planned.company.payment_terms
    assert [(i["material"], i["quantity"]) for i in order.items] == _expected_items(planned)
    assert order.ship_to == planned.company.business_partner
    assert sync_world.creates(handoff) == 1

    opportunity = sync_world.opportunity(opportunity_id)
    assert opportunity["SAP_Sales_Order__c"] == handoff.sap_sales_order
    assert opportunity["ERP_Sync_Status__c"] == "Created"
    assert not opportunity["ERP_Hold_Reason__c"]

    path = list(HandoffEvent.objects.filter(handoff=handoff).values_list("to_status", flat=True))
    assert path == [S.RECEIVED, S.VALIDATING, S.READY, S.CREATING, S.CREATED, S.WRITTEN_BACK]
    logged = set(TransformationLog.objects.filter(handoff=handoff).values_list("field_path", flat=True))
    assert {"entity.organization.sap_business_partner", "transaction.payment.terms",
            "transaction.tax.classification", "entity.location.ship_to"} <= logged
    assert not SyncException.objects.filter(handoff=handoff).exists()


def test_it_creates_every_clean_deal_of_a_busy_afternoon(any_sync_world):
    sync_world = any_sync_world
    """Name variants, tax-id matches and fuzzy matches alike end as orders."""
    for _ in range(8):
        opportunity_id, planned = sync_world.flow.one("clean")
        handoff = sync_world.drive(sync_world.receive(opportunity_id))
        assert handoff.status == S.WRITTEN_BACK, (planned.company.crm_name, handoff.last_error, _open_types(handoff))
        assert len(sync_world.orders_for(opportunity_id)) == 1


@pytest.mark.parametrize("kind", DEFECTS)
def test_it_holds_a_defective_deal_as_its_typed_exception_and_sends_nothing_to_sap(any_sync_world, kind):
    sync_world = any_sync_world
    opportunity_id, _ = sync_world.flow.one(kind)
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.BLOCKED
    exception = SyncException.objects.get(handoff=handoff, type_code=kind, status=ExceptionStatus.OPEN)
    assert exception.queue.slug == CATALOGUE[kind].queue_slug
    assert exception.evidence
    assert sync_world.orders_for(opportunity_id) == []
    assert sync_world.creates(handoff) == 0
    opportunity = sync_world.opportunity(opportunity_id)
    assert opportunity["ERP_Sync_Status__c"] == "Blocked"
    assert exception.title[:40] in opportunity["ERP_Hold_Reason__c"]
    assert not opportunity["SAP_Sales_Order__c"]


def test_it_shows_pricing_evidence_from_both_sides(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, _ = sync_world.flow.one("pricing_mismatch")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    evidence = SyncException.objects.get(handoff=handoff, type_code="pricing_mismatch").evidence
    assert abs(Decimal(evidence["variance_percent"])) > 2
    assert Decimal(evidence["crm_net"]) != Decimal(evidence["sap_net"])
    assert evidence["sap_conditions"]


def test_it_shows_ar_aging_on_a_credit_hold(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, planned = sync_world.flow.one("credit_check_failed")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    evidence = SyncException.objects.get(handoff=handoff, type_code="credit_check_failed").evidence
    assert Decimal(evidence["exposure"]) > Decimal(evidence["credit_limit"])
    assert Decimal(evidence["credit_limit"]) == planned.company.credit_limit
    assert set(evidence["aging"]) == {"not_due", "1_30", "31_60", "61_90", "over_90"}


def test_it_becomes_a_sap_creation_error_on_the_third_failure_and_retries_once_resolved(sync_world):
    sync_world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="status", status=500, times=3)
    opportunity_id, _ = sync_world.flow.one("clean")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.BLOCKED
    exception = SyncException.objects.get(handoff=handoff, type_code="sap_creation_error")
    assert exception.queue.slug == "integration-ops"
    assert SyncAttempt.objects.filter(handoff=handoff, operation__startswith="create:A_SalesOrder").count() == 3
    assert sync_world.orders_for(opportunity_id) == []

    exception_resolve(exception=exception, actor=None, note="SAP is back")
    handoff.refresh_from_db()
    assert handoff.status == S.VALIDATING
    assert handoff.pk in sync_world.enqueued
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.WRITTEN_BACK
    assert len(sync_world.orders_for(opportunity_id)) == 1


def test_it_makes_one_order_when_sap_commits_then_drops_the_response(sync_world):
    sync_world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="drop", times=1)
    opportunity_id, _ = sync_world.flow.one("clean")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK
    assert len(sync_world.orders_for(opportunity_id)) == 1
    assert SyncAttempt.objects.filter(handoff=handoff, operation__startswith="create:A_SalesOrder").count() == 1
    assert any("adopted" in step for step in _healing(handoff))


def test_it_honours_retry_after_on_a_429(sync_world):
    sync_world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:POST", kind="rate_limit", retry_after=1, times=1)
    opportunity_id, _ = sync_world.flow.one("clean")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK
    creates = list(SyncAttempt.objects.filter(handoff=handoff, operation__startswith="create:A_SalesOrder").order_by("pk"))
    assert [a.status_code for a in creates] == [429, 201]
    assert (creates[1].created_at - creates[0].created_at).total_seconds() >= 1.0
    assert any("Retry-After 1" in step for step in creates[0].healing)
    assert len(sync_world.orders_for(opportunity_id)) == 1


@pytest.mark.parametrize(
    ("system", "operation", "kind", "healed"),
    [
        ("sap", "API_SALES_ORDER_SRV/A_SalesOrder:POST", "csrf_expiry", "CSRF token"),
        ("sap", "API_SALES_ORDER_SRV/A_SalesOrder:POST", "lock", "locked"),
        ("salesforce", "update:Opportunity", "session_expiry", "session expired"),
    ],
)
def test_it_heals_itself_and_says_what_it_changed(sync_world, system, operation, kind, healed):
    opportunity_id, _ = sync_world.flow.one("clean")
    sync_world.fault(system, operation=operation, kind=kind, times=1)
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    assert len(sync_world.orders_for(opportunity_id)) == 1
    assert any(healed.lower() in step.lower() for step in _healing(handoff)), _healing(handoff)


def test_it_re_reads_a_stale_etag_before_changing_an_order(sync_world):
    opportunity_id, _ = sync_world.flow.one("clean")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    sync_world.fault("sap", operation="API_SALES_ORDER_SRV/A_SalesOrder:PATCH", kind="stale_etag", times=1)

    erp_order_block_set(handoff=handoff, delivery_block="01")

    assert sync_world.sap.get_sales_order(handoff.sap_sales_order)["DeliveryBlockReason"] == "01"
    patches = list(SyncAttempt.objects.filter(handoff=handoff, operation__startswith="update:A_SalesOrder").order_by("pk"))
    assert [a.status_code for a in patches] == [412, 204]
    assert any("ETag" in step for step in patches[0].healing)


def test_it_re_derives_payment_terms_sap_rejects(sync_world):
    PaymentTermsMapping.objects.filter(sap_terms_key="NT30").update(sap_terms_key="ZZ30")
    for _ in range(20):
        opportunity_id, planned = sync_world.flow.one("clean")
        if planned.company.payment_terms == "NT30":
            break
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK, handoff.last_error
    assert sync_world.orders_for(opportunity_id)[0].payment_terms == "NT30"
    assert any("payment terms" in step.lower() for step in _healing(handoff))


def test_it_routes_a_material_sap_rejects_to_product_ops_before_pushing(sync_world):
    mapping = ProductMapping.objects.get(crm_product_code="EL-001")
    ProductMappingComponent.objects.filter(mapping=mapping).update(sap_material="MAT-GONE-001")
    planned = sync_world.flow.planner.plan("clean")
    planned.lines = [planned.lines[0].__class__(next(p for p in catalog.products() if p.code == "EL-001"), 1,
                                                 Decimal("12000.00"))]
    opportunity_id = sync_world.flow.open_deal(planned)
    sync_world.flow.close_won(opportunity_id)
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.BLOCKED
    exception = SyncException.objects.get(handoff=handoff, type_code="product_not_mapped")
    assert exception.evidence["material"] == "MAT-GONE-001"
    assert sync_world.orders_for(opportunity_id) == []


def test_it_turns_a_deal_blocked_on_a_product_into_one_order_once_the_mapping_is_added_through_the_api(
        any_sync_world, django_user_model):
    """Issue 10's bug: the API's mapping used to record history and resolve nothing."""
    sync_world = any_sync_world
    planned = sync_world.flow.planner.plan("clean")
    while len(planned.lines) != 1:
        planned = sync_world.flow.planner.plan("clean")
    code = planned.lines[0].product.code
    mapping = ProductMapping.objects.get(crm_product_code=code)
    materials = [{"sap_material": c.sap_material, "quantity_factor": str(c.quantity_factor)}
                 for c in mapping.components.order_by("position")]
    mapping.delete()
    opportunity_id = sync_world.flow.open_deal(planned)
    sync_world.flow.close_won(opportunity_id)
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    assert handoff.status == S.BLOCKED and _open_types(handoff) == {"product_not_mapped"}

    admin = django_user_model.objects.create_superuser("ops-admin", "ops@example.com", "x")
    response = client_for(admin).post("/api/v1/crosswalks/products/", {
        "crm_product_code": code, "crm_product_name": planned.lines[0].product.name, "components": materials,
    }, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["rerun_handoffs"] == [handoff.pk]
    assert not _open_types(handoff)
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert [o.number for o in sync_world.orders_for(opportunity_id)] == [handoff.sap_sales_order]


def test_it_re_runs_from_validation_when_the_last_exception_is_resolved(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, planned = sync_world.flow.one("product_not_mapped")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    exception = SyncException.objects.get(handoff=handoff, type_code="product_not_mapped")
    code = exception.evidence["product_code"]

    # Product ops maps the product; the crosswalk service resolves what the mapping fixes.
    product_mapping_create(crm_product_code=code, crm_product_name="mapped in triage",
                           components=[{"sap_material": "MAT-EL-001", "quantity_factor": "1"}])
    exception.refresh_from_db()
    assert exception.status == ExceptionStatus.RESOLVED
    handoff = sync_world.drive(handoff)

    assert "product_not_mapped" not in _open_types(handoff)
    transitions = list(HandoffEvent.objects.filter(handoff=handoff).values_list("from_status", "to_status"))
    assert (S.BLOCKED, S.VALIDATING) in transitions
    assert handoff.status in {S.WRITTEN_BACK, S.BLOCKED}


def test_it_finds_closed_won_deals_by_polling_when_no_message_came(sync_world):
    opportunity_id, _ = sync_world.flow.one("clean")
    assert poll_salesforce() >= 1
    assert poll_salesforce() == 0  # the watermark moved; the same deal is not a new handoff
    handoff = sync_world.receive(opportunity_id, source="poll")
    assert handoff.source == "poll"
    assert handoff.pk in sync_world.enqueued


def test_it_does_not_sync_a_deal_that_left_closed_won(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, _ = sync_world.flow.one("clean")
    handoff = sync_world.receive(opportunity_id)
    sync_world.salesforce.update("Opportunity", opportunity_id, {"StageName": "Negotiation/Review"})
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.CANCELLED
    assert sync_world.orders_for(opportunity_id) == []


def test_it_never_stores_a_secret_in_a_sync_attempt(sync_world):
    opportunity_id, _ = sync_world.flow.one("clean")
    sync_world.drive(sync_world.receive(opportunity_id))
    attempts = list(SyncAttempt.objects.all())
    assert {a.system for a in attempts} == {"salesforce", "sap"}
    dumped = " ".join(str([a.url, a.request, a.response, a.error_message, a.healing]) for a in attempts)
    assert "Bearer sandbox" not in dumped
    assert "c2FuZGJveDpzYW5kYm94" not in dumped  # base64 of sandbox:sandbox
    for attempt in attempts:
        headers = {k.lower(): v for k, v in (attempt.request.get("headers") or {}).items()}
        for secret in ("authorization", "x-csrf-token", "cookie"):
            assert headers.get(secret, "***") == "***", (attempt.operation, secret)


def _resolve_all(handoff, type_code):
    for exception in SyncException.objects.filter(handoff=handoff, type_code=type_code, status=ExceptionStatus.OPEN):
        exception_resolve(exception=exception, actor=None, note="resolved in test")


def test_it_creates_the_order_at_the_crm_price_once_pricing_approves_it(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, _ = sync_world.flow.one("pricing_mismatch")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    exception = SyncException.objects.get(handoff=handoff, type_code="pricing_mismatch")
    code, crm_net = exception.evidence["product_code"], Decimal(exception.evidence["crm_net"])

    handoff_override_set(handoff=handoff, key="pricing", value={code: {"action": "crm_price", "by": "pricing"}})
    _resolve_all(handoff, "pricing_mismatch")
    handoff = sync_world.drive(handoff)

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    order = sync_world.orders_for(opportunity_id)[0]
    line = next(line for line in CanonicalDeal.from_json(handoff.canonical).lines if line.product_code == code)
    materials = {m.material for m in line.materials}
    net = sum(Decimal(str(i["net_amount"])) for i in order.items if i["material"] in materials)
    assert abs(net - crm_net) <= Decimal("0.05") * len(materials)


def test_it_creates_the_order_once_credit_releases_the_hold(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, _ = sync_world.flow.one("credit_check_failed")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    handoff_override_set(handoff=handoff, key="credit", value={"action": "release", "by": "credit"})
    _resolve_all(handoff, "credit_check_failed")
    handoff = sync_world.drive(handoff)
    # This deal is worth more than $250K: high risk (issue 6), so an approver clears it too.
    assert handoff.status == S.AWAITING_APPROVAL, (handoff.last_error, _open_types(handoff))
    assert sync_world.orders_for(opportunity_id) == []
    from approvals.services import approval_decide
    from tests.factories import UserFactory

    approval_decide(approval=handoff.approval, actor=UserFactory(is_superuser=True), action="approve")
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert len(sync_world.orders_for(opportunity_id)) == 1


def test_it_ships_to_the_address_logistics_picked(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, _ = sync_world.flow.one("address_invalid")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    nearest = SyncException.objects.get(handoff=handoff, type_code="address_invalid").evidence["nearest"][0]
    handoff_override_set(handoff=handoff, key="ship_to", value=nearest["address"])
    _resolve_all(handoff, "address_invalid")
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert CanonicalDeal.from_json(handoff.canonical).ship_to.postal_code == nearest["address"]["postal_code"]


def test_it_uses_the_payment_terms_sales_ops_filled_in(any_sync_world):
    sync_world = any_sync_world
    opportunity_id, planned = sync_world.flow.one("missing_required_field")
    handoff = sync_world.drive(sync_world.receive(opportunity_id))
    handoff_override_set(handoff=handoff, key="payment_terms", value="NT30")
    _resolve_all(handoff, "missing_required_field")
    handoff = sync_world.drive(handoff)
    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    assert sync_world.orders_for(opportunity_id)[0].payment_terms == "NT30"


def test_it_learns_a_matched_customer_so_the_next_deal_skips_the_search(any_sync_world):
    sync_world = any_sync_world
    planned = sync_world.flow.planner.plan("clean")
    first = sync_world.flow.open_deal(planned)
    sync_world.flow.close_won(first)
    handoff = sync_world.drive(sync_world.receive(first))
    account = CanonicalDeal.from_json(handoff.canonical).organization.crm_account_id
    mapping = CustomerMapping.objects.get(crm_account_id=account)
    assert mapping.sap_business_partner == planned.company.business_partner
    searches_before = sync_world.customer_searches(handoff)

    second = sync_world.flow.open_deal(planned)
    sync_world.flow.close_won(second)
    again = sync_world.drive(sync_world.receive(second))
    assert again.status == S.WRITTEN_BACK
    rule = TransformationLog.objects.get(handoff=again, field_path="entity.organization.sap_business_partner").rule
    assert rule.startswith("customer crosswalk")
    # No customer search for the second deal: the crosswalk answered.
    assert sync_world.customer_searches(again) == (searches_before if sync_world.kind == "fake" else 0)


def test_it_reports_the_health_metrics_on_the_home_page(sync_world, client, django_user_model):
    clean, _ = sync_world.flow.one("clean")
    sync_world.drive(sync_world.receive(clean))
    blocked, _ = sync_world.flow.one("product_not_mapped")
    sync_world.drive(sync_world.receive(blocked))
    client.force_login(django_user_model.objects.create_user("ops", password="x", is_staff=True))

    page = client.get("/").content.decode()
    assert "Handoff automation rate" in page
    assert "50.0 %" in page  # one of two deals went through untouched
    assert "Product ops" in page


def test_it_ships_to_the_partner_the_customer_crosswalk_names(any_sync_world):
    sync_world = any_sync_world
    planned = sync_world.flow.planner.plan("clean")
    other = next(c for c in catalog.companies() if c.in_sap and c.key != planned.company.key
                 and c.sales_area == planned.company.sales_area)
    account = sync_world.salesforce.query_all(
        f"SELECT Id FROM Account WHERE Name = '{planned.company.crm_name}'")[0]["Id"]
    CustomerMapping.objects.create(org_id="00D000000000001EAA", crm_account_id=account,
                                   crm_account_name=planned.company.crm_name,
                                   sap_business_partner=planned.company.business_partner,
                                   sap_ship_to=other.business_partner)
    opportunity_id = sync_world.flow.open_deal(planned)
    sync_world.flow.close_won(opportunity_id)
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK, (handoff.last_error, _open_types(handoff))
    order = sync_world.orders_for(opportunity_id)[0]
    assert order.ship_to == other.business_partner
    assert order.customer == planned.company.business_partner


def test_it_maps_the_crm_currency_through_the_currency_crosswalk(sync_world, settings):
    settings.HUB_CRM_CURRENCY = "US Dollar"
    CurrencyMapping.objects.create(crm_currency="us dollar", sap_currency="USD")
    planned = sync_world.flow.planner.plan("clean")
    while planned.company.sales_area.currency != "USD":
        planned = sync_world.flow.planner.plan("clean")
    opportunity_id = sync_world.flow.open_deal(planned)
    sync_world.flow.close_won(opportunity_id)
    handoff = sync_world.drive(sync_world.receive(opportunity_id))

    assert handoff.status == S.WRITTEN_BACK
    assert CanonicalDeal.from_json(handoff.canonical).currency == "USD"
    log = TransformationLog.objects.get(handoff=handoff, field_path="transaction.currency")
    assert (log.source_value, log.result_value, log.rule) == ("US Dollar", "USD", "currency crosswalk")
