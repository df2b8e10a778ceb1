"""Working the list: resolve and next with undo, snooze until a condition, and root-cause
groups worked as one unit (one shared action, with a preview of what it will do).

Reads go through the permission-scoped selectors (an exception outside the user's queues is a
404); writes through the services in exceptions.undo, exceptions.snooze and exceptions.groups.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers
from django.utils.dateparse import parse_datetime
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from exceptions.errors import ExceptionNotOpen, ResolutionError
from exceptions.groups import group_apply, group_members, group_preview
from exceptions.models import ExceptionStatus, ExceptionType, SyncException
from exceptions.permissions import queue_has_perm, queues_for
from exceptions.resolution import PATHS
from exceptions.screens import screen_counts_changed, screen_render, screen_sidebar
from exceptions.selectors import customer_candidates, exception_list, product_suggestions
from exceptions.snooze import exception_snooze_until
from exceptions.undo import resolution_schedule, resolution_undo, undo_seconds
from integration_hub.http import AuthenticatedHttpRequest
from integration_hub.security import security_denied


def _workable(request: AuthenticatedHttpRequest, pk: int) -> SyncException:
    """The exception if the user may work its queue; 404 otherwise (never confirm it exists)."""
    exception = exception_list(user=request.user).filter(pk=pk).first()
    if exception is None or not queue_has_perm(user=request.user, queue=exception.queue, perm="work"):
        if SyncException.objects.filter(pk=pk).exists():
            security_denied(request, f"exception {pk}: outside the queues the user may work")
        raise Http404("no such exception")
    return exception


def _back(request: AuthenticatedHttpRequest, exception: SyncException) -> str:
    url = request.POST.get("next", "")
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
        return url
    return reverse("exceptions:list", args=[exception.queue.slug])


def _toast(request: AuthenticatedHttpRequest, context: dict[str, Any], *, event: str = "",
           status: int = 200) -> HttpResponse:
    response = screen_render(request, "exceptions/_undo_toast.html", None, context, status=status)
    if event:
        response["HX-Trigger"] = event
    return response


@login_required
@require_POST
def resolve_later_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Resolve and next: the resolution is held for the undo window, then applied (and the deal
    re-run). htmx gets the undo toast and `exceptionResolved` (rows and counts refresh)."""
    exception = _workable(request, pk)
    path = request.POST.get("path", "")
    try:
        pending = resolution_schedule(exception=exception, actor=request.user, path=path,
                                      data={k: v for k, v in request.POST.items()
                                            if k not in ("csrfmiddlewaretoken", "path", "next")})
    except (ResolutionError, ExceptionNotOpen, PermissionDenied) as error:
        if request.htmx:
            return _toast(request, {"exception": exception, "error": str(error)}, status=422)
        messages.error(request, f"#{exception.pk}: {error}")
        return redirect(_back(request, exception))
    label = PATHS[path][0]
    if request.htmx:
        return _toast(request, {"exception": exception, "pending": pending, "label": label,
                                "seconds": f"{undo_seconds():g}"}, event="exceptionResolved")
    messages.success(request, f"#{exception.pk} {exception.title}: {label} in {undo_seconds():g} s "
                              "(Undo on its row until then).")
    return redirect(_back(request, exception))


@login_required
@require_POST
def undo_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    exception = _workable(request, pk)
    undone = resolution_undo(exception=exception, actor=request.user)
    text = (f"Undone: #{exception.pk} stays open." if undone
            else f"Too late to undo #{exception.pk}: the resolution was already applied.")
    if request.htmx:
        return _toast(request, {"exception": exception, "undone": undone, "text": text}, event="resolutionUndone")
    (messages.success if undone else messages.warning)(request, text)
    return redirect(_back(request, exception))


def _until(raw: str) -> datetime | None:
    """A `datetime-local` value (the browser's, no zone) in the site's zone; None when not one."""
    try:
        parsed = parse_datetime((raw or "").strip())
    except ValueError:
        return None
    if parsed is None:
        return None
    return timezone.make_aware(parsed) if timezone.is_naive(parsed) else parsed


