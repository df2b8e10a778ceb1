"""Ranked, explained suggestions for unmapped CRM products and accounts.

Candidates come from the local SAP caches (SapMaterial, SapPartner, refreshed by sap_lookup), held
in memory as a token index: a query scores only materials / partners sharing a word with it, so a
lookup stays in milliseconds over 100k materials instead of scoring every row with rapidfuzz.
"""

from __future__ import annotations

import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from rapidfuzz import fuzz, process

from crosswalks.matching import (
    Address,
    address_similarity,
    customer_confidence,
    name_similarity,
    normalize_org_name,
)
from crosswalks.models import CustomerMapping, ProductMapping, SapMaterial, SapPartner
from exceptions.models import ExceptionStatus, ExceptionType, SyncException

_WORD = re.compile(r"[a-z0-9]+")
_STOP = {"the", "and", "of", "for", "-", "a", "tier", "plus"}
MAX_CANDIDATES = 400


def _norm(text: str) -> str:
    return " ".join(_WORD.findall((text or "").lower()))


def _tokens(text: str) -> set[str]:
    return {t for t in _WORD.findall((text or "").lower()) if len(t) > 1 and t not in _STOP}


@dataclass
class Factor:
    label: str
    score: float
    weight: float

    @property
    def percent(self) -> int:
        return round(self.score * 100)


@dataclass
class Candidate:
    value: str  # material or business partner
    name: str
    confidence: float
    factors: list[Factor] = field(default_factory=list)

    @property
    def explanation(self) -> str:
        return ", ".join(f"{f.label} {f.percent}%" for f in self.factors)

    @property
    def why(self) -> str:
        """How the score came about, factor by factor with its weight (what a person checks
        before trusting it)."""
        return " · ".join(f"{f.label} {f.percent}% (weight {f.weight:g})" for f in self.factors)


def auto_map_threshold(kind: str) -> float:
    """The confidence from which the pipeline itself would map a `kind` ("product" / "account"):
    below it a screen offers the candidate but never picks it for the person."""
    return settings.HUB_PRODUCT_AUTO_THRESHOLD if kind == "product" else settings.HUB_CUSTOMER_MATCH_THRESHOLD


def is_confident(kind: str, confidence: float) -> bool:
    return confidence >= auto_map_threshold(kind)


@dataclass
class Suggestion:
    kind: str  # "product" | "account"
    key: str
    name: str
    blocked: int
    candidates: list[Candidate]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def threshold(self) -> float:
        """Below this a candidate is offered, never chosen for the person (`auto_map_threshold`)."""
        return auto_map_threshold(self.kind)


class _Index:
    def __init__(self, texts: dict[str, str]) -> None:
        self.texts = texts
        self.by_token: dict[str, list[str]] = defaultdict(list)
        for key, text in texts.items():
            for token in _tokens(text):
                self.by_token[token].append(key)

    def candidates(self, query: str) -> dict[str, str]:
        # Rare words first: they narrow the field, common ones ("license") only add noise.
        lists = sorted((self.by_token.get(t, []) for t in _tokens(query)), key=len)
        keys: dict[str, None] = {}
        for keys_for_token in lists:
            for key in keys_for_token:
                keys[key] = None
                if len(keys) >= MAX_CANDIDATES:
                    break
            if len(keys) >= MAX_CANDIDATES:
                break
        return {k: self.texts[k] for k in keys}


_lock = threading.Lock()
_cache: dict[str, tuple[Any, Any]] = {}
_checked: dict[str, float] = {}
# Counting 100k cached rows on every keystroke costs more than the ranking itself; big caches
# change only when SAP is re-read, so they are looked at most this often. Small ones every time.
VERSION_CHECK_SECONDS = 5.0
ALWAYS_CHECK_BELOW = 20_000


def _cached(name: str, version: Callable[[], Any], build: Callable[[], Any]) -> Any:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(name)
        if hit and hit[0][0] >= ALWAYS_CHECK_BELOW and now - _checked.get(name, 0.0) < VERSION_CHECK_SECONDS:
            return hit[1]
    current = version()
    with _lock:
        hit = _cache.get(name)
        if hit and hit[0] == current:
            _checked[name] = now
            return hit[1]
    built = build()
    with _lock:
        _cache[name] = (current, built)
        _checked[name] = now
    return built


