"""The crosswalk workbench: browse, edit (with SAP checks and an unblock preview), history, CSV, suggestions.

Every write is two steps: the first POST checks the values against SAP (outside any transaction)
and shows what the save would unblock; the second (`confirm=1`) checks again and saves through
the services, which resolve what the save fixes and re-run those deals.
"""

from __future__ import annotations

import json
from datetime import datetime, time
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crosswalks import suggestions as suggest
from crosswalks.csvio import export_csv, import_apply, import_plan
from crosswalks.errors import ImportRejected
from crosswalks.models import ChangeChannel, CrosswalkChange, MappingSource
from crosswalks.permissions import can_edit, can_read_history, editable_tables
from crosswalks.sap_lookup import SapLookup
from crosswalks.selectors import change_list, handoff_statuses, row_as_of, stale_alerts, unblock_preview
from crosswalks.services import (
    crosswalk_change_revert,
    crosswalk_row_check,
    crosswalk_row_delete,
    crosswalk_row_write,
)
from crosswalks.tables import TABLES, Table, table_get
from integration_hub.http import AuthenticatedHttpRequest
from integration_hub.models import HandoffStatus
from integration_hub.security import security_denied

SETTLED = {HandoffStatus.BLOCKED, HandoffStatus.WRITTEN_BACK, HandoffStatus.CREATED, HandoffStatus.FAILED,
           HandoffStatus.CANCELLED, HandoffStatus.AWAITING_APPROVAL}


def _require_editor(request: AuthenticatedHttpRequest, table: Table) -> None:
    if not can_edit(request.user, table):
        raise PermissionDenied(f"You may read {table.label} but not change it.")


def _template(request: AuthenticatedHttpRequest, name: str, partial: str) -> str:
    return f"{name}#{partial}" if request.htmx else name


PAGE_SIZE = 100


