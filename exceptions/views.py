"""Triage screens. Function views; htmx requests get the named partial of the same template.

Every view scopes reads with the permission-aware selectors, so an exception outside the
user's queues is a 404, never a 403 that would confirm it exists.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from crosswalks.suggestions import auto_map_threshold
from exceptions.bulk import BULK_ACTIONS, BULK_LIMIT, bulk_ids_for_filter, bulk_job_start
from exceptions.errors import BulkError, ExceptionNotOpen, InvalidCursor, ResolutionError
from exceptions.escalation import exception_deadlines
from exceptions.forms import CommentForm, FilterForm, TagsForm
from exceptions.models import (
    CATALOGUE,
    BulkJob,
    BulkJobStatus,
    ExceptionStatus,
    ExceptionType,
    Queue,
    SavedFilter,
    SyncException,
)
from exceptions.permissions import can_be_assigned, queue_has_perm, queue_workers, queues_for
from exceptions.resolution import (
    PATHS,
    PATHS_BY_TYPE,
    exception_resolve_path,
    root_cause_group,
)
from exceptions.screens import (
    BADGE_SECONDS,
    screen_cache_key,
    screen_counts_changed,
    screen_render,
    screen_sidebar,
)
from exceptions.selectors import (
    SORTS,
    customer_candidates,
    exception_list,
    exception_page,
    payment_terms_choices,
    pending_due,
    product_suggestions,
    root_causes,
    sla_cutoffs,
    sla_state,
    sla_used,
)
from exceptions.selectors import (
    queue_overview as overview_stats,
)
from exceptions.services import (
    exception_assign,
    exception_comment,
    exception_tags_set,
    exception_unwait,
    exception_wait,
    saved_filter_delete,
    saved_filter_save,
)
from exceptions.snooze import next_monday_nine, snooze_conditions_for
from exceptions.undo import QUICK_PATHS, undo_seconds
from integration_hub.breaker import breakers_list
from integration_hub.http import AuthenticatedHttpRequest
from integration_hub.models import HandoffStatus
from integration_hub.security import security_denied

PAGE_SIZE = 50
# While the handoff is in one of these, the detail page polls to show the outcome live.
IN_FLIGHT = {HandoffStatus.RECEIVED, HandoffStatus.VALIDATING, HandoffStatus.READY, HandoffStatus.CREATING,
             HandoffStatus.CREATED}
TOTAL_CAP = 10_000


def _root_causes(request: AuthenticatedHttpRequest, queue: Queue) -> list[dict[str, Any]]:
    key = screen_cache_key("causes", request.user.pk, queue.pk)
    causes = cache.get(key)
    if causes is None:
        causes = root_causes(user=request.user, queue=queue)
        cache.set(key, causes, BADGE_SECONDS)
    return list(causes)


def _capped_total(qs: Any) -> tuple[int, bool]:
    """How many match, counting no further than TOTAL_CAP (a bounded count stays fast at 1M rows)."""
    total = qs.order_by()[: TOTAL_CAP + 1].count()
    return min(total, TOTAL_CAP), total > TOTAL_CAP


def _visible_exception(request: AuthenticatedHttpRequest, pk: int, *, work: bool = False) -> SyncException:
    try:
        exception = get_object_or_404(exception_list(user=request.user), pk=pk)
    except Http404:
        if SyncException.objects.filter(pk=pk).exists():  # someone else's: worth a security line
            security_denied(request, f"exception {pk} is outside the user's queues")
        raise
    if work and not queue_has_perm(user=request.user, queue=exception.queue, perm="work"):
        security_denied(request, f"exception {pk}: may view queue {exception.queue.slug} but not work it")
        raise Http404("no such exception")
    return exception


def _done(request: AuthenticatedHttpRequest, exception: SyncException, event: str, message: str) -> HttpResponse:
    screen_counts_changed()
    if request.htmx:
        response = _detail(request, exception.pk)
        response["HX-Trigger"] = event
        return response
    messages.success(request, message)
    return redirect("exceptions:detail", pk=exception.pk)


def _refused(request: AuthenticatedHttpRequest, exception: SyncException, error: str,
             *, comment_form: CommentForm | None = None) -> HttpResponse:
    """The detail again, with `error` said in place and what the person typed kept: 422 with or
    without htmx (static/hub.js swaps a 422 into its target like a 200, app-wide)."""
    return _detail(request, exception.pk, error=error, comment_form=comment_form)


@never_cache
@login_required
@require_GET
def queue_overview(request: AuthenticatedHttpRequest) -> HttpResponse:
    stats = overview_stats(user=request.user)
    context = {
        "stats": stats,
        "sidebar": screen_sidebar(request),
        "totals": {
            "open": sum(s.open for s in stats),
            "breached": sum(s.breached for s in stats),
            "at_risk": sum(s.at_risk for s in stats),
            "mine": exception_list(user=request.user, status=ExceptionStatus.OPEN, assignee="me").count(),
        },
        "causes": root_causes(user=request.user, limit=6),
        "breakers": breakers_list(tripped_only=True),
        "now": timezone.now(),
    }
    return screen_render(request, "exceptions/queue_overview.html", "overview", context)


@never_cache
@login_required
@require_GET
def queue_sidebar(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The sidebar alone: it asks for itself after a resolution (`exceptionResolved`)."""
    sidebar = screen_sidebar(request)
    slug = request.GET.get("queue", "")
    queue = next((q for q in sidebar if q.slug == slug), None)
    return screen_render(request, "exceptions/_sidebar.html", None, {"sidebar": sidebar, "queue": queue})


