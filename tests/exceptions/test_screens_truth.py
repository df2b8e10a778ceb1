"""What the triage screens tell a person is true: a weak match is never picked for them, each
score says where it came from, two screens give one answer, a refusal says why in place, and a
page that shows live state is asked for again rather than served from the browser's cache."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.urls import reverse

from crosswalks.models import SapMaterial, SapPartner
from exceptions.models import ExceptionType, SyncException
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def _unmapped_tier2(n: int = 3) -> list[SyncException]:
    """Deals blocked on a "Tier 2" product whose best SAP material is a "Tier 3" one (0.88)."""
    SapMaterial.objects.bulk_create([
        SapMaterial(material="MAT-EL-003", description="Enterprise License - Tier 3"),
        SapMaterial(material="MAT-TD-001", description="Training Day - Onsite"),
    ])
    return [SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint="product_not_mapped:EL-T2",
                                 evidence={"product_code": "EL-T2", "product_name": "Enterprise License - Tier 2"})
            for _ in range(n)]


def test_it_fills_in_no_material_below_the_auto_map_threshold_and_says_why_each_scored(cast: Cast) -> None:
    exception = _unmapped_tier2()[0]

    page = web(cast.product_ops).get(reverse("exceptions:detail", args=[exception.pk])).content.decode()

    field = re.search(r'<input type="text" name="sap_material\[\]" value="([^"]*)" required>', page)
    assert field is not None and field.group(1) == ""  # the 0.8x "Tier 3" is offered, not chosen
    assert 'data-material="MAT-EL-003"' in page
    assert "below 0.95" in page
    assert re.search(r"description \d+% \(weight 0\.75\) · code \d+% \(weight 0\.25\)", page)
    assert "Save mapping &amp; re-run 3 deals" in page


def test_it_fills_in_a_material_at_or_above_the_auto_map_threshold(cast: Cast, settings: object) -> None:
    settings.HUB_PRODUCT_AUTO_THRESHOLD = 0.5  # type: ignore[attr-defined]
    exception = _unmapped_tier2(1)[0]

    page = web(cast.product_ops).get(reverse("exceptions:detail", args=[exception.pk])).content.decode()

    assert 'name="sap_material[]" value="MAT-EL-003" required' in page


def _customer_not_found(*, street: str = "100 Main St", postal_code: str = "62701") -> SyncException:
    SapPartner.objects.bulk_create([
        SapPartner(business_partner="17100001", name="ACME Corporation", street="100 Main Street",
                   city="Springfield", postal_code="62701", country="US"),
        SapPartner(business_partner="17100002", name="Acme Industries, Inc.", street="9 Oak Avenue",
                   city="Austin", postal_code="78701", country="US"),
    ])
    # Validation searched SAP and found nobody ("best 0.00"); the local copy of SAP's partners knows two.
    return SyncExceptionFactory(
        type_code=ExceptionType.CUSTOMER_NOT_FOUND, fingerprint="customer_not_found:account:001ACME",
        message="No SAP business partner matches 'Acme Corp' with confidence ≥ 0.85 (best 0.00).",
        evidence={"account": "001ACME", "account_name": "Acme Corp", "candidates": [],
                  "ship_to": {"street": street, "city": "Springfield", "postal_code": postal_code,
                              "country": "US"}})


def _partners_listed(page: str) -> list[str]:
    return re.findall(r"\b1710000\d\b", page)


def test_it_lists_the_same_sap_candidates_on_the_exception_as_on_suggestions(cast: Cast) -> None:
    exception = _customer_not_found()

    detail = web(cast.master_data_steward).get(reverse("exceptions:detail", args=[exception.pk])).content.decode()
    suggestions = web(cast.admin).get(reverse("crosswalks:suggestions")).content.decode()

    assert "No candidates in SAP" not in detail
    on_detail = list(dict.fromkeys(_partners_listed(detail)))
    on_suggestions = list(dict.fromkeys(_partners_listed(suggestions)))
    assert on_detail == on_suggestions == ["17100001", "17100002"]
    assert re.search(r"name \d+% \(weight 0\.7\) · address \d+% \(weight 0\.3\)", detail)


def test_it_preselects_no_business_partner_below_the_match_threshold(cast: Cast) -> None:
    # The right name at another address: a weak match (below 0.85) a person must confirm.
    exception = _customer_not_found(street="7 Elm Road", postal_code="62704")

    page = web(cast.master_data_steward).get(reverse("exceptions:detail", args=[exception.pk])).content.decode()

    radios = re.findall(r'<input type="radio" name="business_partner"[^>]*>', page)
    assert len(radios) == 2 and not any("checked" in r for r in radios)
    assert "below 0.85" in page


def test_it_promises_one_resolution_fixes_the_group_only_where_it_does(cast: Cast) -> None:
    for _ in range(2):
        SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing_mismatch:price:P1",
                             evidence={"product_code": "P1"})
    _unmapped_tier2(2)

    pricing = web(cast.pricing_analyst).get(reverse("exceptions:list", args=["pricing"]),
                                            {"cause": "pricing_mismatch:price:P1"}).content.decode()
    product = web(cast.product_ops).get(reverse("exceptions:list", args=["product-ops"]),
                                        {"cause": "product_not_mapped:EL-T2"}).content.decode()

    assert "resolves them all" not in pricing and "each deal needs its own decision" in pricing
    assert "resolves them all" in product


def test_it_refuses_a_comment_over_5000_characters_in_place_and_keeps_the_text(cast: Cast) -> None:
    exception = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED)
    body = "x" * 5001

    response = web(cast.product_ops).post(reverse("exceptions:comment", args=[exception.pk]), {"body": body},
                                          headers={"HX-Request": "true", "HX-Target": "exception-work"})

    page = response.content.decode()
    assert response.status_code == 422
    assert "The comment was not added" in page and "at most 5000 characters" in page
    assert body in page
    assert page.count('id="exception-work"') == 1
    assert "HX-Reswap" not in response.headers
    assert not exception.events.filter(kind="comment").exists()


def test_it_asks_the_server_again_for_screens_that_show_live_state(cast: Cast) -> None:
    exception = SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED)
    client = web(cast.product_ops)

    for url in (reverse("exceptions:queues"), reverse("exceptions:list", args=["product-ops"]),
                reverse("exceptions:detail", args=[exception.pk]), reverse("approvals:queue")):
        assert "no-store" in client.get(url).headers["Cache-Control"], url


def test_it_refreshes_the_sidebar_counts_right_after_a_resolution(cast: Cast) -> None:
    first, second = (SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED) for _ in range(2))
    client = web(cast.product_ops)

    def count() -> str:
        page = client.get(reverse("exceptions:sidebar"), {"queue": "product-ops"}).content.decode()
        found = re.search(r"Product ops</span><span class=\"count[^\"]*\">(\d+)<", page)
        assert found is not None
        return found.group(1)

    assert count() == "2"  # and now cached for a few seconds
    response = client.post(reverse("exceptions:resolve", args=[first.pk]), {"path": "retry"},
                           headers={"HX-Request": "true", "HX-Target": "exception-work"})
    assert response.headers["HX-Trigger"] == "exceptionResolved"
    assert count() == "1"
