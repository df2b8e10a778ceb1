"""The dashboard's numbers on a small known set of deals: each metric, its breakdowns, its
weekly trend, revenue at risk and the API budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from exceptions.models import ExceptionStatus, Queue
from integration_hub.dashboard import api_budget, dashboard_get, quarter_end, revenue_at_risk
from integration_hub.models import HandoffStatus
from tests.dashboard.seed import attempt_at, exception_on, handoff_at

pytestmark = pytest.mark.django_db

S = HandoffStatus


@pytest.fixture
def known(cast):
    """Five deals in the last 7 days and one older; see each test for what they add up to."""
    now = timezone.now()
    day = timedelta(days=1)
    deals = {
        # ordered untouched, 30 s: automated
        "auto": handoff_at(now - day, S.WRITTEN_BACK, ordered_after=30, confidences=[0.98] * 4),
        # a pricing mismatch a person resolved, ordered in 90 s
        "priced": handoff_at(now - 2 * day, S.WRITTEN_BACK, ordered_after=90, confidences=[0.95, 0.85],
                             exceptions=[{"type_code": "pricing_mismatch"}]),
        # a person approved it, ordered in 300 s
        "approved": handoff_at(now - 2 * day, S.CREATED, ordered_after=300, actor=cast.approver,
                               confidences=[0.99, 0.99]),
        # still blocked on an unmapped product
        "blocked": handoff_at(now - 3 * day, S.BLOCKED, confidences=[0.5],
                              exceptions=[{"type_code": "product_not_mapped", "status": ExceptionStatus.OPEN,
                                           "amount": 1000}]),
        "cancelled": handoff_at(now - 3 * day, S.CANCELLED),
        # outside the 7 days: automated, 10 s
        "old": handoff_at(now - 20 * day, S.WRITTEN_BACK, ordered_after=10, confidences=[0.7]),
    }
    return deals


def metrics(board):
    return {m.key: m for m in board.metrics}


def test_it_computes_each_metric_on_a_known_set(known, cast):
    board = dashboard_get(user=cast.integration_ops, days=7)
    m = metrics(board)
    assert board.handoffs == 5
    # finished: auto, priced, approved, cancelled; only `auto` needed nobody.
    assert (m["automation_rate"].numerator, m["automation_rate"].denominator) == (1, 4)
    assert m["automation_rate"].value == pytest.approx(0.25)
    assert m["automation_rate"].met is False
    # priced (exception), approved (a person), blocked (exception) out of 5 received.
    assert m["manual_rate"].value == pytest.approx(3 / 5)
    assert m["price_variance"].value == pytest.approx(1 / 5)
    # 9 fields, 7 at or above 0.90; 2 data exceptions (pricing, product) → 1 − 2/9.
    assert (m["confidence"].numerator, m["confidence"].denominator) == (7, 9)
    assert m["data_accuracy"].value == pytest.approx(1 - 2 / 9)
    # 30, 90, 300 s: nearest-rank p95 is 300 s (missed), p50 90 s.
    assert m["order_latency"].value == pytest.approx(300)
    assert m["order_latency"].met is False
    assert "p50 1.5 min" not in m["order_latency"].detail and "p50 90.0 s" in m["order_latency"].detail
    assert m["three_way_match"].value is None and m["three_way_match"].available is False


def test_it_meets_targets_on_the_side_each_one_wants(known, cast):
    board = dashboard_get(user=cast.integration_ops, days=30)
    m = metrics(board)
    # With `old` in the window: 2 automated of 5 finished, still missed; latency p95 still 300 s.
    assert m["automation_rate"].numerator == 2
    m["manual_rate"].value = 0.1
    assert m["manual_rate"].met is True  # below 15 % is good
    m["confidence"].value = 0.96
    assert m["confidence"].met is True  # above 95 % is good


def test_it_breaks_manual_work_down_per_queue_and_type(known, cast):
    m = metrics(dashboard_get(user=cast.integration_ops, days=7))
    by_queue, by_type = m["manual_rate"].breakdowns
    assert {(r.label, r.count) for r in by_queue.rows} == {("Pricing", 1), ("Product ops", 1)}
    assert {(r.label, r.count) for r in by_type.rows} == {("Pricing mismatch", 1), ("Product not mapped", 1)}
    # Integration ops may not view the pricing queue: no link; staff get the triage list filtered.
    assert all(r.url == "" for r in by_type.rows)
    admin_rows = metrics(dashboard_get(user=cast.admin, days=7))["manual_rate"].breakdowns[1].rows
    assert {r.url for r in admin_rows} == {"/triage/q/pricing/?type=pricing_mismatch",
                                           "/triage/q/product-ops/?type=product_not_mapped"}
    fields = m["confidence"].breakdowns[0].rows
    # The least confident field first: line 1 was 0.98, 0.85 and 0.99 (line 0 had 3 of 4).
    assert (fields[0].label, fields[0].share) == ("transaction.line_item[1].material", pytest.approx(2 / 3))
    assert (fields[1].label, fields[1].share) == ("transaction.line_item[0].material", pytest.approx(3 / 4))


def test_it_draws_the_weekly_trend_per_week_received(known, cast):
    board = dashboard_get(user=cast.integration_ops, days=7)
    m = metrics(board)
    old_week = timezone.localtime(known["old"].created_at).date()
    index = max(i for i, week in enumerate(board.weeks) if week <= old_week)
    assert len(board.weeks) == 12
    assert m["automation_rate"].series[0].values[index] == pytest.approx(1.0)
    p50, p95 = m["order_latency"].series
    assert p95.values[index] == pytest.approx(10)
    # A week without deals has no value rather than a zero.
    assert m["automation_rate"].series[0].values[0] is None
    assert m["order_latency"].trend[index] == (board.weeks[index], [pytest.approx(10), pytest.approx(10)])


def test_it_shows_the_dashboard_to_integration_users_only(known, cast):
    assert dashboard_get(user=cast.outsider) is None
    assert dashboard_get(user=cast.approver) is None
    assert dashboard_get(user=cast.admin) is not None


# -- revenue at risk --------------------------------------------------------------------------------
WEDNESDAY_NOON = datetime(2025, 6, 11, 12, 0, tzinfo=UTC)


def test_it_ranks_revenue_at_risk_by_amount_weighted_by_sla_used(cast):
    now = WEDNESDAY_NOON
    Queue.objects.filter(slug__in=["pricing", "product-ops"]).update(sla_hours=4)
    big = handoff_at(now - timedelta(hours=2), S.BLOCKED)
    # 1 business hour of 4 used (the newer second exception on the same deal does not count twice).
    exception_on(big, type_code="pricing_mismatch", status=ExceptionStatus.OPEN, amount=100_000,
                 first_seen=now - timedelta(hours=1))
    exception_on(big, n=1, type_code="pricing_mismatch", status=ExceptionStatus.OPEN, amount=100_000,
                 first_seen=now - timedelta(minutes=30))
    late = handoff_at(now - timedelta(days=2), S.BLOCKED)
    exception_on(late, type_code="product_not_mapped", status=ExceptionStatus.OPEN, amount=40_000,
                 first_seen=now - timedelta(days=1))  # past its SLA: weight 1
    euro = handoff_at(now - timedelta(hours=3), S.BLOCKED)
    exception_on(euro, type_code="credit_check_failed", status=ExceptionStatus.OPEN, amount=5_000, currency="EUR",
                 first_seen=now - timedelta(hours=2))
    # Neither a finding after the fact nor a resolved exception holds a deal.
    exception_on(handoff_at(now, S.WRITTEN_BACK), type_code="crm_update_rejected", status=ExceptionStatus.OPEN,
                 amount=999_999)
    exception_on(handoff_at(now, S.WRITTEN_BACK), type_code="pricing_mismatch", amount=999_999)

    revenue = revenue_at_risk(user=cast.admin, now=now)
    currencies = dict(revenue.currencies)
    assert list(currencies) == ["USD", "EUR"]
    usd = currencies["USD"]
    assert [r.queue.slug for r in usd] == ["product-ops", "pricing"]  # less money, but all of its SLA used
    product, pricing = usd
    assert (product.deals, product.amount, product.weighted, product.breached) == (1, Decimal(40_000),
                                                                                   Decimal(40_000), 1)
    assert (pricing.deals, pricing.amount, pricing.weighted) == (1, Decimal(100_000), Decimal(25_000))
    assert pricing.sla_used_max == pytest.approx(0.25)
    assert currencies["EUR"][0].amount == Decimal(5_000)
    assert (revenue.quarter_end, revenue.days_to_quarter_end) == (date(2025, 6, 30), 19)


def test_it_counts_sla_in_business_hours(cast):
    saturday = datetime(2025, 6, 14, 12, 0, tzinfo=UTC)
    deal = handoff_at(saturday - timedelta(hours=30), S.BLOCKED)
    # Friday 15:00 → Saturday noon: 2 business hours of the default Mon–Fri 09–17 calendar.
    exception_on(deal, type_code="pricing_mismatch", status=ExceptionStatus.OPEN, amount=1_000,
                 first_seen=datetime(2025, 6, 13, 15, 0, tzinfo=UTC))
    Queue.objects.filter(slug="pricing").update(sla_hours=8)
    (row,) = dict(revenue_at_risk(user=cast.admin, now=saturday).currencies)["USD"]
    assert row.sla_used_max == pytest.approx(0.25)
    assert row.weighted == Decimal("250.00")


def test_it_knows_each_quarter_end():
    assert quarter_end(date(2025, 1, 1)) == date(2025, 3, 31)
    assert quarter_end(date(2025, 11, 30)) == date(2025, 12, 31)
    assert quarter_end(date(2025, 9, 30)) == date(2025, 9, 30)


# -- API budget -------------------------------------------------------------------------------------
def test_it_reads_the_salesforce_allowance_from_the_newest_stored_header():
    now = timezone.now()
    sf = "https://acme.my.salesforce.com/services/data/v59.0/query"
    attempt_at(now - timedelta(days=1), system="salesforce", url=sf, headers={"Sforce-Limit-Info": "api-usage=120/15000"})
    attempt_at(now - timedelta(hours=1), system="salesforce", url=sf, headers={"sforce-limit-info": "api-usage=130/20000"})
    # The newest answer was a transport error without headers: the one before it still counts.
    attempt_at(now, system="salesforce", url=sf, ok=False, error_class="ServiceUnavailable")
    budget = api_budget(now=now)
    assert (budget.allowance, budget.org_used) == (20_000, 130)
    today = budget.salesforce_days[-1]
    assert today.day == timezone.localtime(now).date()
    assert sum(d.calls for d in budget.salesforce_days) == 3
    assert sum(d.errors for d in budget.salesforce_days) == 1
    assert len(budget.salesforce_days) == 14


def test_it_counts_sap_calls_per_odata_service():
    now = timezone.now()
    root = "https://my123456-api.s4hana.cloud.sap/sap/opu/odata/sap/"
    attempt_at(now, system="sap", url=f"{root}API_SALES_ORDER_SRV/A_SalesOrder")
    attempt_at(now, system="sap", url=f"{root}API_SALES_ORDER_SRV/A_SalesOrder('1')", ok=False)
    attempt_at(now, system="sap", url=f"{root}API_SALES_ORDER_SIMULATION_SRV/A_SalesOrderSimulation")
    attempt_at(now, system="sap", url=f"{root}API_BUSINESS_PARTNER/A_BusinessPartner?$filter=x")
    attempt_at(now, system="sap", url="https://elsewhere.example/odata/Z_CUSTOM/Thing")
    attempt_at(now - timedelta(days=20), system="sap", url=f"{root}API_SALES_ORDER_SRV/A_SalesOrder")
    budget = api_budget(now=now)
    today = budget.sap_days[-1]
    assert today.calls == {"API_SALES_ORDER_SRV": 2, "API_SALES_ORDER_SIMULATION_SRV": 1, "API_BUSINESS_PARTNER": 1,
                           "API_PRODUCT_SRV": 0, "API_SLSPRICINGCONDITIONRECORD_SRV": 0,
                           "API_CRDTMBUSINESSPARTNER": 0, "API_OPLACCTGDOCITEMCUBE_SRV": 0,
                           "API_BILLING_DOCUMENT_SRV": 0, "API_OUTBOUND_DELIVERY_SRV": 0,
                           "API_PURCHASEORDER_PROCESS_SRV": 0, "API_MATERIAL_DOCUMENT_SRV": 0,
                           "API_SUPPLIERINVOICE_PROCESS_SRV": 0, "other": 1}
    assert (today.total, today.errors) == (5, 1)
    assert budget.sap_services == ["API_SALES_ORDER_SRV", "API_SALES_ORDER_SIMULATION_SRV", "API_BUSINESS_PARTNER",
                                   "other"]
    assert budget.allowance is None