def _context(request: AuthenticatedHttpRequest, table: Table, **extra: Any) -> dict[str, Any]:
    q = request.GET.get("q", "").strip()
    page = Paginator(table.filtered(q), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    return {
        "table": table,
        "tables": TABLES.values(),
        "q": q,
        "page": page,
        "rows": [(obj, snap, table.row_key(snap)) for obj, snap in ((o, table.snapshot(o)) for o in rows)],
        "can_edit": can_edit(request.user, table),
        "can_read_history": can_read_history(request.user, table),
        "editable": editable_tables(request.user),
        "alerts": stale_alerts(),
        **extra,
    }


@login_required
@require_GET
def workbench(request: AuthenticatedHttpRequest, table: str = "products") -> HttpResponse:
    spec = table_get(table)
    extra: dict[str, Any] = {}
    edit = request.GET.get("edit")
    if edit and can_edit(request.user, spec):
        obj = get_object_or_404(spec.model, pk=edit) if edit != "new" else None
        extra["form"] = {"pk": obj.pk if obj else "", "values": spec.snapshot(obj) if obj else {}, "errors": {}}
    watch = [int(i) for i in request.GET.get("watch", "").split(",") if i.isdigit()]
    if watch:
        extra["watched"] = handoff_statuses(watch)
        extra["watch_ids"] = ",".join(map(str, watch))
    if request.htmx and request.GET.get("partial") == "editor":
        return render(request, "crosswalks/workbench.html#editor", _context(request, spec, **extra))
    return render(request, _template(request, "crosswalks/workbench.html", "rows"), _context(request, spec, **extra))


def _errors(error: ValidationError) -> dict[str, str]:
    return {k: " ".join(v) for k, v in error.message_dict.items()}


def _status(request: AuthenticatedHttpRequest, status: int) -> int:
    # htmx 2 does not swap 4xx answers: the errors must come back as 200 to be shown in place.
    return 200 if request.htmx else status


def _editor(request: AuthenticatedHttpRequest, spec: Table, status: int = 200, **form: Any) -> HttpResponse:
    context = _context(request, spec, form=form)
    if request.htmx:
        return render(request, "crosswalks/workbench.html#editor", context)
    return render(request, "crosswalks/workbench.html", context, status=status)


@login_required
@require_POST
def row_save(request: AuthenticatedHttpRequest, table: str) -> HttpResponse:
    spec = table_get(table)
    _require_editor(request, spec)
    raw = {c.name: request.POST.get(c.name, "") for c in spec.columns}
    pk = request.POST.get("pk") or ""
    instance = get_object_or_404(spec.model, pk=pk) if pk else None
    reason = request.POST.get("reason", "").strip()
    try:
        checked = crosswalk_row_check(table=spec, raw=raw)  # SAP, before any transaction
    except ValidationError as error:
        return _editor(request, spec, status=422, pk=pk, values=raw, errors=_errors(error), reason=reason)
    before = spec.snapshot(instance) if instance else None
    if request.POST.get("confirm") != "1":
        preview = unblock_preview(table=spec.slug, rows=[checked.values], changed=[checked.values] if before else None)
        return _editor(request, spec, pk=pk, values=raw, errors={}, reason=reason, preview=preview,
                       before=before, after=spec.values_snapshot(checked.values), confirming=True)
    try:
        saved = crosswalk_row_write(row=checked, actor=request.user, channel=ChangeChannel.UI, reason=reason,
                                    instance=instance)
    except ValidationError as error:
        return _editor(request, spec, status=422, pk=pk, values=raw, reason=reason, errors=_errors(error))
    return _saved(request, spec, f"Saved {spec.row_key(spec.snapshot(saved.row))}.", saved.unblocked.handoff_ids)


def _saved(request: AuthenticatedHttpRequest, spec: Table, message: str, handoff_ids: list[int]) -> HttpResponse:
    watch = ",".join(map(str, handoff_ids))
    if not request.htmx:
        messages.success(request, message)
        url = reverse("crosswalks:table", args=[spec.slug])
        return redirect(f"{url}?watch={watch}" if watch else url)
    context = _context(request, spec, saved=message, watched=handoff_statuses(handoff_ids), watch_ids=watch)
    response = render(request, "crosswalks/workbench.html#editor", context)
    response["HX-Trigger"] = json.dumps({"crosswalkSaved": {"table": spec.slug}})
    return response


@login_required
@require_http_methods(["GET", "POST"])
def row_delete(request: AuthenticatedHttpRequest, table: str, pk: int) -> HttpResponse:
    """GET: what deleting the row would change (orders that used it, deals it would block); POST: delete."""
    spec = table_get(table)
    _require_editor(request, spec)
    obj = get_object_or_404(spec.model, pk=pk)
    snap = spec.snapshot(obj)
    key = spec.row_key(snap)
    if request.method == "GET":
        preview = unblock_preview(table=spec.slug, rows=[], changed=[snap])
        return render(request, "crosswalks/delete.html", {"table": spec, "obj": obj, "snap": snap, "key": key,
                                                          "preview": preview})
    crosswalk_row_delete(table=spec, instance=obj, actor=request.user, channel=ChangeChannel.UI,
                         reason=request.POST.get("reason", ""))
    return _saved(request, spec, f"Deleted {key}.", [])


@login_required
@require_GET
def watch(request: AuthenticatedHttpRequest) -> HttpResponse:
    ids = [int(i) for i in request.GET.get("ids", "").split(",") if i.isdigit()]
    handoffs = handoff_statuses(ids)
    return render(request, "crosswalks/workbench.html#watch", {"watched": handoffs, "watch_ids": ",".join(map(str, ids))})


# -- history ---------------------------------------------------------------------------------------
@login_required
@require_GET
def history(request: AuthenticatedHttpRequest, table: str) -> HttpResponse:
    spec = table_get(table)
    if not can_read_history(request.user, spec):
        security_denied(request, f"crosswalk history of {spec.slug}: not an editor of the table")
        raise Http404("no such history")
    key = request.GET.get("key", "")
    changes = list(change_list(table=spec.slug, row_key=key if key else None)[:200])
    as_of_text = request.GET.get("as_of", "").strip()
    as_of_row = None
    as_of = None
    if key and as_of_text:
        as_of = parse_datetime(as_of_text)
        if as_of is None and (day := parse_date(as_of_text)):
            as_of = datetime.combine(day, time.max)
        if as_of is not None and timezone.is_naive(as_of):
            as_of = timezone.make_aware(as_of)
        if as_of is not None:
            as_of_row = row_as_of(table=spec.slug, row_key=key, when=as_of)
    return render(request, "crosswalks/history.html", {
        "table": spec, "key": key, "changes": changes, "as_of": as_of_text, "as_of_row": as_of_row,
        "as_of_checked": as_of is not None, "can_edit": can_edit(request.user, spec),
        "columns": spec.column_names,
    })


@login_required
@require_POST
def change_revert(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    change = get_object_or_404(CrosswalkChange, pk=pk)
    spec = table_get(change.table)
    _require_editor(request, spec)
    try:
        saved = crosswalk_change_revert(change=change, actor=request.user, channel=ChangeChannel.UI,
                                        reason=request.POST.get("reason", ""))
        rerun = len(saved.rerun_handoffs) if saved else 0
        messages.success(request, f"Reverted {change.row_key} to before {change.created_at:%Y-%m-%d %H:%M}."
                         + (f" {rerun} blocked deal(s) re-run." if rerun else ""))
    except ValidationError as error:
        messages.error(request, f"Could not revert: {'; '.join(error.messages)}")
    return redirect(f"{reverse('crosswalks:history', args=[spec.slug])}?key={change.row_key}")


# -- CSV -------------------------------------------------------------------------------------------
@login_required
@require_GET
def csv_export(request: AuthenticatedHttpRequest, table: str) -> HttpResponse:
    spec = table_get(table)
    excel = request.GET.get("excel") == "1"
    body = export_csv(spec, spec.filtered(request.GET.get("q", "").strip()), excel=excel)
    response = HttpResponse(body.encode("utf-8"), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="crosswalk-{spec.slug}.csv"'
    return response


@login_required
def csv_import(request: AuthenticatedHttpRequest, table: str) -> HttpResponse:
    spec = table_get(table)
    context: dict[str, Any] = {"table": spec, "tables": TABLES.values(), "can_edit": can_edit(request.user, spec)}
    if request.method == "GET":
        return render(request, "crosswalks/import.html", context)
    if request.method != "POST":
        return HttpResponse(status=405)
    _require_editor(request, spec)
    upload = request.FILES.get("file")
    content: bytes | str = upload.read() if upload else request.POST.get("content", "")
    replace = request.POST.get("replace") == "1"
    plan = import_plan(spec, content, replace=replace, lookup=SapLookup(trust_cache=True))
    context.update(plan=plan, replace=replace)
    if plan.ok and request.POST.get("confirm") == "1" and not upload:
        try:
            imported = import_apply(plan=plan, actor=request.user, reason=request.POST.get("reason", ""))
        except ImportRejected as error:
            context["rejected"] = str(error)
            return render(request, _template(request, "crosswalks/import.html", "result"), context,
                          status=_status(request, 422))
        handoff_ids = imported.unblocked.handoff_ids
        context.update(imported=imported.counts, watched=handoff_statuses(handoff_ids),
                       watch_ids=",".join(map(str, handoff_ids)))
        response = render(request, _template(request, "crosswalks/import.html", "result"), context)
        response["HX-Trigger"] = json.dumps({"crosswalkSaved": {"table": spec.slug}})
        return response
    return render(request, _template(request, "crosswalks/import.html", "result"), context,
                  status=200 if plan.ok else _status(request, 422))


# -- suggestions -----------------------------------------------------------------------------------
@login_required
@require_GET
def suggestion_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return render(request, "crosswalks/suggestions.html", {
        "suggestions": suggest.suggestions(), "tables": TABLES.values(),
        "can_products": can_edit(request.user, TABLES["products"]),
        "can_customers": can_edit(request.user, TABLES["customers"]),
    })


@login_required
@require_POST
def suggestion_accept(request: AuthenticatedHttpRequest) -> HttpResponse:
    kind, key, value = request.POST.get("kind"), request.POST.get("key", ""), request.POST.get("value", "")
    name = request.POST.get("name", "")
    if kind == "product":
        spec = TABLES["products"]
        raw = {"crm_product_code": key, "crm_product_name": name, "materials": value, "confidence": "1"}
    elif kind == "account":
        spec = TABLES["customers"]
        raw = {"crm_account_id": key, "crm_account_name": name, "sap_business_partner": value, "confidence": "1"}
    else:
        return HttpResponse("unknown suggestion kind", status=400)
    _require_editor(request, spec)
    try:
        checked = crosswalk_row_check(table=spec, raw=raw)  # SAP, before any transaction
        # A person confirmed the match: that is certainty, whatever the fuzzy score was.
        saved = crosswalk_row_write(row=checked, actor=request.user, channel=ChangeChannel.SUGGESTION,
                                    reason=f"accepted suggestion {value} ({request.POST.get('confidence', '?')})",
                                    source=MappingSource.SUGGESTED if spec.slug == "products" else None)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("crosswalks:suggestions")
    handoff_ids = saved.unblocked.handoff_ids
    message = f"Mapped {key} → {value}; {len(handoff_ids)} blocked deal(s) re-run."
    if request.htmx:
        response = render(request, "crosswalks/suggestions.html#accepted", {
            "message": message, "watched": handoff_statuses(handoff_ids),
            "watch_ids": ",".join(map(str, handoff_ids)), "key": key})
        response["HX-Trigger"] = json.dumps({"crosswalkSaved": {"table": spec.slug}})
        return response
    messages.success(request, message)
    return redirect("crosswalks:suggestions")
