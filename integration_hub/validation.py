"""Validate before pushing: resolve the canonical deal against the crosswalks and the ERP (through
its port, never a client), and run every check of the exception catalogue. Nothing here writes
to the ERP.

`validate_deal()` returns the resolved deal, the derivations for the transformation log and the
defects found — all of them, not just the first, so each team sees its part at once.

`overrides` (stored on the handoff) are the decisions people made while resolving exceptions;
every re-run honours them:

    {"payment_terms": "NT30",                                  # sales ops filled / defaulted terms
     "ship_to": {"street", "city", "region", "postal_code", "country", "address_id"},  # logistics
     "pricing": {"<CRM product code>": {"action": "accept_sap" | "crm_price", "by": "..."}},
     "credit": {"action": "release", "by": "..."}}              # credit management released the hold

A customer pick or a product mapping is not an override: it is written to the crosswalk, so
every later deal benefits too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.conf import settings
from django.utils import timezone

from crosswalks.matching import (
    Address,
    address_similarity,
    customer_confidence,
    name_similarity,
)
from crosswalks.models import DEFAULT_TARGET
from crosswalks.selectors import (
    currency_mapping_for,
    customer_mapping_active,
    payment_terms_mapping,
    product_mappings_active,
    tax_rules_for,
    unit_mappings,
)
from integration_hub.canonical import CanonicalDeal, Derivation, MaterialLine, jsonable
from integration_hub.erp.base import CreditStanding, DraftCheck, ErpAddress, ErpCustomer, ErpPort, OpenItem
from integration_hub.errors import NotFound, ValidationFailed

CENT = Decimal("0.01")


@dataclass
class Defect:
    type_code: str
    identity: str  # what makes this defect the same defect on a re-run
    title: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass
class Validation:
    deal: CanonicalDeal
    derivations: list[Derivation] = field(default_factory=list)
    defects: list[Defect] = field(default_factory=list)
    priced: DraftCheck | None = None
    # A customer found by tax id / DUNS / fuzzy match: worth learning into the crosswalk.
    learned_customer: tuple[str, float, str] | None = None  # (business partner, confidence, rule)
    # ERP reads made on the way, kept so later steps (risk scoring) need not read them again.
    partner: ErpCustomer | None = None
    credit_account: CreditStanding | None = None
    open_items: list[OpenItem] | None = None
    erp_target: str = DEFAULT_TARGET  # the crosswalks' rows of this target are the ones read

    def note(self, path: str, source: Any, result: Any, rule: str, confidence: float = 1.0) -> None:
        self.derivations.append(Derivation(path, "" if source is None else str(source),
                                           "" if result is None else str(result), rule, round(confidence, 4)))
        self.deal.confidence[path] = round(confidence, 4)

    def defect(self, type_code: str, identity: str, title: str, message: str, **evidence: Any) -> None:
        if self.erp_target != DEFAULT_TARGET:
            evidence["erp_target"] = self.erp_target  # a crosswalk row of this target is what fixes it
        self.defects.append(Defect(type_code, identity, title, message, jsonable(evidence)))


def _dec(value: Any) -> Decimal:
    if value is None or value == "":
        return Decimal("0")
    return Decimal(str(value))


# -- customer --------------------------------------------------------------------------------------
def _erp_address(address: ErpAddress) -> Address:
    return Address(street=address.street, city=address.city, region=address.region,
                   postal_code=address.postal_code, country=address.country)


def _best_address(crm: Address, customer: ErpCustomer) -> tuple[float, ErpAddress | None]:
    best: tuple[float, ErpAddress | None] = (0.0, None)
    for address in customer.addresses:
        score = address_similarity(crm, _erp_address(address))
        if score > best[0]:
            best = (score, address)
    return best


def _crm_address(deal: CanonicalDeal) -> Address:
    s = deal.ship_to
    return Address(street=s.street, city=s.city, region=s.region, postal_code=s.postal_code, country=s.country)


def _resolve_customer(v: Validation, erp: ErpPort) -> ErpCustomer | None:
    """Crosswalk, then tax id / DUNS, then fuzzy name + address. Returns the ERP customer or None."""
    deal = v.deal
    org = deal.organization
    threshold = settings.HUB_CUSTOMER_MATCH_THRESHOLD
    mapping = customer_mapping_active(deal.org_id, org.crm_account_id, erp_target=v.erp_target)
    if mapping is not None:
        try:
            bp = erp.customer_get(mapping.sap_business_partner)
        except NotFound:
            v.defect("customer_not_found", f"account:{org.crm_account_id}",
                     f"Crosswalk points {org.name} to an unknown SAP partner",
                     f"The customer crosswalk maps '{org.name}' to {mapping.sap_business_partner}, which SAP does not "
                     "know. Correct the crosswalk row.", account=org.crm_account_id, account_name=org.name,
                     mapped_business_partner=mapping.sap_business_partner)
            return None
        v.note("entity.organization.sap_business_partner", org.crm_account_id, mapping.sap_business_partner,
               f"customer crosswalk ({mapping.source})", float(mapping.confidence))
        org.sap_business_partner, org.match_confidence = mapping.sap_business_partner, float(mapping.confidence)
        if mapping.sap_ship_to:
            deal.ship_to.sap_ship_to = mapping.sap_ship_to
            v.note("entity.location.ship_to.partner", org.crm_account_id, mapping.sap_ship_to,
                   "ship-to partner from the customer crosswalk", 1.0)
        return bp

    for number, label in ((org.tax_id, "tax id"), (org.duns, "DUNS")):
        if not number:
            continue
        hits = erp.customers_by_tax_number(number)
        if len(hits) == 1:
            bp_number = hits[0].number
            bp = erp.customer_get(bp_number)
            confidence = 0.99 if name_similarity(org.name, bp.name) >= 0.6 else 0.9
            v.note("entity.organization.sap_business_partner", f"{label} {number}", bp_number,
                   f"matched by {label}", confidence)
            org.sap_business_partner, org.match_confidence = bp_number, confidence
            v.learned_customer = (bp_number, confidence, f"matched by {label}")
            return bp

    # Name first (one search), then addresses for the few best names only: each costs a read.
    named = sorted(
        ((name_similarity(org.name, hit.name), hit.number, hit)
         for hit in erp.customers_by_name(org.name, top=20)),
        key=lambda row: -row[0],
    )
    crm_address = _crm_address(deal)
    details: dict[str, ErpCustomer] = {}
    scored = []
    for name_score, number, hit in named[:5]:
        address_score = None
        if name_score >= 0.5 and len(details) < 3 and not crm_address.is_empty:
            details[number] = erp.customer_get(number)
            address_score = _best_address(crm_address, details[number])[0] if details[number].addresses else None
        scored.append((customer_confidence(name_score, address_score), number, hit.name, name_score, address_score))
    scored.sort(key=lambda row: -row[0])
    evidence_candidates = [
        {"business_partner": n, "name": nm, "confidence": c, "name_score": ns, "address_score": a}
        for c, n, nm, ns, a in scored[:5]
    ]
    if scored and scored[0][0] >= threshold:
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        if runner_up >= threshold and scored[0][0] - runner_up < 0.03:
            v.defect(
                "customer_not_found", f"conflict:{org.crm_account_id}",
                f"Conflicting SAP customers for {org.name}",
                f"{len([s for s in scored if s[0] >= threshold])} SAP business partners match '{org.name}' almost "
                f"equally well; pick the right one (and consider merging the duplicates in SAP).",
                account=org.crm_account_id, account_name=org.name, candidates=evidence_candidates,
            )
            return None
        confidence, number = scored[0][0], scored[0][1]
        bp = details.get(number) or erp.customer_get(number)
        v.note("entity.organization.sap_business_partner", org.name, number, "fuzzy name + address match", confidence)
        org.sap_business_partner, org.match_confidence = number, confidence
        v.learned_customer = (number, confidence, "fuzzy name + address match")
        return bp
    best = scored[0][0] if scored else 0.0
    v.note("entity.organization.sap_business_partner", org.name, "", "no SAP partner above threshold", best)
    v.defect(
        "customer_not_found", f"account:{org.crm_account_id}",
        f"Customer not in SAP: {org.name}",
        f"No SAP business partner matches '{org.name}' with confidence ≥ {threshold:.2f} (best {best:.2f}). "
        "Pick a candidate or map the account to a new business partner.",
        account=org.crm_account_id, account_name=org.name, tax_id=org.tax_id, duns=org.duns,
        ship_to=jsonable(crm_address.__dict__), candidates=evidence_candidates,
    )
    return None


def _sales_area(v: Validation, customer: ErpCustomer, erp: ErpPort) -> None:
    org = v.deal.organization
    chosen = customer.preferred_sales_area
    if chosen is None:
        d = erp.default_sales_area
        org.sales_organization, org.distribution_channel, org.division = (d.sales_organization, d.distribution_channel,
                                                                           d.division)
        org.currency = v.deal.currency
        v.note("transaction.sales_area", org.sap_business_partner,
               f"{d.sales_organization}/{d.distribution_channel}/{d.division}",
               "partner has no sales area: hub default", 0.7)
        return
    org.sales_organization = chosen.sales_organization
    org.distribution_channel = chosen.distribution_channel
    org.division = chosen.division
    org.currency = chosen.currency or v.deal.currency
    v.note("transaction.sales_area", org.sap_business_partner,
           f"{org.sales_organization}/{org.distribution_channel}/{org.division} {org.currency}",
           "customer sales area in SAP", 1.0)


def _check_address(v: Validation, bp: ErpCustomer | None, overrides: dict[str, Any]) -> None:
    deal = v.deal
    picked = overrides.get("ship_to")
    if picked:
        before = f"{deal.ship_to.street}, {deal.ship_to.postal_code} {deal.ship_to.city}"
        for name in ("street", "city", "region", "postal_code", "country"):
            setattr(deal.ship_to, name, str(picked.get(name) or ""))
        deal.ship_to.confidence = 1.0
        deal.ship_to.sap_ship_to = str(picked.get("business_partner") or deal.organization.sap_business_partner)
        v.note("entity.location.ship_to", before, f"{deal.ship_to.street}, {deal.ship_to.postal_code} {deal.ship_to.city}",
               "ship-to picked while resolving an exception", 1.0)
        return
    ship = deal.ship_to
    if not ship.is_complete:
        missing = [n for n, val in (("street", ship.street), ("city", ship.city), ("country", ship.country)) if not val]
        v.defect("missing_required_field", f"ship_to:{deal.organization.crm_account_id}", "Ship-to address is incomplete",
                 f"The account's shipping address lacks {', '.join(missing)}; fill it in Salesforce.",
                 field="ship_to", missing=missing, account=deal.organization.crm_account_id)
        return
    if bp is None:
        return
    score, address = _best_address(_crm_address(deal), bp)
    ship.confidence = score
    ship.sap_ship_to = ship.sap_ship_to or deal.organization.sap_business_partner
    matched = address
    v.note("entity.location.ship_to", f"{ship.street}, {ship.postal_code} {ship.city}",
           f"{matched.street}, {matched.postal_code} {matched.city} {matched.country}" if matched else "",
           "address match against SAP partner addresses", score)
    if score < settings.HUB_ADDRESS_THRESHOLD:
        nearest = sorted(
            ({"address": jsonable(_erp_address(a).__dict__), "address_id": a.address_id,
              "confidence": address_similarity(_crm_address(deal), _erp_address(a))} for a in bp.addresses),
            key=lambda a: -a["confidence"],
        )[:3]
        v.defect("address_invalid", f"ship_to:{deal.organization.crm_account_id}", "Ship-to address does not match SAP",
                 f"The ship-to '{ship.street}, {ship.postal_code} {ship.city}' matches SAP's addresses for "
                 f"{deal.organization.sap_business_partner} only at {score:.2f} (< {settings.HUB_ADDRESS_THRESHOLD:.2f}).",
                 crm_address=jsonable(_crm_address(deal).__dict__), nearest=nearest,
                 international=bool(deal.organization.currency and ship.country and ship.country[:2].upper() not in ("US",)))


def _map_currency(v: Validation) -> None:
    """The CRM's currency name → the ISO code SAP uses (currency crosswalk), then compare it with
    the customer's SAP sales-area currency: prices are only comparable in one currency."""
    deal = v.deal
    mapping = currency_mapping_for(deal.currency) if deal.currency else None
    if mapping is not None and mapping.sap_currency != deal.currency:
        v.note("transaction.currency", deal.currency, mapping.sap_currency, "currency crosswalk", 1.0)
        deal.currency = mapping.sap_currency
    sap_currency = deal.organization.currency
    if sap_currency and deal.currency and sap_currency != deal.currency:
        v.note("transaction.currency", deal.currency, sap_currency,
               f"customer buys in {sap_currency} in SAP; the CRM amounts are read as {sap_currency}", 0.6)


