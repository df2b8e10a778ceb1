"""Triage screens and API writes: permissions (404 for outsiders, CSRF), list filters and keyset
pages, bulk actions that audit once, a root cause resolved at once."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crosswalks.models import ProductMapping
from exceptions.models import BusinessCalendar, ExceptionEvent, SyncException
from exceptions.resolution import exception_resolve_path
from exceptions.selectors import queue_overview, sla_state
from exceptions.services import queue_ensure
from tests.factories import Cast, SyncExceptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def web(user: object, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def api(user: object) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


@pytest.fixture
def pricing_exception() -> SyncException:
    return SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:price:X",
                                title="Price differs by 7 %", amount=Decimal("120000"), customer_name="Acme",
                                evidence={"product_code": "X", "crm_net": "100", "sap_net": "107"})


def test_it_gives_the_outsider_404_on_every_screen_and_endpoint(cast: Cast, pricing_exception) -> None:
    pk = pricing_exception.pk
    client = web(cast.outsider)
    assert client.get(reverse("exceptions:list", args=["pricing"])).status_code == 404
    assert client.get(reverse("exceptions:detail", args=[pk])).status_code == 404
    for name in ("assign", "comment", "tags", "resolve"):
        assert client.post(reverse(f"exceptions:{name}", args=[pk]), {"body": "x", "path": "accept_sap"}).status_code == 404
    assert client.post(reverse("exceptions:bulk", args=["pricing"]), {"ids": [pk], "action": "assign_me"}).status_code == 404
    rest = api(cast.outsider)
    for name in ("assign", "comment", "resolve"):
        assert rest.post(f"/api/v1/exceptions/{pk}/{name}/", {"assignee": "me", "body": "x", "path": "accept_sap"},
                         format="json").status_code == 404
    pricing_exception.refresh_from_db()
    assert pricing_exception.status == "open" and pricing_exception.assignee is None


def test_it_shows_the_pricing_analyst_pricing_but_not_master_data(cast: Cast, pricing_exception) -> None:
    customer = SyncExceptionFactory(type_code="customer_not_found", fingerprint="customer_not_found:a")
    client = web(cast.pricing_analyst)

    page = client.get(reverse("exceptions:list", args=["pricing"]))
    assert page.status_code == 200 and "Price differs by 7 %" in page.content.decode()
    assert client.get(reverse("exceptions:detail", args=[customer.pk])).status_code == 404
    assert client.get(reverse("exceptions:list", args=["master-data"])).status_code == 404
    overview = client.get(reverse("exceptions:queues")).content.decode()
    assert "Pricing" in overview and "Master data" not in overview


def test_it_lets_a_guardian_group_grant_view_without_work(cast: Cast, pricing_exception) -> None:
    auditors = Group.objects.create(name="auditors")
    assign_perm("exceptions.view_queue", auditors, queue_ensure(slug="pricing"))
    auditor = UserFactory(username="auditor")
    auditor.groups.add(auditors)
    client = web(auditor)

    assert client.get(reverse("exceptions:detail", args=[pricing_exception.pk])).status_code == 200
    assert client.post(reverse("exceptions:assign", args=[pricing_exception.pk]), {"assignee": "me"}).status_code == 404


def test_it_enforces_csrf_on_triage_posts(cast: Cast, pricing_exception) -> None:
    response = web(cast.pricing_analyst, csrf=True).post(reverse("exceptions:assign", args=[pricing_exception.pk]),
                                                          {"assignee": "me"})
    assert response.status_code == 403
    pricing_exception.refresh_from_db()
    assert pricing_exception.assignee is None


def test_it_filters_sorts_and_pages_by_keyset(cast: Cast) -> None:
    now = timezone.now()
    rows = []
    for i in range(7):
        e = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:p{i}",
                                 amount=Decimal(1000 * (i + 1)), customer_name="Globex" if i % 2 else "Acme")
        SyncException.objects.filter(pk=e.pk).update(first_seen=now - timedelta(hours=i))
        rows.append(e)
    client = web(cast.pricing_analyst)
    url = reverse("exceptions:list", args=["pricing"])

    from exceptions import views
    views.PAGE_SIZE, old = 3, views.PAGE_SIZE
    try:
        first = client.get(url, {"sort": "amount"})
        seen = [e.pk for e in first.context["rows"]]
        second = client.get(url + first.context["next_url"])
        seen += [e.pk for e in second.context["rows"]]
        third = client.get(url + second.context["next_url"])
        seen += [e.pk for e in third.context["rows"]]
    finally:
        views.PAGE_SIZE = old
    assert seen == [e.pk for e in reversed(rows)]
    assert third.context["next_url"] == ""
    acme = client.get(url, {"customer": "acme", "amount_min": "2500", "age": "lt4h"}).context["rows"]
    assert {e.pk for e in acme} == {rows[2].pk}


def test_it_refreshes_only_the_rows_for_htmx(cast: Cast, pricing_exception) -> None:
    response = web(cast.pricing_analyst).get(reverse("exceptions:list", args=["pricing"]),
                                             HTTP_HX_REQUEST="true", HTTP_HX_TARGET="exception-rows")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="exception-rows"')
    assert "<aside" not in html


def test_it_applies_a_bulk_action_once_with_an_audit_row_per_item(cast: Cast, bulk_worker) -> None:
    items = [SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:b{i}") for i in range(3)]
    ids = [e.pk for e in items]
    client = web(cast.pricing_analyst)

    for _ in range(2):
        with bulk_worker():
            client.post(reverse("exceptions:bulk", args=["pricing"]), {"ids": ids, "action": "assign_me"})
    outcome = api(cast.pricing_analyst).post("/api/v1/exceptions/bulk/", {"ids": ids, "action": "assign_me"},
                                             format="json").json()

    assert outcome == {"changed": 0, "unchanged": 3, "failed": 0}
    assert set(SyncException.objects.filter(pk__in=ids).values_list("assignee", flat=True)) == {cast.pricing_analyst.pk}
    assert ExceptionEvent.objects.filter(exception__in=ids, kind="assign").count() == 3


def test_it_resolves_a_root_cause_group_at_once(cast: Cast, enqueued: list[int],
                                                django_capture_on_commit_callbacks: object,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # The mapping is checked against SAP as on the crosswalk workbench: this SAP has the material.
    monkeypatch.setattr("crosswalks.sap_lookup.SapLookup.materials_exist", lambda self, ms: dict.fromkeys(ms, True))
    group = [SyncExceptionFactory(fingerprint="product_not_mapped:product:GAD-9",
                                  evidence={"product_code": "GAD-9", "product_name": "Gadget 9"}) for _ in range(3)]
    unrelated = SyncExceptionFactory(fingerprint="product_not_mapped:product:OTHER")

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = web(cast.product_ops).post(reverse("exceptions:resolve", args=[group[0].pk]), {
            "path": "map_product", "sap_material[]": ["MAT-GD-9", ""], "quantity_factor[]": ["1", "1"]})

    assert response.status_code == 302
    assert ProductMapping.objects.get(crm_product_code="GAD-9").components.get().sap_material == "MAT-GD-9"
    assert set(SyncException.objects.filter(pk__in=[g.pk for g in group]).values_list("status", flat=True)) == {"resolved"}
    assert SyncException.objects.get(pk=unrelated.pk).status == "open"
    assert sorted(enqueued) == sorted(g.handoff_id for g in group)


def test_it_assigns_comments_and_tags_through_the_api(cast: Cast, pricing_exception) -> None:
    client = api(cast.pricing_analyst)
    base = f"/api/v1/exceptions/{pricing_exception.pk}"

    assert client.post(f"{base}/assign/", {"assignee": "me"}, format="json").json()["assignee"] == "pricing_analyst"
    assert client.post(f"{base}/comment/", {"body": "asked sales"}, format="json").status_code == 200
    assert client.post(f"{base}/tags/", {"tags": ["Q3", "vip"]}, format="json").json()["tags"] == ["q3", "vip"]
    assert client.post(f"{base}/assign/", {"assignee": "outsider"}, format="json").status_code == 400
    kinds = list(ExceptionEvent.objects.filter(exception=pricing_exception).values_list("kind", flat=True))
    assert kinds.count("assign") == 1 and "comment" in kinds and "tags" in kinds
    assert client.get("/api/v1/exceptions/", {"assignee": "me", "tag": "vip"}).json()["results"][0]["id"] == pricing_exception.pk


def test_it_refuses_a_path_that_does_not_fit_the_type(cast: Cast, pricing_exception) -> None:
    from exceptions.errors import ResolutionError

    with pytest.raises(ResolutionError):
        exception_resolve_path(exception=pricing_exception, actor=cast.pricing_analyst, path="release", data={})
    response = api(cast.pricing_analyst).post(f"/api/v1/exceptions/{pricing_exception.pk}/resolve/",
                                              {"path": "cancel", "note": "x"}, format="json")
    assert response.status_code == 400


def test_it_shows_counts_and_sla_badges_on_the_overview(cast: Cast) -> None:
    # Round the clock, so business hours are wall-clock hours whenever the suite runs.
    pricing_queue = queue_ensure(slug="pricing")
    pricing_queue.calendar = BusinessCalendar.objects.create(name="24/7", weekdays=list(range(7)), day_start=time(0),
                                                             day_end=time(23, 59, 59))
    pricing_queue.save()
    old = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:old")
    SyncException.objects.filter(pk=old.pk).update(first_seen=timezone.now() - timedelta(hours=30))
    SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:new")

    response = web(cast.pricing_analyst).get(reverse("exceptions:queues"))

    pricing = next(s for s in response.context["stats"] if s.queue.slug == "pricing")
    assert (pricing.open, pricing.breached, pricing.oldest.pk) == (2, 1, old.pk)
    assert pricing.ages == {"lt4h": 1, "4h_24h": 0, "1d_3d": 1, "gt3d": 0}
    assert "1 breached" in response.content.decode()


def test_it_counts_the_sla_in_business_hours_so_a_weekend_breaches_nothing(cast: Cast) -> None:
    # The default calendar: Mon–Fri 09–17 UTC; pricing's SLA is 4 business hours (at risk from 3).
    monday_10am = datetime(2026, 12, 7, 10, tzinfo=UTC)
    seen = {"friday_4pm": datetime(2026, 12, 4, 16, tzinfo=UTC),      # 2 business hours: fine
            "friday_2_30pm": datetime(2026, 12, 4, 14, 30, tzinfo=UTC),  # 3.5: at risk
            "friday_1pm": datetime(2026, 12, 4, 13, tzinfo=UTC)}        # 5: breached
    made = {}
    for name, first_seen in seen.items():
        made[name] = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:{name}")
        SyncException.objects.filter(pk=made[name].pk).update(first_seen=first_seen)
        made[name].refresh_from_db()

    assert {name: sla_state(e, now=monday_10am) for name, e in made.items()} == {
        "friday_4pm": "", "friday_2_30pm": "at_risk", "friday_1pm": "breached"}
    pricing = next(s for s in queue_overview(user=cast.pricing_analyst, now=monday_10am) if s.queue.slug == "pricing")
    assert (pricing.breached, pricing.at_risk) == (1, 1)

    # Monday a holiday on the queue's calendar: the same morning, nothing has aged.
    queue = queue_ensure(slug="pricing")
    queue.calendar = BusinessCalendar.objects.create(name="Holiday Monday", holidays=["2026-12-07"])
    queue.save()
    made = {name: SyncException.objects.select_related("queue__calendar").get(pk=e.pk) for name, e in made.items()}
    assert {name: sla_state(e, now=monday_10am) for name, e in made.items()} == {
        "friday_4pm": "", "friday_2_30pm": "", "friday_1pm": "breached"}  # 1, 2.5 and 4 business hours


def test_it_keeps_a_named_filter_for_its_owner_only(cast) -> None:
    from django.test import Client
    from django.urls import reverse

    from exceptions.models import SavedFilter

    client = Client()
    client.force_login(cast.pricing_analyst)
    url = reverse("exceptions:saved-filter", args=["pricing"])
    response = client.post(url, {"name": "Big deals", "query": "amount_min=100000&after=xyz&status=open"})
    saved = SavedFilter.objects.get(user=cast.pricing_analyst)
    assert saved.query == "amount_min=100000&status=open"  # the page cursor is not part of a filter
    assert response["Location"].endswith("?amount_min=100000&status=open")
    page = client.get(reverse("exceptions:list", args=["pricing"])).content.decode()
    assert "Big deals" in page

    other = Client()
    other.force_login(cast.master_data_steward)
    assert other.post(url, {"name": "x"}).status_code == 404  # not their queue
    client.post(url, {"delete": saved.pk})
    assert not SavedFilter.objects.exists()


@pytest.mark.parametrize("sort", ["priority", "oldest", "newest", "amount"])
def test_it_pages_every_sort_without_repeating_or_skipping_a_row(cast: Cast, sort: str) -> None:
    now = timezone.now()
    for i in range(8):
        e = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:s{i}",
                                 priority=[10, 20, 30][i % 3], amount=None if i == 5 else Decimal(500 * (i % 4)))
        # Two rows share each first_seen: the id must break the tie across a page boundary.
        SyncException.objects.filter(pk=e.pk).update(first_seen=now - timedelta(hours=i // 2))
    client = web(cast.pricing_analyst)
    url = reverse("exceptions:list", args=["pricing"])
    from exceptions import views
    views.PAGE_SIZE, old = 3, views.PAGE_SIZE
    try:
        seen, query = [], f"?sort={sort}"
        while query:
            page = client.get(url + query)
            seen += [e.pk for e in page.context["rows"]]
            query = page.context["next_url"]
    finally:
        views.PAGE_SIZE = old
    everything = list(SyncException.objects.filter(queue__slug="pricing"))
    key = {"priority": lambda e: (-e.priority, e.first_seen, e.pk), "oldest": lambda e: (e.first_seen, e.pk),
           "newest": lambda e: (-e.first_seen.timestamp(), -e.pk),
           "amount": lambda e: (-(e.amount if e.amount is not None else Decimal(-1)), e.pk)}[sort]
    assert seen == [e.pk for e in sorted(everything, key=key)]


@pytest.mark.parametrize("type_code", [t for t, _ in SyncException._meta.get_field("type_code").choices])
def test_it_shows_any_exception_whose_evidence_is_missing_fields(cast: Cast, type_code: str) -> None:
    """Evidence is JSON written by many versions of the engine: a missing key is shown as missing,
    never a 500 (a product exception without `product_code` once crashed its screen)."""
    exception = SyncExceptionFactory(type_code=type_code, fingerprint=f"{type_code}:empty", evidence={})

    response = web(cast.admin).get(reverse("exceptions:detail", args=[exception.pk]))

    assert response.status_code == 200
    assert exception.title in response.content.decode()
