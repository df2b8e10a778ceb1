from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from integration_hub.selectors import health_metrics, user_is_integration_user


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The health of the handoff: DESIGN.md's metrics against their targets, and the open work."""
    metrics = health_metrics() if user_is_integration_user(user=request.user) else None
    return render(request, "home.html", {"metrics": metrics})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers or we say so."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"ok": False, "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"ok": True})
