"""Bulk actions as jobs: a progress bar item by item, any assignee, the whole filtered selection,
nothing done twice (a double submit, a repeat, a worker that died half-way), and 404 for others."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from exceptions import bulk
from exceptions.models import BulkJob, ExceptionEvent, SyncException
from exceptions.services import queue_ensure, queue_member_add
from tests.factories import Cast, SyncExceptionFactory, UserFactory

pytestmark = pytest.mark.django_db


def web(user: object, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)  # type: ignore[arg-type]
    return client


def pricing_items(n: int, **kwargs: object) -> list[SyncException]:
    return [SyncExceptionFactory(type_code="pricing_mismatch", fingerprint=f"pricing_mismatch:bulk{i}",
                                 title=f"Price differs on Widget {i}", **kwargs) for i in range(n)]


@pytest.fixture
def colleague(cast: Cast):  # noqa: ANN201
    person = UserFactory(username="pricing_colleague", first_name="Pat", last_name="Lee")
    queue_member_add(queue=queue_ensure(slug="pricing"), user=person)
    return person


def test_it_shows_a_bulk_job_progress_item_by_item_until_a_worker_finishes_it(cast: Cast) -> None:
    items = pricing_items(3)
    client = web(cast.pricing_analyst)

    response = client.post(reverse("exceptions:bulk", args=["pricing"]),
                           {"ids": [e.pk for e in items], "action": "assign_me"})
    job = BulkJob.objects.get()
    assert response.status_code == 302 and response["Location"].startswith(reverse("exceptions:bulk-job", args=[job.pk]))
    waiting = client.get(response["Location"]).content.decode()
    assert "0 / 3" in waiting and "waiting for a worker" in waiting and 'http-equiv="refresh"' in waiting

    bulk.bulk_job_run(job_id=job.pk)

    done = client.get(response["Location"]).content.decode()
    assert "3 / 3" in done and "3 changed" in done and 'http-equiv="refresh"' not in done
    assert done.count(">changed<") == 3
    fragment = client.get(reverse("exceptions:bulk-job", args=[job.pk]) + "?compact=1", HTTP_HX_REQUEST="true",
                          HTTP_HX_TARGET="bulk-status")
    assert fragment["HX-Trigger"] == "exceptionsBulkApplied"  # the list refreshes itself once the job is done
    assert fragment.content.decode().lstrip().startswith('<div id="bulk-status"')
    assert set(SyncException.objects.values_list("assignee", flat=True)) == {cast.pricing_analyst.pk}


def test_it_answers_htmx_with_the_progress_fragment_that_polls_while_running(cast: Cast) -> None:
    items = pricing_items(2)
    response = web(cast.pricing_analyst).post(reverse("exceptions:bulk", args=["pricing"]),
                                              {"ids": [e.pk for e in items], "action": "snooze"},
                                              HTTP_HX_REQUEST="true", HTTP_HX_TARGET="bulk-status")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<progress id="bulk-progress" max="2" value="0"' in html
    assert 'hx-trigger="load delay:700ms"' in html and "compact=1" in html


def test_it_assigns_to_any_colleague_in_the_queue_and_refuses_someone_outside(cast: Cast, colleague,
                                                                              bulk_worker) -> None:
    items = pricing_items(2)
    client = web(cast.pricing_analyst)
    with bulk_worker():
        client.post(reverse("exceptions:bulk", args=["pricing"]),
                    {"ids": [e.pk for e in items], "action": "assign", "assignee": colleague.username})
    assert set(SyncException.objects.values_list("assignee", flat=True)) == {colleague.pk}
    assert BulkJob.objects.get().label == "Assign to pricing_colleague"

    with bulk_worker():
        client.post(reverse("exceptions:bulk", args=["pricing"]),
                    {"ids": [e.pk for e in items], "action": "assign", "assignee": cast.outsider.username})
    job = BulkJob.objects.order_by("-pk").first()
    assert job is not None and job.failed == 2
    assert "does not work the Pricing queue" in next(iter(job.results.values()))
    assert set(SyncException.objects.values_list("assignee", flat=True)) == {colleague.pk}

    response = client.post(reverse("exceptions:bulk", args=["pricing"]),
                           {"ids": [items[0].pk], "action": "assign", "assignee": "nobody-here"}, follow=True)
    assert "There is no active user called &#x27;nobody-here&#x27;." in response.content.decode()


def test_it_applies_a_bulk_action_to_everything_the_filter_matches_not_only_the_page(cast: Cast,
                                                                                    bulk_worker) -> None:
    acme = pricing_items(60, customer_name="Acme Corp")
    other = SyncExceptionFactory(type_code="pricing_mismatch", fingerprint="pricing_mismatch:other",
                                 customer_name="Globex")
    client = web(cast.pricing_analyst)
    page = client.get(reverse("exceptions:list", args=["pricing"]) + "?customer=acme")
    assert len(page.context["rows"]) == 50  # one page of the 60
    assert "all 60 matching" in page.content.decode()

    with bulk_worker():
        client.post(reverse("exceptions:bulk", args=["pricing"]),
                    {"scope": "filter", "query": "customer=acme", "action": "assign_me"})

    assert SyncException.objects.filter(pk__in=[e.pk for e in acme], assignee=cast.pricing_analyst).count() == 60
    assert SyncException.objects.get(pk=other.pk).assignee is None
    assert ExceptionEvent.objects.filter(kind="assign").count() == 60


def test_it_makes_a_double_submit_the_same_job_and_a_repeat_change_nothing(cast: Cast, bulk_worker) -> None:
    items = pricing_items(3)
    ids = [e.pk for e in items]
    client = web(cast.pricing_analyst)

    first = client.post(reverse("exceptions:bulk", args=["pricing"]), {"ids": ids, "action": "assign_me"})
    again = client.post(reverse("exceptions:bulk", args=["pricing"]), {"ids": list(reversed(ids)), "action": "assign_me"})
    assert first["Location"] == again["Location"] and BulkJob.objects.count() == 1
    bulk.bulk_job_run(job_id=BulkJob.objects.get().pk)

    with bulk_worker():
        client.post(reverse("exceptions:bulk", args=["pricing"]), {"ids": ids, "action": "assign_me"})
    repeat = BulkJob.objects.order_by("-pk").first()
    assert repeat is not None and (repeat.changed, repeat.unchanged) == (0, 3)
    assert ExceptionEvent.objects.filter(exception__in=ids, kind="assign").count() == 3


def test_it_lets_a_successor_finish_a_job_a_dead_worker_left_half_done(cast: Cast) -> None:
    items = pricing_items(3)
    job = bulk.bulk_job_start(user=cast.pricing_analyst, queue=queue_ensure(slug="pricing"),
                              ids=[e.pk for e in items], action="assign_me")
    # A worker claimed it, did the first item, and died: its lease ran out.
    bulk.bulk_item(exception=items[0], user=cast.pricing_analyst, action="assign_me")
    BulkJob.objects.filter(pk=job.pk).update(status="running", results={str(items[0].pk): "changed"},
                                             lease_until=timezone.now() - timedelta(seconds=1),
                                             created_at=timezone.now() - timedelta(minutes=5))

    assert bulk.bulk_jobs_due() == [job.pk]
    finished = bulk.bulk_job_run(job_id=job.pk)

    assert finished is not None and finished.status == "done" and finished.changed == 3
    assert ExceptionEvent.objects.filter(kind="assign").count() == 3  # the first item was not redone
    assert bulk.bulk_jobs_due() == []
    assert bulk.bulk_job_run(job_id=job.pk) is None  # a late duplicate message does nothing


def test_it_keeps_a_running_job_from_a_second_worker(cast: Cast) -> None:
    items = pricing_items(1)
    job = bulk.bulk_job_start(user=cast.pricing_analyst, queue=None, ids=[items[0].pk], action="assign_me")
    assert bulk.bulk_job_claim(job_id=job.pk) is not None
    assert bulk.bulk_job_claim(job_id=job.pk) is None  # leased to the first


def test_it_refuses_an_empty_or_unknown_bulk_request_with_a_message(cast: Cast) -> None:
    client = web(cast.pricing_analyst)
    empty = client.post(reverse("exceptions:bulk", args=["pricing"]), {"action": "assign_me"}, follow=True)
    assert "Select at least one exception you may work." in empty.content.decode()
    items = pricing_items(1)
    unknown = client.post(reverse("exceptions:bulk", args=["pricing"]), {"ids": [items[0].pk], "action": "drop"},
                          follow=True)
    assert "Pick one of the bulk actions." in unknown.content.decode()
    assert BulkJob.objects.count() == 0


def test_it_shows_a_bulk_job_only_to_the_person_who_started_it(cast: Cast, colleague) -> None:
    items = pricing_items(1)
    job = bulk.bulk_job_start(user=cast.pricing_analyst, queue=queue_ensure(slug="pricing"), ids=[items[0].pk],
                              action="assign_me")
    url = reverse("exceptions:bulk-job", args=[job.pk])
    assert web(cast.pricing_analyst).get(url).status_code == 200
    assert web(colleague).get(url).status_code == 404
    assert web(cast.outsider).get(url).status_code == 404
    assert web(cast.admin).get(url).status_code == 200


def test_it_enforces_csrf_on_the_bulk_form(cast: Cast) -> None:
    items = pricing_items(1)
    response = web(cast.pricing_analyst, csrf=True).post(reverse("exceptions:bulk", args=["pricing"]),
                                                         {"ids": [items[0].pk], "action": "assign_me"})
    assert response.status_code == 403 and BulkJob.objects.count() == 0


def test_it_assigns_from_the_detail_screen_to_a_colleague_picked_from_the_queue(cast: Cast, colleague) -> None:
    item = pricing_items(1)[0]
    client = web(cast.pricing_analyst)
    detail = client.get(reverse("exceptions:detail", args=[item.pk])).content.decode()
    assert f'<option value="{colleague.username}"' in detail and "Pat Lee" in detail
    assert f'<option value="{cast.outsider.username}"' not in detail

    client.post(reverse("exceptions:assign", args=[item.pk]), {"assignee": colleague.username})
    item.refresh_from_db()
    assert item.assignee == colleague
    assert client.post(reverse("exceptions:assign", args=[item.pk]),
                       {"assignee": cast.outsider.username}).status_code == 404
    item.refresh_from_db()
    assert item.assignee == colleague


def test_it_bulk_assigns_through_the_api_to_a_named_colleague(cast: Cast, colleague) -> None:
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    items = pricing_items(2)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=cast.pricing_analyst)[0].key}")
    outcome = client.post("/api/v1/exceptions/bulk/", {"ids": [e.pk for e in items], "action": "assign",
                                                       "assignee": colleague.username}, format="json")
    assert outcome.json() == {"changed": 2, "unchanged": 0, "failed": 0}
    missing = client.post("/api/v1/exceptions/bulk/", {"ids": [items[0].pk], "action": "assign"}, format="json")
    assert missing.status_code == 400 and missing.json()["detail"] == "Pick whom to assign to."


def test_it_starts_a_bulk_job_through_the_api_and_reports_its_progress(cast: Cast, colleague, bulk_worker) -> None:
    from rest_framework.test import APIClient

    acme = pricing_items(3, customer_name="Acme Corp")
    pricing_items(1, customer_name="Globex")  # not matched by the filter
    client = APIClient()
    client.force_authenticate(cast.pricing_analyst)
    with bulk_worker():
        started = client.post("/api/v1/bulk-jobs/", {"queue": "pricing", "filter": "customer=acme", "action": "assign",
                                                     "assignee": colleague.username}, format="json")
    assert started.status_code == 202 and started.json()["total"] == 3
    job = client.get(f"/api/v1/bulk-jobs/{started.json()['id']}/").json()
    assert (job["status"], job["processed"], job["changed"]) == ("done", 3, 3)
    assert job["results"] == {str(e.pk): "changed" for e in acme}

    other = APIClient()
    other.force_authenticate(colleague)
    assert other.get(f"/api/v1/bulk-jobs/{job['id']}/").status_code == 404  # another person's job
    outsider = APIClient()
    outsider.force_authenticate(cast.outsider)
    assert outsider.post("/api/v1/bulk-jobs/", {"queue": "pricing", "ids": [acme[0].pk], "action": "assign_me"},
                         format="json").status_code == 404
    empty = client.post("/api/v1/bulk-jobs/", {"queue": "pricing", "action": "assign_me"}, format="json")
    assert empty.status_code == 400 and empty.json() == {"non_field_errors": ["Send the ids, or a filter."]}


def test_it_never_sends_anyone_off_site_after_a_bulk_action(cast: Cast) -> None:
    items = pricing_items(1)
    client = web(cast.pricing_analyst)
    response = client.post(reverse("exceptions:bulk", args=["pricing"]),
                           {"ids": [items[0].pk], "action": "assign_me", "next": "//evil.example/phish"})
    page = client.get(response["Location"]).content.decode()
    assert "evil.example" not in page and 'href="/triage/q/pricing/"' in page