@login_required
@require_POST
def snooze_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Snooze until a condition holds (or a time comes); refused input is said on the page."""
    exception = _workable(request, pk)
    condition = request.POST.get("condition", "")
    until = _until(request.POST.get("until", "")) if condition == "time" else None
    try:
        exception_snooze_until(exception=exception, actor=request.user, condition=condition, until=until)
    except (ResolutionError, ExceptionNotOpen) as error:
        messages.error(request, f"Not snoozed: {error}.")
        return redirect("exceptions:detail", pk=exception.pk)
    screen_counts_changed()
    messages.success(request, f"Snoozed #{exception.pk}: it checks itself again when the condition holds.")
    return redirect(_back(request, exception) if request.POST.get("next") else
                    reverse("exceptions:list", args=[exception.queue.slug]))


def _variance(raw: str) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and Decimal(0) <= value <= Decimal(100) else None


@login_required
@require_http_methods(["GET", "POST"])
def group_view(request: AuthenticatedHttpRequest, slug: str) -> HttpResponse:
    """A root cause as one unit of work: its deals, the action they share (if any), a preview of
    what it will do (GET with the inputs, or a refused POST), and the action itself (POST)."""
    queue = get_object_or_404(queues_for(user=request.user, perm="view"), slug=slug)
    fingerprint = (request.GET.get("cause") or request.POST.get("cause") or "")[:255]
    members = group_members(user=request.user, queue=queue, fingerprint=fingerprint)
    if not members:
        messages.info(request, "That root cause has no open exceptions left in this queue.")
        return redirect("exceptions:list", slug=queue.slug)
    first = members[0]
    can_work = queue_has_perm(user=request.user, queue=queue, perm="work")
    source = request.POST if request.method == "POST" else request.GET
    inputs = {"sap_material": (source.get("sap_material") or "").strip()[:40],
              "business_partner": (source.get("business_partner") or "").strip()[:10],
              "max_variance": (source.get("max_variance") or "").strip()[:12]}
    error = ""
    preview = None
    status = 200
    asked = any(inputs.values())
    if asked:
        try:
            preview = group_preview(members=members, sap_material=inputs["sap_material"],
                                    business_partner=inputs["business_partner"],
                                    max_variance=_variance(inputs["max_variance"]) if inputs["max_variance"] else None,
                                    variance_given=bool(inputs["max_variance"]))
        except ResolutionError as refused:
            error, status = str(refused), 422
    if request.method == "POST" and preview is not None and not error:
        if not can_work:
            raise Http404("no such queue")
        try:
            done = group_apply(preview=preview, actor=request.user)
        except (ResolutionError, ExceptionNotOpen, PermissionDenied) as refused:
            error, status = str(refused), 422
        else:
            screen_counts_changed()
            messages.success(request, done)
            return redirect("exceptions:list", slug=queue.slug)
    elif request.method == "POST" and not error:
        error, status = "Say what to apply first (the preview shows what it will do).", 422
    context = {
        "queue": queue, "fingerprint": fingerprint, "members": members, "count": len(members),
        "handoffs": len({m.handoff_id for m in members}), "first": first, "type_code": first.type_code,
        "label": first.get_type_code_display(), "inputs": inputs, "preview": preview, "error": error,
        "can_work": can_work, "sidebar": screen_sidebar(request),
        "suggestions": product_suggestions(exception=first) if first.type_code == ExceptionType.PRODUCT_NOT_MAPPED else [],
        "candidates": customer_candidates(exception=first) if first.type_code == ExceptionType.CUSTOMER_NOT_FOUND else [],
        "list_url": f"{reverse('exceptions:list', args=[queue.slug])}?{urlencode({'cause': fingerprint})}",
        "open": ExceptionStatus.OPEN,
    }
    response = screen_render(request, "exceptions/group.html", None, context, status=status)
    add_never_cache_headers(response)
    return response