@never_cache
@login_required
@require_GET
def queue_list(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    queue = get_object_or_404(queues_for(user=request.user, perm="view"), slug=slug)
    params = request.GET.copy()
    if "status" not in params:
        params["status"] = ExceptionStatus.OPEN
    form = FilterForm(params)
    status = 200
    cursor_error = ""
    filters = form.filters()
    qs = exception_list(user=request.user, queue=queue,
                        include_snoozed=request.GET.get("snoozed") == "1", **filters)
    if not form.is_valid():
        # The form shows what is wrong by its field; listing everything instead would look like
        # an answer to the filter the person typed.
        qs = qs.none()
    try:
        page = exception_page(qs, sort=request.GET.get("sort") or "priority", cursor=request.GET.get("after", ""),
                              size=PAGE_SIZE)
    except InvalidCursor as error:
        cursor_error, status = str(error), 400
        page = exception_page(qs.none())
    now = timezone.now()
    cutoffs = sla_cutoffs(queue, now=now)
    pending = pending_due(exception_ids=[r.pk for r in page.rows])
    for row in page.rows:
        row.sla = sla_state(row, cutoffs=cutoffs)  # type: ignore[attr-defined]
        row.sla_used = sla_used(queue, row.first_seen, now=now, cutoffs=cutoffs) if row.is_open else 0  # type: ignore[attr-defined]
        row.pending_due = pending.get(row.pk)  # type: ignore[attr-defined]
        quick = QUICK_PATHS.get(row.type_code)
        row.quick = (quick, QUICK_LABELS.get(quick, "")) if quick and row.is_open else None  # type: ignore[attr-defined]
    keep = {k: v for k, v in params.items() if k != "after" and v}
    total, capped = _capped_total(qs)
    # What resolving one of a root cause does depends on its type (the catalogue says which).
    cause_type = qs.values_list("type_code", flat=True).first() if filters["fingerprint"] else None
    cause_entry = CATALOGUE.get(cause_type) if cause_type else None
    context = {
        "queue": queue,
        "form": form,
        "page": page,
        "rows": page.rows,
        "total": total,
        "total_capped": capped,
        "query": urlencode(keep),
        "next_url": f"?{urlencode({**keep, 'after': page.next_cursor})}" if page.next_cursor else "",
        "sidebar": screen_sidebar(request),
        "causes": _root_causes(request, queue),
        "cause_group_resolves": cause_entry.group_resolves if cause_entry else False,
        "saved_filters": SavedFilter.objects.filter(user=request.user, queue=queue),
        "current_query": urlencode([(k, v) for k, v in request.GET.items() if k != "after" and v]),
        "can_work": queue_has_perm(user=request.user, queue=queue, perm="work"),
        "can_administer": queue_has_perm(user=request.user, queue=queue, perm="administer"),
        "bulk_actions": BULK_ACTIONS,
        "bulk_limit": BULK_LIMIT,
        "refresh_seconds": f"{settings.HUB_TRIAGE_REFRESH_SECONDS:g}",
        "now": now,
        "filter_errors": form.error_summary(),
        "cursor_error": cursor_error,
        "sort_links": sort_links(keep, page.sort),
        "undo_seconds": f"{undo_seconds():g}",
    }
    if not request.htmx:  # the rows' refresh needs no pickers
        context["workers"] = list(queue_workers(queue=queue))
    return screen_render(request, "exceptions/queue_list.html", "exception-rows", context, status=status)


# The list's sortable columns: column → the sort its header asks for first (numbers largest first,
# names A–Z); a second click on the active column reverses it.
SORT_COLUMNS = {"priority": "priority", "amount": "amount", "variance": "variance", "exposure": "exposure",
                "customer": "customer", "product": "product", "age": "oldest", "assignee": "assignee"}
QUICK_LABELS = {"accept_sap": "Accept SAP", "release": "Release", "retry": "Retry"}


def sort_links(keep: dict[str, Any], current: str) -> dict[str, dict[str, str]]:
    """Per column: the URL its header links to and whether (and which way) it sorts the list now."""
    links = {}
    base = {k: v for k, v in keep.items() if k != "sort"}
    for column, sort in SORT_COLUMNS.items():
        active = current.removeprefix("-") == sort
        target = f"-{sort}" if active and not current.startswith("-") else sort
        state = ("descending" if SORTS[sort][1][0][1] != current.startswith("-") else "ascending") if active else ""
        links[column] = {"url": "?" + urlencode({**base, "sort": target}), "state": state}
    return links


def _deal(exception: SyncException) -> dict[str, Any]:
    canonical = (exception.handoff.canonical or {}) if exception.handoff is not None else {}
    return {
        "name": canonical.get("name", ""),
        "amount": canonical.get("amount"),
        "currency": canonical.get("currency", ""),
        "stage": canonical.get("stage", ""),
        "closed": canonical.get("closed_date", ""),
        "organization": canonical.get("organization") or {},
        "ship_to": canonical.get("ship_to") or {},
        "lines": canonical.get("lines") or [],
        "payment_terms": canonical.get("payment_terms") or canonical.get("payment_terms_crm") or "",
        "confidence": sorted((canonical.get("confidence") or {}).items()),
    }


def _price_lines(evidence: dict[str, Any], lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The deal's lines with Salesforce and SAP side by side: each CRM line beside the SAP items of
    the materials it maps to (the simulation prices every line), the one the variance is about first."""
    sap = {str(c.get("material") or ""): c for c in evidence.get("sap_conditions") or []}
    focus = str(evidence.get("product_code") or "").lower()
    rows = []
    for line in lines:
        items = [sap[m["material"]] for m in line.get("materials") or [] if m.get("material") in sap]
        try:
            crm_net = Decimal(str(line.get("total_price")))
            sap_net = sum((Decimal(str(i.get("net_amount"))) for i in items), Decimal(0)) if items else None
            qty = Decimal(str(line.get("quantity")))
        except ArithmeticError:
            crm_net = sap_net = qty = None  # type: ignore[assignment]
        variance = (((crm_net - sap_net) / sap_net * 100).quantize(Decimal("0.01"))
                    if crm_net is not None and sap_net else None)
        rows.append({"product_code": line.get("product_code", ""), "description": line.get("description", ""),
                     "quantity": line.get("quantity", ""), "crm_unit": line.get("unit_price"), "crm_net": crm_net,
                     "discount": line.get("discount_percent"), "sap_items": items, "sap_net": sap_net,
                     "sap_unit": (sap_net / qty).quantize(Decimal("0.01")) if sap_net is not None and qty else None,
                     "variance": variance, "focus": str(line.get("product_code") or "").lower() == focus})
    return sorted(rows, key=lambda r: not r["focus"])


@login_required
@require_GET
def exception_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _detail(request, pk)


def _detail(request: AuthenticatedHttpRequest, pk: int, *, error: str = "",
            comment_form: CommentForm | None = None) -> HttpResponse:
    # Undecorated: htmx POSTs answer with the detail's partial, which require_GET would refuse.
    exception = _visible_exception(request, pk)
    handoff = exception.handoff
    paths = [(p, PATHS[p][0]) for p in PATHS_BY_TYPE.get(exception.type_code, ())]
    can_work = queue_has_perm(user=request.user, queue=exception.queue, perm="work")
    context = {
        "exception": exception,
        "handoff": handoff,
        "deal": _deal(exception),
        "price_lines": (_price_lines(exception.evidence or {}, (exception.deal.canonical or {}).get("lines") or [])
                        if exception.type_code == ExceptionType.PRICING_MISMATCH else []),
        "evidence": exception.evidence or {},
        "ev_currency": str((exception.evidence or {}).get("currency") or exception.currency or ""),
        "paths": paths,
        "path_names": [p for p, _ in paths],
        "suggestions": product_suggestions(exception=exception) if exception.type_code == "product_not_mapped" else [],
        "candidates": customer_candidates(exception=exception) if exception.type_code == "customer_not_found" else [],
        "customer_threshold": auto_map_threshold("account"),
        "product_threshold": auto_map_threshold("product"),
        "terms": payment_terms_choices() if exception.type_code == "missing_required_field" else [],
        "events": list(exception.events.select_related("actor").order_by("-created_at", "-pk")),
        # A vendor invoice's exception (accounts payable) has no deal: its invoice panel links there.
        "handoff_events": list(handoff.events.select_related("actor").order_by("-created_at", "-pk")[:20])
        if handoff else [],
        "transformations": list(handoff.transformations.order_by("pk")[:200]) if handoff else [],
        "attempts": list(handoff.sync_attempts.order_by("-created_at", "-pk")[:20]) if handoff else [],
        "group": list(root_cause_group(exception=exception).exclude(pk=exception.pk).select_related("handoff")[:20]),
        "others": list((handoff.exceptions if handoff else exception.vendor_invoice.exceptions)  # type: ignore[union-attr]
                       .exclude(pk=exception.pk).select_related("queue")),
        "can_work": can_work,
        "workers": list(queue_workers(queue=exception.queue)) if can_work else [],
        "in_flight": handoff is not None and handoff.status in IN_FLIGHT,
        "invoice": exception.vendor_invoice,
        "sla": sla_state(exception),
        "deadlines": exception_deadlines(exception) if exception.is_open else [],
        "comment_form": comment_form or CommentForm(),
        "tags_form": TagsForm(initial={"tags": ", ".join(exception.tags or [])}),
        "sidebar": screen_sidebar(request),
        "error": error,
        "snooze_conditions": snooze_conditions_for(exception) if can_work and exception.is_open else [],
        "snooze_default": next_monday_nine(),
    }
    # After a refused resolution, the values the person typed go back into the form.
    context["posted"] = request.POST if context["error"] else {}
    context["posted_material"] = request.POST.getlist("sap_material[]")[:1] if context["error"] else []
    response = screen_render(request, "exceptions/exception_detail.html",
                             "deal-status,exception-work,exception-status", context,
                             status=422 if error or (comment_form is not None and comment_form.errors) else 200)
    # The page shows live state: Back after a resolution must ask again, not show it open.
    add_never_cache_headers(response)
    return response


@login_required
@require_POST
def exception_assign_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk, work=True)
    who = request.POST.get("assignee", "me")
    assignee = None
    if who == "me":
        assignee = request.user
    elif who:
        assignee = (get_user_model().objects.filter(pk=who).first() if who.isdigit() else None) or \
            get_user_model().objects.filter(username=who).first()
    if assignee is not None and not can_be_assigned(user=assignee, queue=exception.queue):
        raise Http404("no such assignee in this queue")
    exception_assign(exception=exception, assignee=assignee, actor=request.user)
    if request.htmx and request.POST.get("from") == "list":
        return HttpResponse(status=204, headers={"HX-Trigger": "exceptionAssigned"})
    return _done(request, exception, "exceptionAssigned", f"Assigned to {assignee or 'nobody'}.")


@login_required
@require_POST
def exception_comment_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk, work=True)
    form = CommentForm(request.POST)
    if not form.is_valid():
        # Said beside the comment box, with the text kept so nothing typed is lost.
        return _refused(request, exception, "", comment_form=form)
    exception_comment(exception=exception, actor=request.user, body=form.cleaned_data["body"])
    return _done(request, exception, "exceptionCommented", "Comment added.")


@login_required
@require_POST
def exception_tags_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk, work=True)
    exception_tags_set(exception=exception, actor=request.user, tags=request.POST.get("tags", ""))
    return _done(request, exception, "exceptionTagged", "Tags saved.")


@login_required
@require_POST
def exception_wait_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Start or end "waiting on someone outside" (pauses the escalation timers)."""
    exception = _visible_exception(request, pk, work=True)
    try:
        if request.POST.get("waiting") == "0":
            exception_unwait(exception=exception, actor=request.user)
            return _done(request, exception, "exceptionWaitEnded", "Timers resumed.")
        exception_wait(exception=exception, actor=request.user,
                       on=request.POST.get("on", ""))
    except ExceptionNotOpen as error:
        return _refused(request, exception, str(error))
    return _done(request, exception, "exceptionWaiting", "Waiting on someone outside: timers paused.")


def resolution_data(post: Any) -> dict[str, Any]:
    """Form fields → the data a resolution path takes (components come as parallel lists)."""
    data: dict[str, Any] = {k: post.get(k) for k in post if not k.endswith("[]")}
    materials = post.getlist("sap_material[]") if hasattr(post, "getlist") else []
    factors = post.getlist("quantity_factor[]") if hasattr(post, "getlist") else []
    if materials:
        data["components"] = [
            {"sap_material": m.strip(), "quantity_factor": (factors[i] if i < len(factors) else "") or "1"}
            for i, m in enumerate(materials) if m.strip()
        ]
    return data


@login_required
@require_POST
def exception_resolve_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    exception = _visible_exception(request, pk, work=True)
    path = request.POST.get("path", "")
    try:
        exception_resolve_path(exception=exception, actor=request.user, path=path,
                               data=resolution_data(request.POST))
    except (ResolutionError, ExceptionNotOpen, PermissionDenied) as error:
        # Shown in place, with what the person typed kept in the form.
        return _refused(request, exception, str(error))
    return _done(request, exception, "exceptionResolved", f"{PATHS[path][0]}: done. The deal is re-running.")


@login_required
@require_POST
def queue_bulk(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Start one bulk action on the ticked exceptions, or on everything the list's filter matches.

    A worker applies it item by item; the answer is the job's progress (polled by htmx, a page
    that refreshes itself without JS)."""
    queue = get_object_or_404(queues_for(user=request.user, perm="work"), slug=slug)
    back = _local_url(request, request.POST.get("next", ""), reverse("exceptions:list", args=[queue.slug]))
    action = request.POST.get("action", "")
    try:
        if request.POST.get("scope") == "filter":
            ids = bulk_ids_for_filter(user=request.user, queue=queue, query=request.POST.get("query", ""))
        else:
            # Ticked boxes carry ids the list rendered; anything else ("²", 2**64) is no exception's.
            ids = [int(i) for i in request.POST.getlist("ids") if i.isascii() and i.isdigit() and int(i) < 2**63]
        job = bulk_job_start(user=request.user, queue=queue, ids=ids, action=action,
                             assignee=request.POST.get("assignee", ""))
    except BulkError as error:
        if request.htmx:
            return screen_render(request, "exceptions/bulk_job.html", "bulk-status", {"error": str(error)})
        messages.error(request, str(error))
        return redirect(back)
    if request.htmx:
        return screen_render(request, "exceptions/bulk_job.html", "bulk-status", {"job": job, "back": back})
    return redirect(f"{reverse('exceptions:bulk-job', args=[job.pk])}?{urlencode({'next': back})}")


@login_required
@require_GET
def bulk_job_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A bulk job's progress: item by item, with what happened to each. Only its author sees it."""
    jobs = BulkJob.objects.select_related("queue")
    if not request.user.is_staff:
        jobs = jobs.filter(actor=request.user)
    job = get_object_or_404(jobs, pk=pk)
    context = {
        "job": job,
        "back": _local_url(request, request.GET.get("next", ""), reverse("exceptions:list", args=[job.queue.slug])
                           if job.queue else reverse("exceptions:queues")),
        "items": [] if request.GET.get("compact") else _job_items(request, job),
        "sidebar": screen_sidebar(request),
    }
    response = screen_render(request, "exceptions/bulk_job.html", "bulk-status", context)
    if request.htmx and job.status == BulkJobStatus.DONE:
        screen_counts_changed()
        response["HX-Trigger"] = "exceptionsBulkApplied"
    return response


def _local_url(request: AuthenticatedHttpRequest, url: str, default: str) -> str:
    """`url` if it stays on this site (a "next" parameter must not send anyone elsewhere)."""
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return default


def _job_items(request: AuthenticatedHttpRequest, job: BulkJob) -> list[dict[str, Any]]:
    # Titles only of what the person may still see; the rest by number.
    titles = dict(exception_list(user=request.user).filter(pk__in=job.ids[:500]).values_list("pk", "title"))
    return [{"pk": pk, "title": titles.get(pk, f"#{pk}"), "outcome": job.results.get(str(pk), "")}
            for pk in job.ids[:500]]


@login_required
@require_POST
def saved_filter_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """Save the list's current filter under a name, or delete one of the user's saved filters."""
    queue = get_object_or_404(queues_for(user=request.user, perm="view"), slug=slug)
    url = reverse("exceptions:list", args=[queue.slug])
    if request.POST.get("delete", "").isdigit():
        saved_filter_delete(user=request.user, pk=int(request.POST["delete"]))
        return redirect(url)
    try:
        saved = saved_filter_save(user=request.user, queue=queue, name=request.POST.get("name", ""),
                                  query=request.POST.get("query", ""))
    except ValueError as error:
        messages.error(request, str(error))
        return redirect(url)
    messages.success(request, f"Saved filter '{saved.name}'.")
    return redirect(f"{url}?{saved.query}" if saved.query else url)
