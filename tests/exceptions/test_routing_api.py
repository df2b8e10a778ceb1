"""/api/v1/routing-rules/: what the admin screens do, through the same services, for the same people."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from exceptions.models import RoutingRule, RoutingRuleChange, SyncException
from exceptions.services import queue_ensure
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db
LIST = reverse("api:routing-rule-list")
PREVIEW = reverse("api:routing-rule-preview")
CHANGES = reverse("api:routing-rule-changes")


def detail(rule_id: int, action: str = "") -> str:
    return reverse(f"api:routing-rule-{action or 'detail'}", args=[rule_id])


def client_for(user: object) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def pricing_to(queue: str, **extra: object) -> dict[str, object]:
    for slug in ("credit", "logistics", "sales-ops"):
        queue_ensure(slug=slug)
    return {"name": f"pricing → {queue}", "type_codes": ["pricing_mismatch"], "queue": queue, **extra}


def queue_of(exception: SyncException) -> str:
    return SyncException.objects.get(pk=exception.pk).queue.slug


def test_it_creates_a_rule_that_takes_open_unassigned_exceptions(cast: Cast) -> None:
    free = SyncExceptionFactory(type_code="pricing_mismatch")
    taken = SyncExceptionFactory(type_code="pricing_mismatch", assignee=cast.pricing_analyst)
    product = SyncExceptionFactory(type_code="product_not_mapped")

    response = client_for(cast.admin).post(LIST, pricing_to("credit", currency="usd"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["queue"], body["currency"], body["position"], body["updated_by"]) == ("credit", "USD", 1, "admin")
    assert body["rerouted"] == 0  # the deal's currency is unknown: a USD-only rule matches nothing yet
    response = client_for(cast.admin).patch(detail(body["id"]), {"currency": ""}, format="json")
    assert response.status_code == 200 and response.json()["rerouted"] == 1
    assert (queue_of(free), queue_of(taken), queue_of(product)) == ("credit", "pricing", "product-ops")
    assert client_for(cast.admin).get(detail(body["id"])).json()["type_codes"] == ["pricing_mismatch"]


def test_it_lets_the_order_decide_and_moving_up_changes_the_winner(cast: Cast) -> None:
    exception = SyncExceptionFactory(type_code="pricing_mismatch")
    admin = client_for(cast.admin)
    to_credit = admin.post(LIST, pricing_to("credit"), format="json").json()
    to_logistics = admin.post(LIST, pricing_to("logistics"), format="json").json()
    assert (to_credit["rerouted"], to_logistics["rerouted"]) == (1, 0)  # the first rule still wins
    assert queue_of(exception) == "credit"

    moved = admin.post(detail(to_logistics["id"], "move"), {"direction": "up"}, format="json")

    assert moved.status_code == 200
    assert (moved.json()["position"], moved.json()["changed"], moved.json()["rerouted"]) == (1, True, 1)
    assert queue_of(exception) == "logistics"
    listed = admin.get(LIST).json()["results"]
    assert [(r["name"], r["position"]) for r in listed] == [("pricing → logistics", 1), ("pricing → credit", 2)]
    again = admin.post(detail(to_logistics["id"], "move"), {"direction": "up"}, format="json").json()
    assert (again["changed"], again["rerouted"]) == (False, 0)
    sideways = admin.post(detail(to_logistics["id"], "move"), {"direction": "left"}, format="json")
    assert sideways.status_code == 400 and "direction" in sideways.json()


def test_it_restores_catalogue_routing_when_a_rule_is_switched_off(cast: Cast) -> None:
    exception = SyncExceptionFactory(type_code="pricing_mismatch")
    admin = client_for(cast.admin)
    rule = admin.post(LIST, pricing_to("credit"), format="json").json()
    assert queue_of(exception) == "credit"

    off = admin.post(detail(rule["id"], "toggle"), {"active": False}, format="json").json()

    assert (off["active"], off["changed"], off["rerouted"]) == (False, True, 1)
    assert queue_of(exception) == "pricing"
    assert admin.post(detail(rule["id"], "toggle"), {"active": False}, format="json").json()["changed"] is False
    on = admin.post(detail(rule["id"], "toggle"), {"active": True}, format="json").json()
    assert on["rerouted"] == 1 and queue_of(exception) == "credit"


def test_it_sends_exceptions_back_when_a_rule_is_deleted(cast: Cast) -> None:
    exception = SyncExceptionFactory(type_code="pricing_mismatch")
    admin = client_for(cast.admin)
    rule = admin.post(LIST, pricing_to("credit"), format="json").json()

    response = admin.delete(detail(rule["id"]))

    assert response.status_code == 200 and response.json() == {"id": rule["id"], "rerouted": 1}
    assert queue_of(exception) == "pricing"
    assert not RoutingRule.objects.exists()
    assert admin.get(detail(rule["id"])).status_code == 404


def test_it_previews_where_exceptions_would_go_without_saving(cast: Cast) -> None:
    pricing = SyncExceptionFactory(type_code="pricing_mismatch")
    product = SyncExceptionFactory(type_code="product_not_mapped")
    admin = client_for(cast.admin)
    saved = admin.post(LIST, pricing_to("credit"), format="json").json()
    changes = RoutingRuleChange.objects.count()

    # One new rule: it goes last, so the saved rule still wins; at position 1 it wins.
    last = admin.post(PREVIEW, {"rule": pricing_to("logistics", priority=40)}, format="json").json()
    first = admin.post(PREVIEW, {"rule": pricing_to("logistics", priority=40), "position": 1}, format="json")

    rows = {r["exception"]: r for r in last["rows"]}
    assert (rows[pricing.pk]["proposed_queue"], rows[pricing.pk]["moves"], last["moving"]) == ("credit", False, 0)
    assert first.status_code == 200
    row = {r["exception"]: r for r in first.json()["rows"]}[pricing.pk]
    assert (row["current_queue"], row["proposed_queue"], row["moves"]) == ("credit", "logistics", True)
    assert (row["current_priority"], row["proposed_priority"], row["rule"]) == (20, 40, "pricing → logistics")
    assert {r["exception"]: r for r in first.json()["rows"]}[product.pk]["moves"] is False
    # An edit of the saved rule stands in for it; a whole rule set replaces the saved ones.
    edited = admin.post(PREVIEW, {"rule": pricing_to("sales-ops"), "rule_id": saved["id"]}, format="json").json()
    assert {r["exception"]: r["proposed_queue"] for r in edited["rows"]}[pricing.pk] == "sales-ops"
    whole = admin.post(PREVIEW, {"rules": [pricing_to("logistics", active=False), pricing_to("sales-ops")]},
                       format="json").json()
    assert {r["exception"]: r["proposed_queue"] for r in whole["rows"]}[pricing.pk] == "sales-ops"
    none = admin.post(PREVIEW, {"rules": []}, format="json").json()
    assert {r["exception"]: r["proposed_queue"] for r in none["rows"]}[pricing.pk] == "pricing"
    assert len(admin.post(f"{PREVIEW}?limit=1", {"rules": []}, format="json").json()["rows"]) == 1

    assert RoutingRule.objects.count() == 1 and RoutingRuleChange.objects.count() == changes
    assert RoutingRule.objects.get().queue.slug == "credit" and queue_of(pricing) == "credit"
    too_many = admin.post(f"{PREVIEW}?limit=500", {"rules": []}, format="json")
    assert too_many.status_code == 400 and "limit" in too_many.json()
    neither = admin.post(PREVIEW, {}, format="json")
    assert neither.status_code == 400 and "either" in str(neither.json())


def test_it_rejects_invalid_rules_with_messages_and_saves_nothing(cast: Cast) -> None:
    exception = SyncExceptionFactory(type_code="pricing_mismatch")
    admin = client_for(cast.admin)
    bad = {"name": "", "type_codes": ["pricing_mismatch", "nonsense"], "amount_min": "500", "amount_max": "100",
           "currency": "EURO", "queue": "nowhere", "assignee": "ghost"}

    response = admin.post(LIST, bad, format="json")

    assert response.status_code == 400
    errors = response.json()
    assert errors["name"] == ["This field may not be blank."]
    assert errors["type_codes"] == ["“nonsense” is not an exception type."]
    assert errors["currency"] == ["Ensure this field has no more than 3 characters."]
    assert errors["queue"] == ["There is no queue “nowhere”."]
    assert errors["assignee"] == ["There is no active user “ghost”."]
    bounds = admin.post(LIST, pricing_to("credit", amount_min="500", amount_max="100"), format="json")
    assert bounds.status_code == 400 and bounds.json() == {"amount_max": ["must not be below the minimum"]}
    digits = admin.post(LIST, pricing_to("credit", currency="E1R"), format="json")
    assert digits.status_code == 400 and "3-letter" in digits.json()["currency"][0]
    assert not RoutingRule.objects.exists() and not RoutingRuleChange.objects.exists()
    # A PATCH is checked against what is saved.
    rule = admin.post(LIST, pricing_to("credit", amount_min="500"), format="json").json()
    lower = admin.patch(detail(rule["id"]), {"amount_max": "100"}, format="json")
    assert lower.status_code == 400 and lower.json() == {"amount_max": ["must not be below the minimum"]}
    assert RoutingRule.objects.get().amount_max is None and RoutingRuleChange.objects.count() == 1
    assert queue_of(exception) == "pricing"  # amount unknown: the minimum is not met


@pytest.mark.parametrize("who", ["pricing_analyst", "outsider"])
def test_it_hides_routing_rules_from_non_admins(cast: Cast, who: str) -> None:
    exception = SyncExceptionFactory(type_code="pricing_mismatch")
    rule = client_for(cast.admin).post(LIST, pricing_to("credit"), format="json").json()
    client = client_for(getattr(cast, who))

    answers = [
        client.get(LIST), client.get(detail(rule["id"])), client.post(LIST, pricing_to("logistics"), format="json"),
        client.patch(detail(rule["id"]), {"queue": "logistics"}, format="json"), client.delete(detail(rule["id"])),
        client.post(detail(rule["id"], "move"), {"direction": "down"}, format="json"),
        client.post(detail(rule["id"], "toggle"), {"active": False}, format="json"),
        client.post(PREVIEW, {"rules": []}, format="json"), client.get(CHANGES),
    ]

    assert [a.status_code for a in answers] == [404] * len(answers)
    assert list(RoutingRule.objects.values_list("queue__slug", "active")) == [("credit", True)]
    assert queue_of(exception) == "credit" and RoutingRuleChange.objects.count() == 1


def test_it_lets_holders_of_the_rule_permission_in_like_the_screens(cast: Cast) -> None:
    cast.approver.user_permissions.add(Permission.objects.get(codename="change_routingrule"))
    client = client_for(cast.approver)
    assert client.get(LIST).status_code == 200
    assert client.post(LIST, pricing_to("credit"), format="json").status_code == 201


def test_it_enforces_csrf_on_session_requests(cast: Cast) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(cast.admin)

    refused = client.post(LIST, pricing_to("credit"), format="json")

    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    assert not RoutingRule.objects.exists()
    assert client.get(LIST).status_code == 200  # reads need no token
    client.cookies["csrftoken"] = "k" * 32
    accepted = client.post(LIST, pricing_to("credit"), format="json", headers={"X-CSRFToken": "k" * 32})
    assert accepted.status_code == 201


def test_it_lists_the_audit_trail_with_who_did_what(cast: Cast) -> None:
    SyncExceptionFactory(type_code="pricing_mismatch")
    admin = client_for(cast.admin)
    first = admin.post(LIST, pricing_to("credit"), format="json").json()
    second = admin.post(LIST, pricing_to("logistics"), format="json").json()
    admin.put(detail(second["id"]), pricing_to("sales-ops", name="pricing → sales-ops"), format="json")
    admin.post(detail(second["id"], "move"), {"direction": "up"}, format="json")
    admin.post(detail(first["id"], "toggle"), {"active": False}, format="json")
    admin.delete(detail(first["id"]))

    response = admin.get(CHANGES)

    assert response.status_code == 200
    trail = response.json()["results"]
    assert [(c["action"], c["rule_name"], c["actor"], c["rerouted"]) for c in trail] == [
        ("delete", "pricing → credit", "admin", 0),
        ("deactivate", "pricing → credit", "admin", 0),
        ("move up", "pricing → sales-ops", "admin", 1),
        ("update", "pricing → sales-ops", "admin", 0),
        ("create", "pricing → logistics", "admin", 0),
        ("create", "pricing → credit", "admin", 1),
    ]
    update = trail[3]
    assert (update["before"]["queue"], update["after"]["queue"]) == (
        queue_ensure(slug="logistics").pk, queue_ensure(slug="sales-ops").pk)
    # The deleted rule's rows stay, by name; the surviving rule's still link to it.
    assert [c["rule"] for c in trail] == [None, None, second["id"], second["id"], second["id"], None]
