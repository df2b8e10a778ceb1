"""Suggestions rank the right SAP material / business partner first on name variants."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from crosswalks.models import CustomerMapping, ProductMapping, SapMaterial, SapPartner
from crosswalks.suggestions import suggest_materials, suggest_partners, suggestions
from exceptions.models import ExceptionStatus, ExceptionType
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db

MATERIALS = {
    "MAT-EL-001": "Enterprise License - Annual", "MAT-EL-002": "Enterprise License - Tier 2",
    "MAT-AS-001": "Annual Support Plan", "MAT-PL-001": "Professional License", "MAT-SK-001": "Sensor Kit",
    "MAT-TD-001": "Training Day - Onsite",
}
PARTNERS = [
    ("17100001", "ACME Corporation", "12-3456789", "100 Main Street", "Springfield", "62701", "US"),
    ("17100002", "Acme Industries, Inc.", "", "9 Oak Avenue", "Austin", "78701", "US"),
    ("17100003", "Globex Holdings LLC", "98-7654321", "5 Market Street", "Denver", "80202", "US"),
    ("17100004", "Initech Systems Corporation", "", "1 Technology Way", "Raleigh", "27601", "US"),
]


@pytest.fixture
def sap_cache(db: None) -> None:
    SapMaterial.objects.bulk_create(SapMaterial(material=m, description=d) for m, d in MATERIALS.items())
    SapPartner.objects.bulk_create(
        SapPartner(business_partner=bp, name=n, tax_numbers=t.replace("-", ""), street=s, city=c, postal_code=p, country=k)
        for bp, n, t, s, c, p, k in PARTNERS
    )


@pytest.mark.parametrize(("code", "name", "expected"), [
    ("EL-X01", "Enterprise Licence (annual)", "MAT-EL-001"),
    ("SUP-1", "annual support", "MAT-AS-001"),
    ("SK-X02", "Sensor kit", "MAT-SK-001"),
    ("TD-X09", "Onsite training day", "MAT-TD-001"),
])
def test_it_ranks_the_right_material_first(sap_cache: None, code: str, name: str, expected: str) -> None:
    ranked = suggest_materials(code, name)
    assert ranked[0].value == expected
    assert ranked[0].confidence >= ranked[-1].confidence
    assert "description" in ranked[0].explanation


@pytest.mark.parametrize(("name", "kwargs", "expected"), [
    ("Acme Corp", {"ship_to": {"street": "100 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"}},
     "17100001"),
    ("Globex", {}, "17100003"),
    ("Initech Systems", {}, "17100004"),
    ("Some other name", {"tax_id": "12-3456789"}, "17100001"),
])
def test_it_ranks_the_right_partner_first(sap_cache: None, name: str, kwargs: dict, expected: str) -> None:
    ranked = suggest_partners(name, **kwargs)
    assert ranked[0].value == expected


def test_it_explains_a_tax_id_hit(sap_cache: None) -> None:
    best = suggest_partners("Acme Corp", tax_id="12 345 6789")[0]
    assert best.value == "17100001" and best.confidence >= 0.9
    assert best.explanation.startswith("tax id 100%")


def test_it_suggests_for_every_unmapped_product_and_account_and_accepts_in_one_post(
    cast: Cast, sap_cache: None, enqueued: list[int], django_capture_on_commit_callbacks, monkeypatch
) -> None:
    product = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:p",
                                   evidence={"product_code": "SK-X02", "product_name": "Sensor kit"})
    SyncExceptionFactory(type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:a",
                         evidence={"account": "001A", "account_name": "Globex"})
    kinds = [(s.kind, s.key, s.candidates[0].value) for s in suggestions()]
    assert kinds == [("product", "SK-X02", "MAT-SK-001"), ("account", "001A", "17100003")]

    monkeypatch.setattr("crosswalks.sap_lookup.SapLookup.materials_exist", lambda self, ms: dict.fromkeys(ms, True))
    monkeypatch.setattr("crosswalks.sap_lookup.SapLookup.partner_exists", lambda self, bp: True)
    client = Client()
    client.force_login(cast.admin)
    page = client.get(reverse("crosswalks:suggestions"))
    assert b"MAT-SK-001" in page.content and b'data-accept="1"' in page.content
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("crosswalks:suggestion-accept"),
                    {"kind": "product", "key": "SK-X02", "name": "Sensor kit", "value": "MAT-SK-001"})
    mapping = ProductMapping.objects.get(crm_product_code="SK-X02")
    assert (mapping.source, mapping.confidence) == ("suggested", 1)
    product.refresh_from_db()
    assert product.status == ExceptionStatus.RESOLVED and enqueued == [product.handoff_id]
    client.post(reverse("crosswalks:suggestion-accept"),
                {"kind": "account", "key": "001A", "name": "Globex", "value": "17100003"})
    assert CustomerMapping.objects.get().sap_business_partner == "17100003"
    assert [s.kind for s in suggestions()] == []


def test_it_never_puts_a_weak_best_guess_one_keystroke_away(cast: Cast, sap_cache: None) -> None:
    """Enter accepts the best candidate only from the auto-map threshold up; below it the page
    says so and the person picks a number (1-5) on purpose."""
    SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:weak",
                         evidence={"product_code": "EL-T3", "product_name": "Enterprise License - Tier 3"})
    SyncExceptionFactory(type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:strong",
                         evidence={"account": "001B", "account_name": "Initech Systems Corporation"})
    found = {s.key: s for s in suggestions()}
    weak, strong = found["EL-T3"].candidates[0], found["001B"].candidates[0]
    assert weak.confidence < found["EL-T3"].threshold <= 0.95
    assert strong.confidence >= found["001B"].threshold

    client = Client()
    client.force_login(cast.admin)
    page = client.get(reverse("crosswalks:suggestions")).content.decode()
    weak_card = page[page.index('data-key="EL-T3"'):page.index('data-key="001B"')]
    strong_card = page[page.index('data-key="001B"'):]
    assert "data-strong" not in weak_card and "check it" in weak_card and "(weight" in weak_card
    assert 'data-accept="1" data-strong' in strong_card