def _check_terms(v: Validation, overrides: dict[str, Any]) -> None:
    deal = v.deal
    if overrides.get("payment_terms"):
        deal.payment_terms = str(overrides["payment_terms"])
        v.note("transaction.payment.terms", deal.payment_terms_crm, deal.payment_terms,
               "set while resolving an exception", 1.0)
        return
    crm = deal.payment_terms_crm
    if not crm:
        v.defect("missing_required_field", "payment_terms", "Payment terms are missing",
                 "Neither the opportunity nor the account has payment terms; set them in Salesforce.",
                 field="payment_terms", opportunity=deal.opportunity_id)
        return
    mapping = payment_terms_mapping(crm, erp_target=v.erp_target)
    if mapping is None:
        v.defect("missing_required_field", f"payment_terms:{crm.lower()}", f"Payment terms '{crm}' have no SAP key",
                 f"'{crm}' is not in the payment-terms crosswalk; add it or correct the deal.",
                 field="payment_terms", crm_value=crm)
        return
    deal.payment_terms = mapping.sap_terms_key
    v.note("transaction.payment.terms", crm, mapping.sap_terms_key, "payment-terms crosswalk", 1.0)


def _check_products(v: Validation) -> None:
    deal = v.deal
    # The mapping valid today (scheduled mappings wait for their valid-from date).
    mappings = product_mappings_active({line.product_code for line in deal.lines if line.product_code})
    units = unit_mappings()
    if not deal.lines:
        v.defect("missing_required_field", "line_items", "The deal has no products",
                 "A closed-won deal needs at least one line item to become a sales order.", field="line_items")
    for line in deal.lines:
        mapping = mappings.get(line.product_code.lower())
        components = [c for c in mapping.components.all() if c.erp_target == v.erp_target] if mapping else []
        confidence = float(mapping.confidence) if mapping else 0.0
        line.mapping_confidence = confidence
        if not components or confidence < settings.HUB_PRODUCT_AUTO_THRESHOLD:
            reason = ("no crosswalk row" if mapping is None else "crosswalk row has no material" if not components
                      else f"crosswalk confidence {confidence:.2f} is below {settings.HUB_PRODUCT_AUTO_THRESHOLD:.2f}")
            v.defect("product_not_mapped", f"product:{line.product_code or line.description}",
                     f"Product not mapped: {line.description or line.product_code}",
                     f"'{line.description}' ({line.product_code}) cannot become an SAP material: {reason}.",
                     product_code=line.product_code, product_name=line.description, crm_line=line.crm_line_id,
                     quantity=line.quantity,
                     current_mapping=[c.item for c in components])
            continue
        line.materials = []
        for component in components:
            raw = line.quantity * component.quantity_factor
            # A unit on the component (bundles sold in SAP's unit) wins over the unit crosswalk.
            unit = component.unit or (units.get(line.crm_unit.lower(), "") if line.crm_unit else "")
            quantity = raw
            if raw != raw.to_integral_value():
                # SAP sells whole units of these materials: round up, never short-ship.
                quantity = Decimal(math.ceil(raw))
                v.note(f"transaction.line_item[{line.crm_line_id}].quantity", raw, quantity, "round up to whole units",
                       0.95)
            line.materials.append(MaterialLine(component.item, quantity, unit, component.quantity_factor))
            v.note(f"transaction.line_item[{line.crm_line_id}].material", line.description,
                   f"{component.item} × {component.quantity_factor}", "product crosswalk", confidence)


