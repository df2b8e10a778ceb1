"""The operations dashboard (`/dashboard/`), the list of deals behind each of its numbers, and
`/metrics` for Prometheus.

The screen and its drill-down are for integration users (staff and queue members, like the
handoff API); anyone else signed in gets 404. `/metrics` takes no session: it is off (404) until
HUB_METRICS_TOKEN is set, then wants that token as a bearer token.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from exceptions.screens import screen_template
from integration_hub.dashboard import DEFAULT_DAYS, PERIODS, Dashboard, dashboard_get, segment_filters
from integration_hub.http import AuthenticatedHttpRequest
from integration_hub.metrics import metrics_registry
from integration_hub.selectors import handoff_list, user_is_integration_user

DEALS_SHOWN = 200


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days") or DEFAULT_DAYS)
    except ValueError:
        return DEFAULT_DAYS
    return days if days in PERIODS else DEFAULT_DAYS


def chart_data(board: Dashboard) -> dict[str, Any]:
    """What the charts draw (read by static/dashboard/dashboard.js from a json_script tag)."""
    return {
        "weeks": [week.isoformat() for week in board.weeks],
        "charts": [
            {"key": m.key, "label": m.label, "unit": m.unit, "target": m.target,
             "series": [{"label": s.label, "values": s.values} for s in m.series]}
            for m in board.metrics if m.series
        ],
    }


@login_required
@require_GET
def dashboard(request: AuthenticatedHttpRequest) -> HttpResponse:
    board = dashboard_get(user=request.user, days=_days(request))
    if board is None:
        raise Http404
    context = {"board": board, "charts": chart_data(board), "periods": PERIODS}
    return render(request, screen_template(request, "dashboard/dashboard.html", "dashboard"), context)


@login_required
@require_GET
def deals(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The handoffs behind one number of the dashboard (a segment of its period)."""
    if not user_is_integration_user(user=request.user):
        raise Http404
    days = _days(request)
    found = segment_filters(request.GET.get("segment", ""), days=days)
    if found is None:
        raise Http404
    title, filters = found
    qs = handoff_list(user=request.user, **filters)
    total = qs.count()
    context = {"title": title, "rows": list(qs[:DEALS_SHOWN]), "total": total, "shown": DEALS_SHOWN, "days": days}
    return render(request, "dashboard/deals.html", context)


def _bearer(request: HttpRequest) -> str:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    token = settings.HUB_METRICS_TOKEN
    if not token:
        raise Http404
    if not hmac.compare_digest(_bearer(request).encode(), token.encode()):
        response = HttpResponse("a bearer token is required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return HttpResponse(generate_latest(metrics_registry()), content_type=CONTENT_TYPE_LATEST)


