"""Root-cause groups as units of work: the preview says what the one action will do (and writes
nothing), the action does exactly that, and a cause without a shared decision says so."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from crosswalks.models import ProductMapping
from exceptions.errors import ResolutionError
from exceptions.groups import group_apply, group_members, group_preview
from exceptions.models import ExceptionType, SyncException
from exceptions.services import queue_ensure
from tests.factories import Cast, SyncExceptionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def sap_knows_every_material(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("crosswalks.sap_lookup.SapLookup.materials_exist", lambda self, ms: dict.fromkeys(ms, True))


def _unmapped(n: int, code: str = "EA-S") -> list[SyncException]:
    return [SyncExceptionFactory(type_code=ExceptionType.PRODUCT_NOT_MAPPED, fingerprint=f"product_not_mapped:product:{code}",
                                 product_code=code, evidence={"product_code": code, "product_name": "Enterprise Annual"})
            for _ in range(n)]


def _priced(variances: list[str]) -> list[SyncException]:
    return [SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing_mismatch:price:P9",
                                 variance_pct=Decimal(v), evidence={"product_code": "P9", "variance_percent": v})
            for v in variances]


def web(user: object) -> Client:
    client = Client()
    client.force_login(user)  # type: ignore[arg-type]
    return client


def test_it_previews_a_product_mapping_for_the_group_and_counts_only_the_deals_it_frees(cast: Cast) -> None:
    group = _unmapped(3)
    # One deal is also held by a credit block: mapping the product does not re-run it.
    SyncExceptionFactory(type_code=ExceptionType.CREDIT_CHECK_FAILED, handoff=group[2].handoff)
    members = group_members(user=cast.product_ops, queue=queue_ensure(slug="product-ops"),
                            fingerprint="product_not_mapped:product:EA-S")

    preview = group_preview(members=members, sap_material="mat-1")

    assert [m.pk for m in members] == [g.pk for g in group]
    assert preview.lines == ["Writes the product crosswalk row EA-S → MAT-1 (manual, from now on).",
                             "Resolves all 3 open exceptions of this product.",
                             "Re-runs 2 deals from validation (the other 1 still have something else open)."]
    assert not ProductMapping.objects.exists()


def test_it_maps_the_product_once_and_resolves_and_reruns_the_whole_group(
    cast: Cast, enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    group = _unmapped(3)
    other = _unmapped(1, code="OTHER")[0]
    members = group_members(user=cast.product_ops, queue=queue_ensure(slug="product-ops"),
                            fingerprint="product_not_mapped:product:EA-S")
    with django_capture_on_commit_callbacks(execute=True):
        done = group_apply(preview=group_preview(members=members, sap_material="MAT-1"), actor=cast.product_ops)

    assert "3 exceptions resolved" in done
    assert ProductMapping.objects.get(crm_product_code="EA-S").components.get().sap_material == "MAT-1"
    assert set(SyncException.objects.filter(pk__in=[g.pk for g in group]).values_list("status", flat=True)) == {"resolved"}
    assert sorted(enqueued) == sorted(g.handoff_id for g in group)
    assert SyncException.objects.get(pk=other.pk).status == "open"


def test_it_accepts_sap_prices_only_up_to_the_variance_and_leaves_the_rest(
    cast: Cast, enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    near, negative, far = _priced(["1.50", "-2.00", "12.00"])
    members = group_members(user=cast.pricing_analyst, queue=queue_ensure(slug="pricing"),
                            fingerprint="pricing_mismatch:price:P9")

    preview = group_preview(members=members, max_variance=Decimal("2"))
    assert [m.pk for m in preview.apply_to] == [near.pk, negative.pk]
    assert [(m.pk, "beyond 2 %" in why) for m, why in preview.skip] == [(far.pk, True)]
    assert preview.lines[:2] == ["Accepts SAP's price on 2 deals with a variance up to 2 %.",
                                 "Leaves 1 for a person: their variance is larger."]
    with django_capture_on_commit_callbacks(execute=True):
        done = group_apply(preview=preview, actor=cast.pricing_analyst)

    assert done == "Accepted SAP's price on 2 deals; 1 left for a person."
    statuses = dict(SyncException.objects.filter(pk__in=[near.pk, negative.pk, far.pk]).values_list("pk", "status"))
    assert statuses == {near.pk: "resolved", negative.pk: "resolved", far.pk: "open"}
    assert sorted(enqueued) == sorted([near.handoff_id, negative.handoff_id])


def test_it_says_what_is_missing_and_where_each_deal_is_its_own_decision(cast: Cast) -> None:
    with pytest.raises(ResolutionError, match="enter the SAP material"):
        group_preview(members=_unmapped(2))
    with pytest.raises(ResolutionError, match="largest variance"):
        group_preview(members=_priced(["1"]))
    credit = [SyncExceptionFactory(type_code=ExceptionType.CREDIT_CHECK_FAILED, fingerprint="credit:C1") for _ in range(2)]
    with pytest.raises(ResolutionError, match="each is its own decision"):
        group_preview(members=credit)


def test_it_previews_on_the_group_page_without_writing_and_applies_on_post(
    cast: Cast, enqueued: list[int], django_capture_on_commit_callbacks: Any,
) -> None:
    group = _unmapped(2)
    url = reverse("exceptions:group", args=["product-ops"])
    cause = "product_not_mapped:product:EA-S"

    page = web(cast.product_ops).get(url, {"cause": cause, "sap_material": "MAT-1"})
    assert page.status_code == 200
    assert "EA-S → MAT-1" in page.content.decode() and "Apply to 2 exceptions" in page.content.decode()
    assert not ProductMapping.objects.exists()
    bad = web(cast.pricing_analyst).get(reverse("exceptions:group", args=["product-ops"]), {"cause": cause})
    assert bad.status_code == 404  # not their queue: no hint it exists
    with django_capture_on_commit_callbacks(execute=True):
        done = web(cast.product_ops).post(url, {"cause": cause, "sap_material": "MAT-1"})
    assert done.status_code == 302
    assert sorted(enqueued) == sorted(g.handoff_id for g in group)
    refused = web(cast.product_ops).post(url, {"cause": cause, "sap_material": ""})
    assert refused.status_code == 302  # nothing open is left: back to the list, said in a message