def _check_tax(v: Validation) -> None:
    deal = v.deal
    country = (deal.ship_to.country or "").strip().upper()
    if not country:
        return  # reported as an incomplete ship-to already
    country = _COUNTRY_CODES.get(country.lower(), country[:2])
    rules = tax_rules_for(country)
    rule = next((r for r in rules if r.region and r.region.upper() == (deal.ship_to.region or "").upper()), None) or next(
        (r for r in rules if not r.region), None)
    if rule is None:
        v.defect("missing_required_field", f"tax:{country}", f"No tax classification for ship-to country {country}",
                 f"No tax rule covers ship-to {country}{'/' + deal.ship_to.region if deal.ship_to.region else ''}; "
                 "add one to the tax crosswalk or correct the address.", field="tax_classification", country=country)
        return
    deal.tax_classification = rule.sap_tax_classification
    v.note("transaction.tax.classification", f"{country}/{deal.ship_to.region}", rule.sap_tax_classification,
           f"tax rule {rule}", 1.0)


_COUNTRY_CODES = {"usa": "US", "united states": "US", "united states of america": "US", "germany": "DE",
                  "deutschland": "DE", "united kingdom": "GB", "uk": "GB", "great britain": "GB"}


def _item_net_by_line(priced: DraftCheck) -> dict[str, Decimal]:
    per_line: dict[str, Decimal] = {}
    for item in priced.items:
        per_line[item.line_id] = per_line.get(item.line_id, Decimal("0")) + item.net_amount
    return per_line


