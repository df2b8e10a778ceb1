"""The dashboard screen, its drill-down, its JSON API and `/metrics`: who may see them and what
they show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from exceptions.models import ExceptionStatus
from integration_hub.models import ErpStatusWrite, HandoffStatus
from tests.dashboard.seed import attempt_at, handoff_at
from tests.web.test_pages import PRODUCTION_ENV, _settings_probe

pytestmark = pytest.mark.django_db

S = HandoffStatus


@pytest.fixture
def deals(cast):
    now = timezone.now()
    return {
        "auto": handoff_at(now - timedelta(days=1), S.WRITTEN_BACK, ordered_after=20, confidences=[0.99]),
        "blocked": handoff_at(now - timedelta(days=1), S.BLOCKED, confidences=[0.4],
                              exceptions=[{"type_code": "pricing_mismatch", "status": ExceptionStatus.OPEN,
                                           "amount": 12_000}]),
    }


def test_it_sends_anonymous_visitors_to_sign_in(client):
    for url in ("/dashboard/", "/dashboard/deals/?segment=manual"):
        response = client.get(url)
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_it_hides_the_dashboard_from_the_outsider(client, cast):
    client.force_login(cast.outsider)
    assert client.get("/dashboard/").status_code == 404
    assert client.get("/dashboard/deals/?segment=manual").status_code == 404


def test_it_shows_every_metric_with_its_target_in_words(client, cast, deals):
    client.force_login(cast.integration_ops)
    response = client.get("/dashboard/")
    assert response.status_code == 200
    html = response.content.decode()
    for label in ("Handoff automation rate", "Field-level data accuracy", "Closed-won → SAP order latency",
                  "Manual intervention rate", "3-way match auto rate", "Price variance exceptions",
                  "Fields with confidence ≥ 0.90", "Revenue at risk", "API budget"):
        assert label in html
    assert "Target met" in html and "Target missed" in html and "Not measured yet" in html
    assert "nothing on this page is cached" in html
    assert 'id="dashboard-charts"' in html and "<canvas" in html
    assert "<script>" not in html  # data comes as json_script, code from a static file
    # The nav links here.
    assert 'href="/dashboard/"' in html


def test_it_renders_only_the_dashboard_partial_for_htmx(client, cast, deals):
    client.force_login(cast.integration_ops)
    response = client.get("/dashboard/?days=30", HTTP_HX_REQUEST="true", HTTP_HX_TARGET="dashboard")
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dashboard"')
    assert "last 30 days" in html


def test_it_drills_down_to_the_deals_behind_a_number(client, cast, deals):
    client.force_login(cast.integration_ops)
    html = client.get("/dashboard/").content.decode()
    assert 'href="/dashboard/deals/?segment=automated&amp;days=7"' in html
    automated = client.get("/dashboard/deals/?segment=automated&days=7").content.decode()
    assert deals["auto"].opportunity_id in automated and deals["blocked"].opportunity_id not in automated
    manual = client.get("/dashboard/deals/?segment=manual&days=7").content.decode()
    assert deals["blocked"].opportunity_id in manual and deals["auto"].opportunity_id not in manual
    assert "Pricing mismatch" in manual  # its open exception, linked to triage
    assert client.get("/dashboard/deals/?segment=nonsense").status_code == 404


def test_it_answers_the_same_numbers_as_json(cast, deals):
    api = APIClient()
    assert api.get("/api/v1/dashboard/").status_code == 401
    api.force_authenticate(cast.outsider)
    assert api.get("/api/v1/dashboard/").status_code == 403
    api.force_authenticate(cast.integration_ops)
    body = api.get("/api/v1/dashboard/?days=7").json()
    by_key = {m["key"]: m for m in body["metrics"]}
    assert set(by_key) == {"automation_rate", "data_accuracy", "order_latency", "manual_rate", "three_way_match",
                           "price_variance", "confidence"}
    assert by_key["automation_rate"]["value"] == 1.0 and by_key["automation_rate"]["met"] is True
    assert by_key["manual_rate"]["value"] == 0.5 and by_key["manual_rate"]["met"] is False
    assert by_key["three_way_match"]["value"] is None and by_key["three_way_match"]["available"] is False
    assert len(body["weeks"]) == 12 and len(by_key["order_latency"]["series"]) == 2
    (usd,) = body["revenue"]["currencies"]
    assert usd["currency"] == "USD" and usd["queues"][0]["queue"] == "pricing"
    assert usd["queues"][0]["amount"] == "12000.00"
    assert len(body["budget"]["salesforce_days"]) == 14


# -- /metrics ----------------------------------------------------------------------------------------
def test_it_keeps_metrics_off_without_a_token(client, settings):
    settings.HUB_METRICS_TOKEN = ""
    assert client.get("/metrics").status_code == 404


def test_it_refuses_metrics_without_the_right_bearer_token(client, settings, cast):
    settings.HUB_METRICS_TOKEN = "s3cret-scrape"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Basic s3cret-scrape").status_code == 401
    client.force_login(cast.admin)  # a session is no substitute for the token
    assert client.get("/metrics").status_code == 401


def test_it_reports_metrics_from_the_database(client, settings, deals):
    settings.HUB_METRICS_TOKEN = "s3cret-scrape"
    attempt_at(timezone.now(), system="sap", url="https://x/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder",
               ok=False, error_class="ServiceUnavailable")
    write = ErpStatusWrite.objects.create(handoff=deals["auto"], kind="deal", record_id=deals["auto"].opportunity_id)
    ErpStatusWrite.objects.filter(pk=write.pk).update(erp_changed_at=write.created_at - timedelta(seconds=45))
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-scrape")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    text = response.content.decode()
    assert 'hub_handoffs{status="written_back"} 1.0' in text
    assert 'hub_handoffs{status="blocked"} 1.0' in text
    assert 'hub_closed_won_to_order_seconds_bucket{le="30"} 1.0' in text
    assert 'hub_closed_won_to_order_seconds_bucket{le="15"} 0.0' in text
    assert "hub_closed_won_to_order_seconds_count 1.0" in text
    assert "hub_closed_won_to_order_seconds_sum 20.0" in text
    assert 'hub_erp_event_to_crm_seconds_bucket{le="30"} 0.0' in text
    assert 'hub_erp_event_to_crm_seconds_bucket{le="60"} 1.0' in text
    assert "hub_erp_event_to_crm_seconds_sum 45.0" in text
    assert 'hub_open_exceptions{queue="pricing",type="pricing_mismatch"} 1.0' in text
    assert 'hub_external_calls_total{system="sap"} 1.0' in text
    assert 'hub_external_call_errors_total{error_class="ServiceUnavailable",system="sap"} 1.0' in text
    assert 'hub_celery_queue_depth{broker="redis",queue="celery"}' in text
    assert 'hub_celery_broker_up{broker="redis"} 1.0' in text


def test_it_refuses_the_placeholder_metrics_token_in_production(tmp_path):
    placeholder = _settings_probe("import integration_hub.settings",
                                  {**PRODUCTION_ENV, "HUB_METRICS_TOKEN": "change-me"}, tmp_path)
    assert placeholder.returncode != 0
    assert "HUB_METRICS_TOKEN" in placeholder.stderr.strip().splitlines()[-1]
    real = _settings_probe("import integration_hub.settings",
                           {**PRODUCTION_ENV, "HUB_METRICS_TOKEN": "a-long-random-scrape-token"}, tmp_path)
    assert real.returncode == 0, real.stderr
