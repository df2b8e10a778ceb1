"""Routing-rule screens for admins: list, add/edit with a live preview, reorder, (de)activate.

Non-admins get 404 like every other screen here. Rule edits go through the audited services in
exceptions.routing; after each one the open unassigned exceptions are re-routed."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from exceptions.models import ExceptionType, Queue, RoutingRule, RoutingRuleChange
from exceptions.routing import (
    can_edit_routing_rules,
    routing_preview,
    routing_rule_move,
    routing_rule_save,
    routing_rule_toggle,
    routing_rules_edit,
    rules_with_draft,
)
from exceptions.screens import screen_render, screen_sidebar
from integration_hub.http import AuthenticatedHttpRequest

PREVIEW_SIZE = 50


def _admin(request: AuthenticatedHttpRequest) -> None:
    if not can_edit_routing_rules(request.user):
        raise Http404("no such page")


class ListField(forms.CharField):
    """A JSON list edited as comma-separated text."""

    def prepare_value(self, value: Any) -> Any:
        return ", ".join(str(v) for v in value) if isinstance(value, list) else value

    def to_python(self, value: Any) -> list[str]:  # type: ignore[override]
        if isinstance(value, list):
            return value
        return [v.strip() for v in str(value or "").split(",") if v.strip()]


class RoutingRuleForm(forms.ModelForm):
    type_codes = forms.MultipleChoiceField(choices=ExceptionType.choices, required=False,
                                           widget=forms.CheckboxSelectMultiple, label="Exception types (none: any)")
    countries = ListField(required=False, label="Ship-to countries", help_text="ISO codes, comma-separated")
    regions = ListField(required=False, label="Ship-to regions")
    sales_organizations = ListField(required=False, label="Sales organizations")
    product_families = ListField(required=False, label="Product families")
    strategic = forms.NullBooleanField(required=False, label="Strategic account",
                                       widget=forms.Select(choices=[("unknown", "Either"), ("true", "Yes"),
                                                                    ("false", "No")]))

    class Meta:
        model = RoutingRule
        fields = ["name", "active", "type_codes", "amount_min", "amount_max", "currency", "countries", "regions",
                  "sales_organizations", "customer", "product_families", "strategic", "queue", "priority",
                  "assignee"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # `fields` is typed as plain `Field`; these two are the model's foreign keys.
        cast("forms.ModelChoiceField[Queue]", self.fields["queue"]).queryset = Queue.objects.order_by("name")
        cast("forms.ModelChoiceField[User]", self.fields["assignee"]).queryset = (
            get_user_model().objects.filter(is_active=True).order_by("username"))

    def clean_currency(self) -> str:
        return (self.cleaned_data.get("currency") or "").upper()

    def clean(self) -> dict[str, Any]:
        # The stubs give `BaseForm.clean` (`dict | None`); a ModelForm's returns its cleaned_data.
        super().clean()
        data = self.cleaned_data
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "must not be below the minimum")
        return data


@login_required
@require_GET
def rule_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    _admin(request)
    context = {
        "rules": list(RoutingRule.objects.select_related("queue", "assignee").order_by("position", "pk")),
        "changes": list(RoutingRuleChange.objects.select_related("actor")[:20]),
        "sidebar": screen_sidebar(request),
    }
    return screen_render(request, "exceptions/routing.html", "routing-rules", context)


def _preview_rows(form: RoutingRuleForm, rule: RoutingRule | None) -> list[Any]:
    """Saved rules with the edited (unsaved) one in place of its saved version, or appended."""
    edited = form.save(commit=False) if form.is_valid() else None
    return routing_preview(rules=rules_with_draft(draft=edited, replaces=rule), limit=PREVIEW_SIZE)


@login_required
@require_http_methods(["GET", "POST"])
def rule_edit(request: AuthenticatedHttpRequest, pk: int | None = None) -> HttpResponse:
    _admin(request)
    rule = get_object_or_404(RoutingRule, pk=pk) if pk else None
    if request.method == "POST":
        form = RoutingRuleForm(request.POST, instance=rule or RoutingRule())
        if form.is_valid():
            draft = form.save(commit=False)
            saved, moved = routing_rules_edit(
                actor=request.user, edit=lambda: routing_rule_save(rule=draft, actor=request.user))
            messages.success(request, f"Rule “{saved.name}” saved; {moved} open unassigned exception(s) re-routed.")
            return redirect("exceptions:routing")
    else:
        form = RoutingRuleForm(instance=rule)
    context = {"form": form, "rule": rule, "sidebar": screen_sidebar(request), "preview": None}
    return screen_render(request, "exceptions/routing_form.html", None, context, status=422 if form.errors else 200)


@login_required
@require_POST
def rule_preview(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Where the last N exceptions would go under the edited rules (nothing is saved)."""
    _admin(request)
    rule_id = request.POST.get("rule_id", "")
    rule = get_object_or_404(RoutingRule, pk=rule_id) if rule_id.isdigit() else None
    form = RoutingRuleForm(request.POST, instance=rule or RoutingRule())
    rows = _preview_rows(form, rule)
    queues = dict(Queue.objects.values_list("pk", "name"))
    context = {"form": form, "rule": rule, "sidebar": screen_sidebar(request), "queues": queues,
               "preview": [{"row": r, "old": queues.get(r.old_queue_id), "new": queues.get(r.new_queue_id)}
                           for r in rows],
               "moving": sum(r.moves for r in rows)}
    return screen_render(request, "exceptions/routing_form.html", "routing-preview", context)


@login_required
@require_POST
def rule_move(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    rule = get_object_or_404(RoutingRule, pk=pk)
    direction = request.POST.get("direction", "")
    routing_rules_edit(actor=request.user,
                       edit=lambda: routing_rule_move(rule=rule, actor=request.user, direction=direction))
    return redirect("exceptions:routing")


@login_required
@require_POST
def rule_toggle(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    _admin(request)
    rule = get_object_or_404(RoutingRule, pk=pk)
    active = request.POST.get("active") == "1"
    routing_rules_edit(actor=request.user,
                       edit=lambda: routing_rule_toggle(rule=rule, actor=request.user, active=active))
    return redirect("exceptions:routing")
