"""Reads on crosswalk tables."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone

from crosswalks.models import (
    DEFAULT_TARGET,
    CrosswalkChange,
    CurrencyMapping,
    CustomerMapping,
    ErpTargetRule,
    PaymentTermsMapping,
    ProductMapping,
    TaxRule,
    UnitOfMeasureMapping,
)
from exceptions.models import ExceptionStatus, ExceptionType, SyncException
from integration_hub.errors import InvalidSalesforceId
from integration_hub.models import Handoff, HandoffStatus, salesforce_id_18
from integration_hub.snapshots import snapshot


def product_mapping_list(
    *, search: str | None = None, active: bool | None = None
) -> QuerySet[ProductMapping]:
    qs = ProductMapping.objects.prefetch_related("components")
    if search:
        qs = qs.filter(Q(crm_product_code__icontains=search) | Q(crm_product_name__icontains=search))
    if active is not None:
        qs = qs.filter(active=active)
    return qs.order_by("crm_product_code")


def product_mapping_lookup(*, crm_product_code: str) -> ProductMapping | None:
    """The active mapping of a CRM product code, with its components, or None."""
    return (
        ProductMapping.objects.prefetch_related("components")
        .filter(crm_product_code=crm_product_code, active=True)
        .first()
    )


def _valid_on(on: date | None) -> Q:
    day = on or timezone.localdate()
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=day)) & (Q(valid_to__isnull=True) | Q(valid_to__gte=day))


def product_mapping_active(code: str, *, on: date | None = None) -> ProductMapping | None:
    """The active mapping of a CRM product code (case-insensitive) valid on `on` (default today).

    This is what validation should read once it honours validity dates.
    """
    return product_mappings_active([code], on=on).get(code.lower())


def product_mappings_active(codes: Iterable[str], *, on: date | None = None) -> dict[str, ProductMapping]:
    """`product_mapping_active` for many codes in two queries, keyed by the lower-cased code
    (a reconciliation page compares hundreds of deals' lines)."""
    wanted = sorted({code.lower() for code in codes if code})
    if not wanted:
        return {}
    rows = (ProductMapping.objects.prefetch_related("components").annotate(code_lower=Lower("crm_product_code"))
            .filter(_valid_on(on), code_lower__in=wanted, active=True).order_by("crm_product_code"))
    found: dict[str, ProductMapping] = {}
    for mapping in rows:
        found.setdefault(mapping.crm_product_code.lower(), mapping)
    return found


def currency_mapping_for(crm_currency: str) -> CurrencyMapping | None:
    """The currency crosswalk row for a CRM currency name (case-insensitive), from the snapshot."""
    rows = snapshot(CurrencyMapping, lambda: list(CurrencyMapping.objects.order_by("pk")))
    return next((r for r in rows if r.crm_currency.lower() == crm_currency.lower()), None)


def unit_mappings() -> dict[str, str]:
    """CRM unit (lower-cased) → SAP unit, from the snapshot."""
    rows = snapshot(UnitOfMeasureMapping, lambda: list(UnitOfMeasureMapping.objects.order_by("pk")))
    return {u.crm_unit.lower(): u.sap_unit for u in rows}


def tax_rules_for(country: str) -> list[TaxRule]:
    """A country's tax rules by priority, from the snapshot."""
    rows = snapshot(TaxRule, lambda: list(TaxRule.objects.order_by("priority", "pk")))
    return [r for r in rows if r.country == country]


def customer_mapping_active(org_id: str, crm_account_id: str, *, on: date | None = None,
                            erp_target: str = DEFAULT_TARGET) -> CustomerMapping | None:
    """The customer crosswalk row of an account in an ERP target, valid on `on` (default today), or None."""
    return CustomerMapping.objects.filter(_valid_on(on), org_id=org_id, crm_account_id=crm_account_id,
                                          erp_target=erp_target).first()


def payment_terms_mapping(crm_value: str, *, erp_target: str = DEFAULT_TARGET) -> PaymentTermsMapping | None:
    """The terms crosswalk row of a CRM value (case-insensitive) in an ERP target, from the snapshot."""
    rows = snapshot(PaymentTermsMapping, lambda: list(PaymentTermsMapping.objects.order_by("pk")))
    return next((r for r in rows if r.crm_value.lower() == crm_value.lower() and r.erp_target == erp_target), None)


@dataclass(frozen=True)
class TargetChoice:
    target: str
    rule: str  # why: in the hub's words, for the transformation log


_COUNTRY_NAMES = {"USA": "US", "UNITED STATES": "US", "UNITED STATES OF AMERICA": "US", "CANADA": "CA",
                  "UNITED KINGDOM": "GB", "UK": "GB", "GREAT BRITAIN": "GB", "GERMANY": "DE", "DEUTSCHLAND": "DE"}


def erp_target_route(*, requested: str, crm_account_id: str, billing_country: str, known: Iterable[str]) -> TargetChoice:
    """Which ERP a deal goes to: the Opportunity's own choice when it names a known target, else an
    ERP-target rule for its account (15- and 18-character ids are the same account), else one for its
    billing country, else `HUB_DEFAULT_ERP_TARGET`."""
    known = set(known)
    wanted = (requested or "").strip().lower()
    if wanted in known:
        return TargetChoice(wanted, "Opportunity.ERP_Target__c")
    try:
        account = salesforce_id_18(crm_account_id) if crm_account_id else ""
    except InvalidSalesforceId:
        account = ""
    country = (billing_country or "").strip().upper()
    country = _COUNTRY_NAMES.get(country, country)
    rules = {(r.crm_account_id, r.billing_country): r.erp_target for r in ErpTargetRule.objects.filter(
        Q(crm_account_id=account, billing_country="") | Q(crm_account_id="", billing_country=country))
        if r.erp_target in known} if (account or country) else {}
    if account and (account, "") in rules:
        return TargetChoice(rules[(account, "")], f"ERP-target rule for account {account}")
    if country and ("", country) in rules:
        return TargetChoice(rules[("", country)], f"ERP-target rule for billing country {country}")
    default = settings.HUB_DEFAULT_ERP_TARGET
    return TargetChoice(default, "HUB_DEFAULT_ERP_TARGET")


# -- history ---------------------------------------------------------------------------------------
def change_list(*, table: str | None = None, row_key: str | None = None) -> QuerySet[CrosswalkChange]:
    qs = CrosswalkChange.objects.select_related("actor")
    if table:
        qs = qs.filter(table=table)
    if row_key is not None:
        qs = qs.filter(row_key=row_key)
    return qs.order_by("-created_at", "-pk")


def row_as_of(*, table: str, row_key: str, when: datetime) -> dict[str, str] | None:
    """The row as it stood at `when` (None: it did not exist then), from the history."""
    last = change_list(table=table, row_key=row_key).filter(created_at__lte=when).first()
    if last is not None:
        return last.after
    # Rows older than the history (seeded before it existed) are as the first change found them.
    first = change_list(table=table, row_key=row_key).order_by("created_at", "pk").first()
    return first.before if first is not None else None


# -- unblock preview -------------------------------------------------------------------------------
@dataclass
class Preview:
    exceptions: list[SyncException] = field(default_factory=list)
    unblocked: list[Handoff] = field(default_factory=list)  # no open exception left after the edit
    still_blocked: list[Handoff] = field(default_factory=list)
    orders: list[Handoff] = field(default_factory=list)  # already created: the edit would have changed them

    @property
    def handoff_ids(self) -> list[int]:
        return [h.pk for h in self.unblocked + self.still_blocked]


def _fixes(table: str, values: dict[str, Any], exception: SyncException) -> bool:
    evidence = exception.evidence or {}
    target = str(evidence.get("erp_target") or DEFAULT_TARGET)
    if table == "products":
        if values.get("active") is False:
            return False
        items = values.get("materials") if target == DEFAULT_TARGET else [
            c for c in values.get("erp_items") or [] if c.get("erp_target") == target]
        if not items:
            return False
        confidence = values.get("confidence")
        if confidence is not None and float(confidence) < settings.HUB_PRODUCT_AUTO_THRESHOLD:
            return False
        return (exception.type_code == ExceptionType.PRODUCT_NOT_MAPPED
                and str(evidence.get("product_code", "")).lower() == str(values["crm_product_code"]).lower())
    if table == "customers":
        return (exception.type_code == ExceptionType.CUSTOMER_NOT_FOUND
                and (values.get("erp_target") or DEFAULT_TARGET) == target
                and evidence.get("account") == values.get("crm_account_id"))
    if table == "terms":
        return (exception.type_code == ExceptionType.MISSING_REQUIRED_FIELD
                and (values.get("erp_target") or DEFAULT_TARGET) == target
                and evidence.get("field") == "payment_terms"
                and str(evidence.get("crm_value", "")).lower() == str(values.get("crm_value", "")).lower())
    if table == "tax":
        return (exception.type_code == ExceptionType.MISSING_REQUIRED_FIELD
                and evidence.get("field") == "tax_classification"
                and evidence.get("country") == values.get("country"))
    return False


def _touches_order(table: str, values: dict[str, Any], canonical: dict[str, Any]) -> bool:
    if table == "products":
        code = str(values.get("crm_product_code", "")).lower()
        return any(str(line.get("product_code", "")).lower() == code for line in canonical.get("lines") or [])
    if table == "customers":
        return (canonical.get("organization") or {}).get("crm_account_id") == values.get("crm_account_id")
    if table == "terms":
        return str(canonical.get("payment_terms_crm", "")).lower() == str(values.get("crm_value", "")).lower()
    return False


_TYPES_BY_TABLE = {
    "products": [ExceptionType.PRODUCT_NOT_MAPPED],
    "customers": [ExceptionType.CUSTOMER_NOT_FOUND],
    "terms": [ExceptionType.MISSING_REQUIRED_FIELD],
    "tax": [ExceptionType.MISSING_REQUIRED_FIELD],
}


def unblock_preview(*, table: str, rows: list[dict[str, Any]], changed: list[dict[str, Any]] | None = None) -> Preview:
    """What saving `rows` (cleaned values) would do: the open exceptions it fixes, the blocked
    handoffs it frees (all their open exceptions fixed) and the created orders it would have
    changed (`changed`: rows that alter an existing mapping; new rows cannot touch an order).
    """
    preview = Preview()
    types = _TYPES_BY_TABLE.get(table)
    if types and rows:
        candidates = list(
            SyncException.objects.filter(status=ExceptionStatus.OPEN, type_code__in=types,
                                         handoff__status=HandoffStatus.BLOCKED).select_related("handoff")
        )
        preview.exceptions = [e for e in candidates if any(_fixes(table, row, e) for row in rows)]
        fixed = {e.pk for e in preview.exceptions}
        handoffs = {e.deal.pk: e.deal for e in preview.exceptions}
        remaining = dict(
            SyncException.objects.filter(handoff_id__in=handoffs, status=ExceptionStatus.OPEN)
            .exclude(pk__in=fixed).values("handoff_id").annotate(n=Count("pk")).values_list("handoff_id", "n")
        )
        for handoff_id, handoff in sorted(handoffs.items()):
            handoff.remaining_exceptions = remaining.get(handoff_id, 0)  # type: ignore[attr-defined]
            (preview.still_blocked if handoff_id in remaining else preview.unblocked).append(handoff)
    if changed and table in {"products", "customers", "terms"}:
        created = Handoff.objects.exclude(sap_sales_order="").order_by("-created_at")
        preview.orders = [h for h in created if any(_touches_order(table, row, h.canonical or {}) for row in changed)]
    return preview


# -- stale-crosswalk alerts ------------------------------------------------------------------------
@dataclass
class StaleAlert:
    kind: str  # "product" | "account"
    key: str
    name: str
    blocked: int


def stale_alerts(*, since: datetime | None = None, limit: int = 10) -> list[StaleAlert]:
    """Products and accounts behind the most open exceptions first seen since `since` (default a week)."""
    since = since or timezone.now() - timedelta(days=7)
    counts: dict[tuple[str, str], set[int]] = {}
    names: dict[tuple[str, str], str] = {}
    rows = SyncException.objects.filter(
        status=ExceptionStatus.OPEN, first_seen__gte=since,
        type_code__in=[ExceptionType.PRODUCT_NOT_MAPPED, ExceptionType.CUSTOMER_NOT_FOUND],
    ).values_list("type_code", "evidence", "handoff_id")
    for type_code, evidence, handoff_id in rows:
        evidence = evidence or {}
        if type_code == ExceptionType.PRODUCT_NOT_MAPPED:
            key = ("product", str(evidence.get("product_code") or ""))
            name = str(evidence.get("product_name") or key[1])
        else:
            key = ("account", str(evidence.get("account") or ""))
            name = str(evidence.get("account_name") or key[1])
        if not key[1]:
            continue
        counts.setdefault(key, set()).add(handoff_id)
        names[key] = name
    ranked = sorted(counts.items(), key=lambda item: (-len(item[1]), item[0]))
    return [StaleAlert(kind, key, names[(kind, key)], len(ids)) for (kind, key), ids in ranked[:limit]]


def handoff_statuses(ids: list[int]) -> list[Handoff]:
    return list(Handoff.objects.filter(pk__in=ids).order_by("pk"))