def material_index() -> tuple[_Index, dict[str, str]]:
    def version() -> tuple[Any, ...]:
        return tuple(SapMaterial.objects.aggregate(n=Count("pk"), t=Max("refreshed_at"), m=Max("pk")).values())

    def build() -> tuple[_Index, dict[str, str]]:
        rows = dict(SapMaterial.objects.values_list("material", "description"))
        return _Index({m: _norm(d) for m, d in rows.items()}), rows

    return _cached("materials", version, build)


@dataclass
class PartnerIndex:
    index: _Index
    partners: dict[str, SapPartner]
    by_tax: dict[str, str]


def partner_index() -> PartnerIndex:
    def version() -> tuple[Any, ...]:
        return tuple(SapPartner.objects.aggregate(n=Count("pk"), t=Max("refreshed_at"), m=Max("pk")).values())

    def build() -> PartnerIndex:
        partners = {p.business_partner: p for p in SapPartner.objects.all()}
        by_tax = {t: bp for bp, p in partners.items() for t in p.tax_numbers.split()}
        return PartnerIndex(_Index({bp: normalize_org_name(p.name) for bp, p in partners.items()}), partners, by_tax)

    return _cached("partners", version, build)


def _code_score(crm_code: str, material: str) -> float:
    code, mat = _norm(crm_code).replace(" ", ""), _norm(material).replace(" ", "")
    if not code or not mat:
        return 0.0
    if code in mat:
        return 1.0
    return fuzz.partial_ratio(code, mat) / 100


def suggest_materials(code: str, name: str, *, limit: int = 5) -> list[Candidate]:
    """SAP materials for a CRM product, best first: description similarity (0.75) + code match (0.25)."""
    index, descriptions = material_index()
    query = _norm(name or code)
    choices = index.candidates(f"{name} {code}")
    if not choices or not query:
        return []
    found = process.extract(query, choices, scorer=fuzz.WRatio, limit=limit * 3, score_cutoff=40)
    ranked = []
    for _, score, material in found:
        description = score / 100
        code_match = _code_score(code, material)
        confidence = round(0.75 * description + 0.25 * code_match, 3)
        ranked.append(Candidate(material, descriptions.get(material, ""), confidence, [
            Factor("description", description, 0.75), Factor("code", code_match, 0.25)]))
    ranked.sort(key=lambda c: (-c.confidence, c.value))
    return ranked[:limit]


def _compact(number: str) -> str:
    return re.sub(r"[\s.-]", "", number or "").upper()


def suggest_partners(
    name: str, *, tax_id: str = "", duns: str = "", ship_to: dict[str, str] | None = None, limit: int = 5
) -> list[Candidate]:
    """SAP business partners for a CRM account, best first: a tax id / DUNS hit outranks any name."""
    idx = partner_index()
    crm_address = Address(**{k: str(v or "") for k, v in (ship_to or {}).items()
                             if k in {"street", "city", "region", "postal_code", "country"}})
    query = normalize_org_name(name)
    candidates = idx.index.candidates(query)
    # Score names in C first and keep the best few: the Python address scoring is the slow part.
    keys = {bp: "" for _, _, bp in process.extract(query, candidates, scorer=fuzz.token_set_ratio,
                                                   limit=max(limit * 5, 25))} if query and candidates else {}
    tax_hits = {}
    for label, number in (("tax id", tax_id), ("DUNS", duns)):
        bp = idx.by_tax.get(_compact(number)) if number else None
        if bp:
            tax_hits[bp] = label
            keys[bp] = ""
    ranked = []
    for bp in keys:
        partner = idx.partners[bp]
        name_score = name_similarity(name, partner.name)
        if name_score < 0.5 and bp not in tax_hits:
            continue
        sap_address = Address(street=partner.street, city=partner.city, postal_code=partner.postal_code,
                              country=partner.country)
        address_score = None if crm_address.is_empty else address_similarity(crm_address, sap_address)
        factors = [Factor("name", name_score, 0.7)]
        if address_score is not None:
            factors.append(Factor("address", address_score, 0.3))
        confidence = customer_confidence(name_score, address_score)
        if bp in tax_hits:
            factors.insert(0, Factor(tax_hits[bp], 1.0, 1.0))
            confidence = 0.99 if name_score >= 0.6 else 0.9
        ranked.append(Candidate(bp, partner.name, round(confidence, 3), factors))
    ranked.sort(key=lambda c: (-c.confidence, c.value))
    return ranked[:limit]


