from __future__ import annotations

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.templatetags.static import static
from django.utils import timezone
from django.views import defaults
from django.views.decorators.http import require_GET, require_http_methods

from approvals.selectors import approval_list
from exceptions.models import CATALOGUE, RECONCILIATION_TYPES
from exceptions.permissions import queues_for
from exceptions.selectors import my_work
from integration_hub.dashboard import DEFAULT_DAYS, dashboard_get
from integration_hub.errors import TraceNotFound, TraceQueryInvalid
from integration_hub.forms import ReconciliationRunForm
from integration_hub.http import AuthenticatedHttpRequest
from integration_hub.models import RECONCILIATION_ACTIVE
from integration_hub.ports import DEFAULT_ERP_TARGET
from integration_hub.selectors import (
    health_metrics,
    reconciliation_run_list,
    user_is_integration_user,
    user_may_reconcile,
)
from integration_hub.services import reconciliation_run_request
from integration_hub.trace import HELP, trace_for


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """The health of the handoff: DESIGN.md's metrics against their targets, and the open work."""
    metrics = health_metrics() if user_is_integration_user(user=request.user) else None
    # The same numbers as the dashboard's headline (a home-page view of them, without the trends).
    board = dashboard_get(user=request.user, days=DEFAULT_DAYS) if metrics is not None else None
    # Every queue's count is shown, but only a queue the person may open is a link (the rest
    # would be a 404 for them).
    viewable = set(queues_for(user=request.user, perm="view").values_list("slug", flat=True))
    # Land on my work: the queues the person works and the approvals waiting on them come first.
    approvals = approval_list(request.user, status="open") if request.user.is_authenticated else None
    context = {"metrics": metrics, "board": board, "viewable_queues": viewable,
               "my_queues": my_work(user=request.user), "now": timezone.now(),
               "approvals_open": approvals.count() if approvals is not None else 0,
               "approvals_overdue": approvals.filter(due_at__lt=timezone.now()).count() if approvals is not None else 0,
               "approvals_next": list(approvals[:5]) if approvals is not None else []}
    return render(request, "home.html", context)


@require_GET
def favicon(request: HttpRequest) -> HttpResponse:
    """Browsers ask for /favicon.ico whatever the page's <link rel="icon"> says."""
    return redirect(static("favicon.svg"), permanent=True)


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness for load balancers: the database answers or we say so."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any database failure means unhealthy
        return JsonResponse({"ok": False, "database": str(exc.__class__.__name__)}, status=503)
    return JsonResponse({"ok": True})


@login_required
@require_http_methods(["GET", "POST"])
def reconciliation_runs(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The latest reconciliation runs with their findings per type; POST starts one (staff and
    integration ops only, like the API; anyone else gets 404)."""
    if not user_may_reconcile(user=request.user):
        raise Http404
    form = ReconciliationRunForm(request.POST if request.method == "POST" else None)
    if form.is_bound and form.is_valid():
        reconciliation_run_request(days=form.window_days(), erp_target=DEFAULT_ERP_TARGET,
                                   actor=request.user, via="screen")
        if not request.htmx:
            return redirect("reconciliation:runs")
    runs = reconciliation_run_list(user=request.user)
    # The table's own heading says "reconciliation": the columns need only the finding.
    types = [(code, CATALOGUE[code].label.removeprefix("Reconciliation: ").capitalize())
             for code in sorted(RECONCILIATION_TYPES)]
    context = {"runs": runs, "types": types, "form": form,
               "days": form.data.get("days") if form.errors else settings.HUB_RECONCILIATION_DAYS,
               "active": any(run.status in RECONCILIATION_ACTIVE for run in runs)}
    template = "reconciliation/runs.html"
    if form.errors:
        # A refused window is said in place, with what was typed kept; nothing was started.
        if not request.htmx:
            return render(request, template, context, status=422)
        response = render(request, template + "#reconciliation-form", context)
        response["HX-Retarget"] = "#reconciliation-form"
        response["HX-Reswap"] = "outerHTML"
        return response
    if request.htmx:
        template += "#reconciliation-form" if request.htmx.target == "reconciliation-form" else "#reconciliation-runs"
    response = render(request, template, context)
    if request.method == "POST":
        response["HX-Trigger"] = "reconciliationRequested"
    return response


@login_required
@require_GET
def trace(request: AuthenticatedHttpRequest) -> HttpResponse:
    """One deal's journey across Salesforce, the hub and SAP, for any business key (`?q=`).

    A bad key answers 400 and an unknown one 404, each with the message in place of the trace;
    an empty search is the blank form. htmx searches swap only the result."""
    query = request.GET.get("q", "")
    context: dict[str, object] = {"q": query, "help": HELP, "bodies": request.GET.get("bodies") == "1"}
    status = 200
    if query.strip():
        try:
            context["trace"] = trace_for(user=request.user, query=query, bodies=context["bodies"] is True)
        except TraceQueryInvalid as error:
            context["error"], status = error.message, 400
        except TraceNotFound as error:
            context["error"], status = error.message, 404
    template = "trace/trace.html"
    if request.htmx and request.htmx.target == "trace-result":
        template += "#trace-result"
    return render(request, template, context, status=status)


# -- error pages: the API answers JSON even where Django, not DRF, refuses the request ------------
API_PREFIX = "/api/"


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """404 for a URL no route matches (`/api/v1/queues/no such queue/`, an id of `-1` where the
    route takes digits): JSON under /api/, like every other API answer; the usual page elsewhere."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """400 Django raises before any view (a form body past DATA_UPLOAD_MAX_NUMBER_FIELDS, a bad
    Host): JSON under /api/, saying what to change."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": f"The request was refused before it reached the API: {exception or 'malformed'}. "
                                       "Send fewer fields, or a JSON body."}, status=400)
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": str(exception) or "You may not do this."}, status=403)
    return defaults.permission_denied(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    """500: JSON under /api/ (a client parses it; the error is logged with its traceback)."""
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "The hub failed to answer this request; the error is logged."}, status=500)
    return defaults.server_error(request)
