"""Approval screens: the queue, one approval with its context, and the decision form."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from approvals.forms import DecisionForm
from approvals.models import Approval, RiskLevel
from approvals.selectors import approval_events, approval_history, approval_list, approvals_visible
from approvals.services import ApprovalError, approval_decide, approval_release, approval_rerun
from integration_hub.errors import HubError
from integration_hub.http import AuthenticatedHttpRequest
from integration_hub.security import security_denied


def _visible(request: AuthenticatedHttpRequest, pk: int) -> Approval:
    try:
        return approvals_visible(request.user).get(pk=pk)
    except Approval.DoesNotExist as exc:
        if Approval.objects.filter(pk=pk).exists():  # someone else's: worth a security line
            security_denied(request, f"approval {pk} is not assigned or delegated to the user")
        raise Http404("no such approval") from exc


def _owns(request: AuthenticatedHttpRequest, approval: Approval) -> bool:
    risk = getattr(approval.handoff, "risk", None)
    email = (getattr(request.user, "email", "") or "").strip().lower()
    return bool(risk and email and risk.deal_owner_email.strip().lower() == email)


@never_cache
@login_required
@require_GET
def approval_queue(request: AuthenticatedHttpRequest) -> HttpResponse:
    status = request.GET.get("status", "open")
    level = request.GET.get("level", "")
    approvals = approval_list(request.user, status=status, level=level)
    context = {"approvals": approvals, "status": status, "level": level, "levels": RiskLevel.choices,
               "counts": {"open": approval_list(request.user, status="open").count(),
                          "decided": approval_list(request.user, status="decided").count()}}
    template = "approvals/approval_queue.html"
    if request.htmx:
        template += "#queue-table"
    return render(request, template, context)


def _detail_context(request: AuthenticatedHttpRequest, approval: Approval, form: DecisionForm | None = None) -> dict[str, object]:
    risk = getattr(approval.handoff, "risk", None)
    skip = {"aging", "lines", "exceptions"}
    factors = [{**f, "evidence_items": [(k.replace("_", " "), v) for k, v in f["evidence"].items()
                                        if k not in skip and v not in (None, "", [])]}
               for f in (risk.factors if risk else [])]
    return {"approval": approval, "risk": risk, "factors": factors, "deal": approval.handoff.canonical, "deal_currency": str((approval.handoff.canonical or {}).get("currency") or ""),
            "history": approval_history(approval), "events": approval_events(approval),
            "form": form or DecisionForm(), "owns": _owns(request, approval)}


# The regions of the detail that ask for themselves again after a decision (`approvalDecided`).
DETAIL_PARTIALS = {"approval-kpis"}


@never_cache
@login_required
@require_GET
def approval_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    approval = _visible(request, pk)
    template = "approvals/approval_detail.html"
    if request.htmx and request.htmx.target in DETAIL_PARTIALS:
        template += f"#{request.htmx.target}"
    return render(request, template, _detail_context(request, approval))


@login_required
@require_POST
def approval_decision(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    approval = _visible(request, pk)
    form = DecisionForm(request.POST)
    error = ""
    if form.is_valid():
        action, note = form.cleaned_data["action"], form.cleaned_data["note"]
        try:
            if action == "release":
                approval_release(approval=approval, actor=request.user)
            else:
                approval_decide(approval=approval, actor=request.user, action=action, note=note)
        except Approval.DoesNotExist as exc:
            raise Http404("no such approval") from exc
        except (ApprovalError, HubError) as exc:
            error = str(exc)
    else:
        error = "choose a decision"
    approval = _visible(request, pk)
    status = 403 if error and _owns(request, approval) else 400 if error else 200
    if request.htmx:
        context = _detail_context(request, approval, form if error else None)
        context["error"] = error
        # A refusal (400) comes back as the form with its message: static/hub.js swaps it in place.
        response = render(request, "approvals/approval_detail.html#decision", context, status=status)
        add_never_cache_headers(response)
        if not error:
            response["HX-Trigger"] = "approvalDecided"
        return response
    if error:
        messages.error(request, error)
    else:
        messages.success(request, f"{approval.get_status_display()}: {approval.customer_name}")
    return redirect("approvals:detail", pk=pk) if error else redirect("approvals:queue")


@login_required
@require_POST
def approval_rerun_view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    approval = _visible(request, pk)
    try:
        approval_rerun(approval=approval, actor=request.user)
        messages.success(request, "Sent back to validation; it will be scored again.")
    except ApprovalError as exc:
        messages.error(request, str(exc))
    return redirect("approvals:detail", pk=pk)
