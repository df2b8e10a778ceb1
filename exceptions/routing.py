"""Routing rules: which queue, priority and assignee a new exception gets.

The first active rule (by position) whose conditions all hold wins; no match → the catalogue
queue. Rules are evaluated when an exception is raised, again once the deal's canonical record
is saved (exception_enrich), and over open unassigned exceptions whenever the rules change.

Below exceptions.services (which routes what it opens and enriches): this module imports neither
the services nor escalation, only the floor beneath (models, permissions, queues, notifications).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from django.contrib.auth.models import User
from django.db import transaction
from django.forms.models import model_to_dict

from exceptions.models import (
    CATALOGUE,
    EventKind,
    ExceptionEvent,
    ExceptionStatus,
    Queue,
    RoutingRule,
    RoutingRuleChange,
    SyncException,
)
from exceptions.notifications import notify_assignment
from exceptions.permissions import can_edit
from exceptions.queues import queue_ensure

# The sales organization's own country: a ship-to elsewhere is an international shipment.
SALES_ORG_COUNTRIES: dict[str, str] = {"1010": "DE", "1710": "US", "2910": "GB", "3010": "CA"}

T = TypeVar("T")


def can_edit_routing_rules(user: Any) -> bool:
    """Who sees and edits routing rules, on the screens and in the API alike."""
    return can_edit(user, "exceptions.change_routingrule")


def _decimal(value: Any) -> Decimal | None:
    try:
        return None if value in (None, "") else Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def product_family(code: str) -> str:
    """A product's family: an explicit `product_family`, else its code's prefix ("EL-ANNUAL" → "EL")."""
    return code.split("-", 1)[0].strip().upper() if code else ""


@dataclass
class DealFacts:
    type_code: str
    amount: Decimal | None = None
    currency: str = ""
    country: str = ""
    region: str = ""
    sales_organization: str = ""
    customer_bp: str = ""
    customer_name: str = ""
    product_families: frozenset[str] = frozenset()
    strategic: bool = False

    @property
    def international(self) -> bool:
        home = SALES_ORG_COUNTRIES.get(self.sales_organization, "")
        return bool(home and self.country and self.country != home)


def deal_facts(exception: SyncException, canonical: dict[str, Any] | None = None) -> DealFacts:
    """The deal attributes rules look at, from the handoff's canonical record when it has one,
    else from what the exception itself carries (evidence, copied columns)."""
    if canonical is None:
        canonical = (exception.handoff.canonical or {}) if exception.handoff is not None else {}
    organization = canonical.get("organization") or {}
    ship_to = canonical.get("ship_to") or {}
    evidence = exception.evidence or {}
    families = {
        str(line.get("product_family") or product_family(str(line.get("product_code") or ""))).upper()
        for line in canonical.get("lines") or []
    }
    if evidence.get("product_code"):
        families.add(product_family(str(evidence["product_code"])))
    amount = _decimal(canonical.get("amount"))
    return DealFacts(
        type_code=exception.type_code,
        amount=amount if amount is not None else exception.amount,
        currency=str(organization.get("currency") or canonical.get("currency") or exception.currency or "").upper(),
        country=str(ship_to.get("country") or exception.country or "").upper()[:2],
        region=str(ship_to.get("region") or "").upper(),
        sales_organization=str(organization.get("sales_organization") or ""),
        customer_bp=str(organization.get("sap_business_partner") or ""),
        customer_name=str(organization.get("name") or evidence.get("account_name") or exception.customer_name or ""),
        product_families=frozenset(f for f in families if f),
        strategic=bool(canonical.get("strategic_account") or organization.get("strategic_account")
                       or "strategic" in (exception.tags or [])),
    )


def _upper(values: Iterable[Any]) -> set[str]:
    return {str(v).strip().upper() for v in values or () if str(v).strip()}


def rule_matches(rule: RoutingRule, facts: DealFacts) -> bool:
    if rule.type_codes and facts.type_code not in rule.type_codes:
        return False
    if rule.amount_min is not None and (facts.amount is None or facts.amount < rule.amount_min):
        return False
    if rule.amount_max is not None and (facts.amount is None or facts.amount > rule.amount_max):
        return False
    if rule.currency and rule.currency.upper() != facts.currency:
        return False
    if rule.countries and facts.country not in _upper(rule.countries):
        return False
    if rule.regions and facts.region not in _upper(rule.regions):
        return False
    if rule.sales_organizations and facts.sales_organization not in {str(s) for s in rule.sales_organizations}:
        return False
    if rule.customer:
        needle = rule.customer.strip().lower()
        if needle != facts.customer_bp.lower() and needle not in facts.customer_name.lower():
            return False
    if rule.product_families and not (_upper(rule.product_families) & facts.product_families):
        return False
    return rule.strategic is None or rule.strategic == facts.strategic


@dataclass(frozen=True)
class Route:
    queue_id: int
    priority: int
    assignee_id: int | None
    rule: RoutingRule | None


def route_for(facts: DealFacts, rules: Sequence[RoutingRule], *, catalogue_queue_id: int) -> Route:
    for rule in rules:
        if rule.active and rule_matches(rule, facts):
            return Route(rule.queue_id, rule.priority or CATALOGUE[facts.type_code].priority, rule.assignee_id, rule)
    return Route(catalogue_queue_id, CATALOGUE[facts.type_code].priority, None, None)


def active_rules() -> list[RoutingRule]:
    return list(RoutingRule.objects.filter(active=True).order_by("position", "pk"))


def _catalogue_queue_id(type_code: str, cache: dict[str, int]) -> int:
    if type_code not in cache:
        cache[type_code] = queue_ensure(slug=CATALOGUE[type_code].queue_slug).pk
    return cache[type_code]


def exception_route(
    *, exception: SyncException, rules: Sequence[RoutingRule] | None = None,
    canonical: dict[str, Any] | None = None, actor: User | None = None, reason: str = "routing",
    set_priority: bool = True,
) -> bool:
    """Apply the rules to one (locked, open, unassigned) exception; writes a routing event when
    the queue, priority or assignee changes. Returns whether anything changed. Call inside atomic."""
    rules = active_rules() if rules is None else rules
    route = route_for(deal_facts(exception, canonical), rules,
                      catalogue_queue_id=_catalogue_queue_id(exception.type_code, {}))
    changes: dict[str, Any] = {}
    if route.queue_id != exception.queue_id:
        changes["queue_id"] = route.queue_id
    # Only a rule's explicit priority changes it: the catalogue's was set when the row was created.
    if set_priority and route.rule is not None and route.rule.priority and route.priority != exception.priority:
        changes["priority"] = route.priority
    if route.assignee_id and exception.assignee_id is None:
        changes["assignee_id"] = route.assignee_id
    if not changes:
        return False
    before = {"queue": exception.queue_id, "priority": exception.priority, "assignee": exception.assignee_id}
    for name, value in changes.items():
        setattr(exception, name, value)
    exception.save(update_fields=[n.removesuffix("_id") for n in changes])
    label = f"rule “{route.rule.name}”" if route.rule else "the catalogue"
    queue_name = Queue.objects.filter(pk=exception.queue_id).values_list("name", flat=True).first()
    ExceptionEvent.objects.create(
        exception=exception, actor=actor, actor_label="" if actor else "system", kind=EventKind.ROUTE,
        from_status=exception.status, to_status=exception.status,
        reason=f"{reason}: {label} → {queue_name}", data={"before": before, "rule": route.rule.pk if route.rule else None},
    )
    if "assignee_id" in changes:
        notify_assignment(exception=exception)
    return True


# -- preview and re-routing ------------------------------------------------------------------------
@dataclass(frozen=True)
class PreviewRow:
    exception: SyncException
    old_queue_id: int
    new_queue_id: int
    rule: RoutingRule | None
    # As exception_route would set them: only a rule's explicit priority changes the priority, and
    # a rule's assignee only fills an empty one.
    new_priority: int
    new_assignee_id: int | None

    @property
    def moves(self) -> bool:
        return self.old_queue_id != self.new_queue_id


def routing_preview(*, rules: Sequence[RoutingRule], limit: int = 50) -> list[PreviewRow]:
    """Where the last `limit` exceptions would go under `rules` (which may be unsaved)."""
    ordered = sorted(rules, key=lambda r: (r.position, r.pk or 0))
    cache: dict[str, int] = {}
    rows = []
    for exception in SyncException.objects.select_related("handoff", "queue").order_by("-first_seen", "-pk")[:limit]:
        route = route_for(deal_facts(exception), ordered,
                          catalogue_queue_id=_catalogue_queue_id(exception.type_code, cache))
        priority = route.rule.priority if route.rule is not None and route.rule.priority else exception.priority
        rows.append(PreviewRow(exception, exception.queue_id, route.queue_id, route.rule, priority,
                               exception.assignee_id or route.assignee_id))
    return rows


def rules_with_draft(*, draft: RoutingRule | None, replaces: RoutingRule | None = None,
                     place: int | None = None) -> list[RoutingRule]:
    """The saved rules with an edited, unsaved `draft` standing in for `replaces` (the saved rule
    it edits), for routing_preview. Without `place` the draft keeps its position, or goes last
    when it has none; `place` (1 = first) puts it there among the others instead."""
    others = [r for r in RoutingRule.objects.order_by("position", "pk") if replaces is None or r.pk != replaces.pk]
    if draft is None:
        return others
    if place is None:
        if not draft.position:
            draft.position = (max((r.position for r in others), default=0)) + 1
        return [*others, draft]
    # Saved positions may have gaps; number the list as it will be read (in memory, never saved).
    index = max(place - 1, 0)
    ordered = [*others[:index], draft, *others[index:]]
    for number, rule in enumerate(ordered, start=1):
        rule.position = number
    return ordered


def exceptions_reroute(*, actor: User | None = None, batch: int = 500) -> int:
    """Re-apply the rules to open, unassigned exceptions (only those move). Returns how many moved.

    Each batch is its own transaction with rows locked and re-checked, so a person assigning an
    exception meanwhile wins and it stays put."""
    rules = active_rules()
    moved = 0
    last_pk = 0
    while True:
        with transaction.atomic():
            rows = list(
                SyncException.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("handoff")
                .filter(status=ExceptionStatus.OPEN, assignee__isnull=True, pk__gt=last_pk)
                .order_by("pk")[:batch]
            )
            if not rows:
                return moved
            for exception in rows:
                moved += exception_route(exception=exception, rules=rules, actor=actor, reason="rules changed",
                                         set_priority=False)
            last_pk = rows[-1].pk


# -- rule edits (audited) ----------------------------------------------------------------------------
def _snapshot(rule: RoutingRule) -> dict[str, Any]:
    data = model_to_dict(rule, exclude=["id", "updated_by"])
    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in data.items()}


@transaction.atomic
def routing_rule_save(*, rule: RoutingRule, actor: User | None) -> RoutingRule:
    """Create or update a rule (a new one goes last unless it has a position) and audit it."""
    before: dict[str, Any] = {}
    if rule.pk:
        old = RoutingRule.objects.select_for_update().get(pk=rule.pk)
        before = _snapshot(old)
    elif not rule.position:
        last = RoutingRule.objects.order_by("-position").values_list("position", flat=True).first()
        rule.position = (last or 0) + 1
    rule.updated_by = actor
    rule.save()
    RoutingRuleChange.objects.create(rule=rule, rule_name=rule.name, action="update" if before else "create",
                                     actor=actor, before=before, after=_snapshot(rule))
    return rule


@transaction.atomic
def routing_rule_delete(*, rule: RoutingRule, actor: User | None) -> None:
    RoutingRuleChange.objects.create(rule=None, rule_name=rule.name, action="delete", actor=actor,
                                     before=_snapshot(rule))
    rule.delete()


@transaction.atomic
def routing_rule_move(*, rule: RoutingRule, actor: User | None, direction: str) -> bool:
    """Swap the rule with its neighbour up or down; positions are renumbered 1..n first."""
    rules = list(RoutingRule.objects.select_for_update().order_by("position", "pk"))
    for i, r in enumerate(rules, start=1):
        if r.position != i:
            RoutingRule.objects.filter(pk=r.pk).update(position=i)
            r.position = i
    index = next(i for i, r in enumerate(rules) if r.pk == rule.pk)
    other = index - 1 if direction == "up" else index + 1
    if direction not in ("up", "down") or not 0 <= other < len(rules):
        return False
    a, b = rules[index], rules[other]
    RoutingRule.objects.filter(pk=a.pk).update(position=b.position)
    RoutingRule.objects.filter(pk=b.pk).update(position=a.position)
    RoutingRuleChange.objects.create(rule=a, rule_name=a.name, action=f"move {direction}", actor=actor,
                                     before={"position": a.position}, after={"position": b.position})
    return True


@transaction.atomic
def routing_rule_toggle(*, rule: RoutingRule, actor: User | None, active: bool) -> bool:
    locked = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    if locked.active == active:
        return False
    locked.active = active
    locked.updated_by = actor
    locked.save(update_fields=["active", "updated_by", "updated_at"])
    RoutingRuleChange.objects.create(rule=locked, rule_name=locked.name,
                                     action="activate" if active else "deactivate", actor=actor,
                                     before={"active": not active}, after={"active": active})
    rule.active = active
    return True


def routing_rules_edit(*, actor: User | None, edit: Callable[[], T]) -> tuple[T, int]:
    """Run one audited rule edit (a routing_rule_* call) in its own transaction, then re-route
    under the rules as committed. Returns the edit's result and how many exceptions moved.

    Screens and API both edit through here. The re-route runs after the edit's commit, in
    batches of their own, so it never holds the rule locks, and a failed re-route leaves the
    edit saved (the next change re-routes again)."""
    with transaction.atomic():
        result = edit()
    return result, routing_rules_changed(actor=actor)


def routing_rules_changed(*, actor: User | None) -> int:
    """After an edit commits: re-route open unassigned exceptions and note the count on the audit row."""
    moved = exceptions_reroute(actor=actor)
    last = RoutingRuleChange.objects.order_by("-created_at", "-pk").first()
    if last is not None and moved:
        RoutingRuleChange.objects.filter(pk=last.pk).update(rerouted=moved)
    return moved
