"""Fuzzy matching with a confidence in [0, 1]: organisation names, postal addresses, product names.

Pure functions (no database, no network) so the pipeline, the crosswalk workbench and the
exception screens all score the same way. rapidfuzz does the string distance; what we add is the
normalisation that makes "Acme Corp" and "ACME Corporation" the same company and "9183 Technology
Way" the same street as SAP's StreetName "Technology Way" + HouseNumber "9183".
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from rapidfuzz import fuzz, process

# Legal-form words carry no identity: "Acme Corp" and "ACME Corporation" are one company.
_LEGAL_FORMS = {
    "corp",
    "corporation",
    "inc",
    "incorporated",
    "llc",
    "ltd",
    "limited",
    "gmbh",
    "ag",
    "plc",
    "co",
    "company",
    "sa",
    "sarl",
    "bv",
    "nv",
    "kg",
    "lp",
    "llp",
    "pty",
    "the",
}
_STREET_WORDS = {
    "st": "street",
    "str": "strasse",
    "ave": "avenue",
    "av": "avenue",
    "blvd": "boulevard",
    "dr": "drive",
    "rd": "road",
    "pkwy": "parkway",
    "ln": "lane",
    "ct": "court",
    "hwy": "highway",
    "sq": "square",
    "pl": "place",
    "ste": "suite",
    "n": "north",
    "s": "south",
    "e": "east",
    "w": "west",
}
_NON_WORD = re.compile(r"[^\w\s]")


def _ascii_fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def normalize_org_name(name: str) -> str:
    words = _NON_WORD.sub(" ", _ascii_fold(name or "").lower()).split()
    kept = [w for w in words if w not in _LEGAL_FORMS]
    return " ".join(kept or words)


def normalize_street(street: str) -> str:
    text = _ascii_fold(street or "").lower()
    text = text.replace("strasse", " strasse").replace("straße", " strasse")
    words = _NON_WORD.sub(" ", text).split()
    return " ".join(_STREET_WORDS.get(w, w) for w in words)


def normalize_postal(code: str) -> str:
    return re.sub(r"\s+", "", (code or "").upper())


def name_similarity(a: str, b: str) -> float:
    """0..1; equal after normalisation scores 1.0, a shared stem with extra words scores lower."""
    na, nb = normalize_org_name(a), normalize_org_name(b)
    if not na or not nb:
        return 0.0
    if na == nb:
        return 1.0
    # token_sort punishes extra words, token_set forgives them; the mean sits in between.
    return round((fuzz.token_sort_ratio(na, nb) + fuzz.token_set_ratio(na, nb)) / 200, 4)


@dataclass(frozen=True)
class Address:
    street: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @property
    def is_empty(self) -> bool:
        return not (self.street or self.city or self.postal_code)


def address_similarity(crm: Address, sap: Address) -> float:
    """0..1 confidence that two addresses are the same place.

    Street (with house number) and postal code carry most of the weight: a wrong digit in the
    postal code is exactly the failure logistics must see.
    """
    if crm.is_empty or sap.is_empty:
        return 0.0
    street = fuzz.token_sort_ratio(normalize_street(crm.street), normalize_street(sap.street)) / 100
    postal = 1.0 if normalize_postal(crm.postal_code) == normalize_postal(sap.postal_code) else 0.0
    city = fuzz.ratio(_ascii_fold(crm.city).lower(), _ascii_fold(sap.city).lower()) / 100
    country = (
        1.0 if (crm.country or "").strip().upper()[:2] == (sap.country or "").strip().upper()[:2] else 0.0
    )
    return round(0.35 * street + 0.35 * postal + 0.2 * city + 0.1 * country, 4)


def customer_confidence(name_score: float, address_score: float | None) -> float:
    """Combine name and address evidence; without an address a name alone is never certain."""
    if address_score is None:
        return round(name_score * 0.9, 4)
    return round(0.7 * name_score + 0.3 * address_score, 4)


def best_matches(
    query: str, choices: dict[str, str], *, limit: int = 5, cutoff: float = 0.5
) -> list[tuple[str, float]]:
    """Best keys of `choices` (key -> text) for `query`, with a 0..1 score, best first."""
    if not query or not choices:
        return []
    found = process.extract(
        query.lower(),
        {k: v.lower() for k, v in choices.items()},
        # token_set: each query word found counts fully; WRatio over-rewards a short partial overlap.
        scorer=fuzz.token_set_ratio,
        limit=limit,
        score_cutoff=cutoff * 100,
    )
    return [(key, round(score / 100, 4)) for _, score, key in found]