def _draft_check_healing(v: Validation, erp: ErpPort, *, credit: bool) -> DraftCheck:
    """Price the draft; when the ERP refuses the customer as we read it (its sales area, say,
    changed since), read the customer again (a port with a cache forgot it on reading the
    refusal) and price once more."""
    try:
        return erp.draft_check(v.deal, credit=credit)
    except ValidationFailed as error:
        rejection = erp.rejection(error, v.deal)
        if rejection is None or rejection.field != "customer" or v.partner is None:
            raise
        fresh = erp.customer_get(v.partner.number)
        if fresh == v.partner:
            raise
        v.note("entity.organization.sap_business_partner", v.partner.number, fresh.number,
               f"SAP refused the customer as read before ({error.message}): read it again", 1.0)
        v.partner = fresh
        _sales_area(v, fresh, erp)
        return erp.draft_check(v.deal, credit=credit)


def _check_pricing(v: Validation, erp: ErpPort, overrides: dict[str, Any]) -> Decimal | None:
    """Price the draft order in the ERP and compare each line's net value; returns the ERP's total
    (None: not priced). The customer's credit comes back in the same answer unless a person released it."""
    deal = v.deal
    released = (overrides.get("credit") or {}).get("action") == "release"
    try:
        priced = _draft_check_healing(v, erp, credit=not released)
    except ValidationFailed as error:
        rejection = erp.rejection(error, deal)
        if rejection is None or rejection.field != "material":
            raise
        material = rejection.value
        line = next(line for line in deal.lines if any(m.material == material for m in line.materials))
        v.defect("product_not_mapped", f"product:{line.product_code}",
                 f"SAP does not accept material {material} for {line.description}",
                 f"The crosswalk maps '{line.description}' ({line.product_code}) to {material}, which SAP rejected: "
                 f"{error.message}. Correct the crosswalk row.",
                 product_code=line.product_code, product_name=line.description, material=material,
                 sap_error=error.full_text())
        return None
    v.priced = priced
    per_line = _item_net_by_line(priced)
    sap_total = priced.total_net if priced.total_net is not None else sum(per_line.values(), Decimal("0"))
    limit = Decimal(str(settings.HUB_PRICE_VARIANCE_PERCENT))
    decisions = overrides.get("pricing") or {}
    for line in deal.lines:
        sap_net = per_line.get(line.crm_line_id, Decimal("0"))
        crm_net = line.total_price
        if sap_net == 0:
            continue
        decision = decisions.get(line.product_code) or {}
        if decision.get("action") == "accept_sap":
            v.note(f"transaction.line_item[{line.crm_line_id}].unit_price", crm_net, sap_net,
                   f"SAP price accepted by {decision.get('by') or 'pricing'}", 1.0)
            continue
        if decision.get("action") == "crm_price":
            # A manual condition replaces the CRM discount so SAP's net equals the committed price.
            gross = sap_net / (1 - line.discount_percent / 100) if line.discount_percent < 100 else sap_net
            line.price_condition_percent = ((crm_net / gross - 1) * 100).quantize(Decimal("0.001"), ROUND_HALF_UP)
            sap_total += crm_net - sap_net
            v.note(f"transaction.line_item[{line.crm_line_id}].unit_price", sap_net, crm_net,
                   f"CRM price approved by {decision.get('by') or 'pricing'}: manual DCM2 "
                   f"{line.price_condition_percent}%", 1.0)
            continue
        variance = ((crm_net - sap_net) / sap_net * 100).quantize(CENT, ROUND_HALF_UP)
        v.note(f"transaction.line_item[{line.crm_line_id}].unit_price", crm_net, sap_net,
               f"SAP simulated net value (variance {variance}%)", 1.0 if abs(variance) <= limit else 0.5)
        if abs(variance) > limit:
            v.defect(
                "pricing_mismatch", f"price:{line.product_code}",
                f"Price differs from SAP by {variance}% on {line.description}",
                f"Salesforce says {crm_net} for {line.quantity} × {line.description}; SAP pricing gives {sap_net} "
                f"({variance}% variance, limit {limit}%). Accept SAP's price, approve an override, or send it back.",
                product_code=line.product_code, quantity=line.quantity, crm_unit_price=line.unit_price,
                crm_discount_percent=line.discount_percent, crm_net=crm_net, sap_net=sap_net,
                variance_percent=variance, currency=deal.organization.currency,
                deal_value=deal.amount, sap_conditions=[
                    {"item": i.item, "material": i.material, "net_amount": i.net_amount,
                     "conditions": [c.to_json() for c in i.conditions]}
                    for i in priced.items
                ],
            )
    return sap_total


