from __future__ import annotations

from decimal import Decimal
from typing import TypedDict

from django import forms

from exceptions.models import ExceptionStatus, ExceptionType
from exceptions.selectors import AGE_LABELS, SORTS


class ListFilters(TypedDict):
    """The keyword filters `exceptions.selectors.exception_list` takes, as the list's form gives them."""

    type_code: str | None
    status: str | None
    age: str | None
    assignee: str | None
    amount_min: Decimal | None
    amount_max: Decimal | None
    customer: str | None
    product: str | None
    tag: str | None
    fingerprint: str | None


class FilterForm(forms.Form):
    """The list's filters, all optional; bad values are dropped, never a 500."""

    type = forms.ChoiceField(required=False, choices=[("", "All types"), *ExceptionType.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ExceptionStatus.choices])
    age = forms.ChoiceField(required=False, choices=[("", "Any age"), *AGE_LABELS.items()])
    assignee = forms.CharField(required=False, max_length=150)
    amount_min = forms.DecimalField(required=False, min_value=0, decimal_places=2, max_digits=16)
    amount_max = forms.DecimalField(required=False, min_value=0, decimal_places=2, max_digits=16)
    customer = forms.CharField(required=False, max_length=100)
    product = forms.CharField(required=False, max_length=100)
    tag = forms.CharField(required=False, max_length=40)
    cause = forms.CharField(required=False, max_length=255)
    sort = forms.ChoiceField(required=False, choices=[(k, v[0]) for k, v in SORTS.items()])

    def filters(self) -> ListFilters:
        data = self.cleaned_data if self.is_valid() else {
            k: v for k, v in self.cleaned_data.items() if k not in self.errors
        } if hasattr(self, "cleaned_data") else {}
        return {
            "type_code": data.get("type") or None,
            "status": data.get("status") or None,
            "age": data.get("age") or None,
            "assignee": data.get("assignee") or None,
            "amount_min": data.get("amount_min"),
            "amount_max": data.get("amount_max"),
            "customer": data.get("customer") or None,
            "product": data.get("product") or None,
            "tag": data.get("tag") or None,
            "fingerprint": data.get("cause") or None,
        }


class CommentForm(forms.Form):
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "placeholder": "Add a comment…"}), max_length=5000)


class TagsForm(forms.Form):
    tags = forms.CharField(required=False, max_length=400, help_text="comma-separated")
