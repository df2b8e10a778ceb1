"""Routing rules: order, raise-time routing, re-routing on change, preview, the admin screens."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction

from exceptions.models import EventKind, Priority, RoutingRule, RoutingRuleChange, SyncException
from exceptions.routing import (
    routing_preview,
    routing_rule_move,
    routing_rule_save,
    routing_rules_changed,
)
from exceptions.services import exception_enrich, exception_open, queue_ensure
from integration_hub.models import HandoffStatus
from tests.factories import HandoffFactory, SyncExceptionFactory

DEAL = {"amount": "250000.00", "currency": "USD",
        "organization": {"name": "Globex Corp", "sap_business_partner": "1000042", "sales_organization": "1710",
                         "currency": "USD"},
        "ship_to": {"country": "DE", "region": "BY"},
        "lines": [{"product_code": "EL-ANNUAL"}]}


def _rule(name: str, queue: str, position: int, **conditions: object) -> RoutingRule:
    return RoutingRule.objects.create(name=name, queue=queue_ensure(slug=queue), position=position, **conditions)


def _raise(canonical: dict | None = None, type_code: str = "pricing_mismatch", **kw: object) -> SyncException:
    handoff = HandoffFactory(status=HandoffStatus.BLOCKED, canonical=canonical or {})
    return exception_open(handoff=handoff, type_code=type_code, fingerprint=f"x{handoff.pk}", title="t",
                          message="m", **kw)


def test_it_routes_by_the_first_matching_active_rule(cast: object) -> None:
    _rule("inactive first", "sales-ops", 1, active=False)
    _rule("big German deals", "credit", 2, amount_min=Decimal("100000"), countries=["DE"],
          priority=Priority.URGENT, assignee=cast.credit_manager)
    _rule("all pricing", "logistics", 3, type_codes=["pricing_mismatch"])
    big = _raise(DEAL)
    assert (big.queue.slug, big.priority, big.assignee_id) == ("credit", Priority.URGENT, cast.credit_manager.pk)
    assert "big German deals" in big.events.get(kind=EventKind.ROUTE).reason
    small = _raise({**DEAL, "amount": "500"})
    assert small.queue.slug == "logistics"
    other_type = _raise({**DEAL, "amount": "500"}, type_code="customer_not_found")
    assert other_type.queue.slug == "master-data"  # no rule matches: the catalogue queue


@pytest.mark.parametrize(
    ("conditions", "matches"),
    [
        ({"customer": "1000042"}, True),
        ({"customer": "globex"}, True),
        ({"customer": "initech"}, False),
        ({"product_families": ["el"]}, True),
        ({"product_families": ["HW"]}, False),
        ({"sales_organizations": ["1710"], "currency": "usd"}, True),
        ({"regions": ["CA"]}, False),
        ({"strategic": True}, False),
        ({"strategic": False}, True),
        ({"amount_max": Decimal("1000")}, False),
    ],
)
def test_it_matches_each_deal_condition(cast: object, conditions: dict, matches: bool) -> None:
    _rule("r", "credit", 1, **conditions)
    assert (_raise(DEAL).queue.slug == "credit") is matches


def test_it_routes_again_once_the_canonical_record_is_saved(cast: object) -> None:
    _rule("German ship-to", "logistics", 1, countries=["DE"])
    exc = _raise({})  # the pipeline saves the canonical later in the same transaction
    assert exc.queue.slug == "pricing"
    type(exc.handoff).objects.filter(pk=exc.handoff_id).update(canonical=DEAL)
    exception_enrich(exception_id=exc.pk)
    exc.refresh_from_db()
    assert exc.queue.slug == "logistics"


def test_it_reroutes_only_open_unassigned_exceptions_when_rules_change(cast: object) -> None:
    free = SyncExceptionFactory(type_code="pricing_mismatch")
    taken = SyncExceptionFactory(type_code="pricing_mismatch", assignee=cast.pricing_analyst)
    closed = SyncExceptionFactory(type_code="pricing_mismatch", status="resolved")
    rule = RoutingRule(name="pricing to credit", queue=queue_ensure(slug="credit"), type_codes=["pricing_mismatch"])
    routing_rule_save(rule=rule, actor=cast.admin)
    assert routing_rules_changed(actor=cast.admin) == 1
    queues = dict(SyncException.objects.values_list("pk", "queue__slug"))
    assert queues == {free.pk: "credit", taken.pk: "pricing", closed.pk: "pricing"}
    change = RoutingRuleChange.objects.get()
    assert (change.actor, change.action, change.rerouted) == (cast.admin, "create", 1)


def test_it_previews_the_edited_rules_without_saving(cast: object) -> None:
    pricing = SyncExceptionFactory(type_code="pricing_mismatch")
    product = SyncExceptionFactory(type_code="product_not_mapped")
    saved = _rule("product to sales-ops", "sales-ops", 1, type_codes=["product_not_mapped"])
    # Edited, unsaved: the saved rule now also takes pricing, and goes to credit.
    saved.queue = queue_ensure(slug="credit")
    saved.type_codes = ["product_not_mapped", "pricing_mismatch"]
    rows = {r.exception.pk: r for r in routing_preview(rules=[saved], limit=10)}
    assert (rows[pricing.pk].old_queue_id, rows[pricing.pk].new_queue_id) == (pricing.queue_id, saved.queue_id)
    assert rows[product.pk].moves and rows[product.pk].rule == saved
    saved.refresh_from_db()
    assert saved.queue.slug == "sales-ops"
    assert SyncException.objects.get(pk=pricing.pk).queue.slug == "pricing"


def test_it_reorders_rules_and_the_order_decides(cast: object) -> None:
    first = _rule("to credit", "credit", 1, type_codes=["pricing_mismatch"])
    second = _rule("to logistics", "logistics", 2, type_codes=["pricing_mismatch"])
    assert _raise(DEAL).queue.slug == "credit"
    with transaction.atomic():
        assert routing_rule_move(rule=second, actor=cast.admin, direction="up")
    assert list(RoutingRule.objects.values_list("pk", flat=True)) == [second.pk, first.pk]
    assert _raise(DEAL).queue.slug == "logistics"
    assert RoutingRuleChange.objects.filter(action="move up", actor=cast.admin).exists()


# -- screens ---------------------------------------------------------------------------------------
def test_it_hides_the_rule_screens_from_non_admins(cast: object, client: object) -> None:
    rule = _rule("r", "credit", 1)
    client.force_login(cast.pricing_analyst)
    assert client.get("/triage/routing/").status_code == 404
    assert client.post(f"/triage/routing/{rule.pk}/toggle/", {"active": "0"}).status_code == 404
    assert client.post("/triage/routing/preview/", {"name": "x"}).status_code == 404


def test_it_lets_an_admin_add_a_rule_in_the_browser(cast: object, client: object) -> None:
    exc = SyncExceptionFactory(type_code="pricing_mismatch")
    client.force_login(cast.admin)
    assert client.get("/triage/routing/new/").status_code == 200
    form = {"name": "pricing → credit", "active": "on", "type_codes": ["pricing_mismatch"],
            "queue": queue_ensure(slug="credit").pk, "strategic": "unknown", "countries": "", "regions": "",
            "sales_organizations": "", "product_families": ""}
    preview = client.post("/triage/routing/preview/", form, headers={"HX-Request": "true",
                                                                      "HX-Target": "routing-preview"})
    html = preview.content.decode()
    assert preview.status_code == 200 and 'id="routing-preview"' in html and "<html" not in html
    assert "→ <b>Credit management</b>" in html
    assert not RoutingRule.objects.exists()
    response = client.post("/triage/routing/new/", form)
    assert response.status_code == 302
    rule = RoutingRule.objects.get()
    assert rule.type_codes == ["pricing_mismatch"] and rule.strategic is None and rule.updated_by == cast.admin
    exc.refresh_from_db()
    assert exc.queue.slug == "credit"
    page = client.get("/triage/routing/").content.decode()
    assert "pricing → credit" in page and "1 re-routed" in page
    client.post(f"/triage/routing/{rule.pk}/toggle/", {"active": "0"})
    rule.refresh_from_db()
    assert not rule.active