def _aging(items: Iterable[OpenItem], today: date) -> dict[str, Decimal]:
    buckets = {"not_due": Decimal("0"), "1_30": Decimal("0"), "31_60": Decimal("0"), "61_90": Decimal("0"),
               "over_90": Decimal("0")}
    for item in items:
        amount = item.amount
        days = (today - (item.due_date or today)).days
        key = "not_due" if days <= 0 else "1_30" if days <= 30 else "31_60" if days <= 60 else "61_90" if days <= 90 else "over_90"
        buckets[key] += amount
    return buckets


def _check_credit(v: Validation, order_value: Decimal, overrides: dict[str, Any]) -> None:
    deal = v.deal
    bp = deal.organization.sap_business_partner
    released = overrides.get("credit") or {}
    if released.get("action") == "release":
        v.note("transaction.credit", bp, "released", f"credit hold released by {released.get('by') or 'credit'}", 1.0)
        return
    account = v.priced.credit if v.priced is not None else None
    if not account:
        v.note("transaction.credit", bp, "no credit account", "no credit limit in SAP: not checked", 1.0)
        return
    v.credit_account = account
    limit = account.limit
    items = account.open_items
    v.open_items = items
    aging = _aging(items, timezone.localdate())
    open_ar = account.open_ar
    exposure = open_ar + order_value
    blocked = account.blocked
    v.note("transaction.credit", f"open AR {open_ar} + order {order_value}", f"limit {limit}",
           "credit exposure vs SAP credit limit", 1.0)
    if account.refuses(order_value):
        reason = "the credit account is blocked" if blocked else f"open AR {open_ar} + this order {order_value} = {exposure} exceeds the limit {limit}"
        v.defect(
            # One customer's exposure is one cause: its deals group together in triage.
            "credit_check_failed", f"credit:{bp}", f"Credit check failed for {deal.organization.name}",
            f"{reason.capitalize()}. Release or reject the order.",
            business_partner=bp, credit_limit=limit, currency=account.currency,
            open_ar=open_ar, order_value=order_value, exposure=exposure, aging=aging, blocked=blocked,
            overdue_over_60=aging["61_90"] + aging["over_90"],
        )


def validate_deal(deal: CanonicalDeal, erp: ErpPort, overrides: dict[str, Any] | None = None) -> Validation:
    """Resolve and check the deal. The ERP is only read; every failing check becomes a defect."""
    overrides = overrides or {}
    v = Validation(deal, erp_target=erp.target)
    _check_terms(v, overrides)
    _check_products(v)
    bp = _resolve_customer(v, erp)
    v.partner = bp
    if bp is not None:
        _sales_area(v, bp, erp)
    _map_currency(v)
    _check_address(v, bp, overrides)
    _check_tax(v)
    closed = deal.closed_date or timezone.localdate()
    deal.requested_delivery_date = max(closed, timezone.localdate()) + timedelta(days=settings.HUB_DEFAULT_LEAD_TIME_DAYS)
    v.note("transaction.dates.requested_delivery", closed, deal.requested_delivery_date,
           f"CloseDate + {settings.HUB_DEFAULT_LEAD_TIME_DAYS} days lead time (not before today)", 1.0)
    products_ok = all(line.materials for line in deal.lines) and bool(deal.lines)
    if bp is not None and products_ok:
        sap_total = _check_pricing(v, erp, overrides)
        if sap_total is not None:
            _check_credit(v, sap_total, overrides)
    return v