def account_candidates(evidence: dict[str, Any], *, limit: int = 5) -> list[Candidate]:
    """SAP business partners for the CRM account a customer_not_found exception names, best first.

    The one answer to "who in SAP could this account be", for the exception screen and the
    Suggestions screen alike: the local copy of SAP's partners when it is filled, else what
    validation recorded when it searched SAP (its name + address scores)."""
    ranked = suggest_partners(str(evidence.get("account_name") or ""), tax_id=str(evidence.get("tax_id") or ""),
                              duns=str(evidence.get("duns") or ""), ship_to=evidence.get("ship_to") or {},
                              limit=limit)
    if ranked or partner_index().partners:
        return ranked
    recorded = []
    for c in evidence.get("candidates") or []:
        factors = [Factor("name", float(c.get("name_score") or 0), 0.7)]
        if c.get("address_score") is not None:
            factors.append(Factor("address", float(c["address_score"]), 0.3))
        recorded.append(Candidate(str(c.get("business_partner") or ""), str(c.get("name") or ""),
                                  round(float(c.get("confidence") or 0), 3), factors))
    return recorded[:limit]


def unmapped_products() -> list[dict[str, Any]]:
    """CRM products behind open product_not_mapped exceptions that still have no active mapping."""
    seen: dict[str, dict[str, Any]] = {}
    for evidence, handoff_id in SyncException.objects.filter(
        status=ExceptionStatus.OPEN, type_code=ExceptionType.PRODUCT_NOT_MAPPED
    ).values_list("evidence", "handoff_id"):
        code = str((evidence or {}).get("product_code") or "")
        if not code:
            continue
        row = seen.setdefault(code.lower(), {"code": code, "name": evidence.get("product_name") or "", "handoffs": set()})
        row["handoffs"].add(handoff_id)
    mapped = {c.lower() for c in ProductMapping.objects.filter(active=True).values_list("crm_product_code", flat=True)}
    return sorted((r for k, r in seen.items() if k not in mapped), key=lambda r: (-len(r["handoffs"]), r["code"]))


def unmapped_accounts() -> list[dict[str, Any]]:
    seen: dict[str, dict[str, Any]] = {}
    for evidence, handoff_id in SyncException.objects.filter(
        status=ExceptionStatus.OPEN, type_code=ExceptionType.CUSTOMER_NOT_FOUND
    ).values_list("evidence", "handoff_id"):
        evidence = evidence or {}
        account = str(evidence.get("account") or "")
        if not account:
            continue
        row = seen.setdefault(account, {"account": account, "name": evidence.get("account_name") or "",
                                        "evidence": evidence, "handoffs": set()})
        row["handoffs"].add(handoff_id)
    mapped = set(CustomerMapping.objects.values_list("crm_account_id", flat=True))
    return sorted((r for k, r in seen.items() if k not in mapped), key=lambda r: (-len(r["handoffs"]), r["account"]))


def suggestions(*, limit: int = 5) -> list[Suggestion]:
    out = [
        Suggestion("product", p["code"], p["name"], len(p["handoffs"]), suggest_materials(p["code"], p["name"], limit=limit))
        for p in unmapped_products()
    ]
    out += [
        Suggestion("account", a["account"], a["name"], len(a["handoffs"]), account_candidates(a["evidence"], limit=limit))
        for a in unmapped_accounts()
    ]
    return out
