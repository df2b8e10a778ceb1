from __future__ import annotations

from decimal import Decimal
from typing import Any, TypedDict

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


def _amount(label: str) -> forms.DecimalField:
    # Django's DecimalField already refuses "NaN", "Infinity" and "abc"; the messages say which box.
    return forms.DecimalField(
        label=label, required=False, min_value=0, decimal_places=2, max_digits=16,
        error_messages={
            "invalid": f"{label}: enter an amount as a number, e.g. 5000 or 1250.50.",
            "min_value": f"{label} cannot be negative.",
            "max_digits": f"{label} is too large.",
            "max_whole_digits": f"{label} is too large.",
            "max_decimal_places": f"{label}: at most two decimals (cents).",
        },
    )


class FilterForm(forms.Form):
    """The list's filters, all optional. A bad value is an error shown by its field, never a
    500 and never silently dropped (a dropped filter would list, or bulk-change, more than asked)."""

    type = forms.ChoiceField(required=False, choices=[("", "All types"), *ExceptionType.choices])
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *ExceptionStatus.choices])
    age = forms.ChoiceField(required=False, choices=[("", "Any age"), *AGE_LABELS.items()])
    assignee = forms.CharField(required=False, max_length=150)
    amount_min = _amount("Min amount")
    amount_max = _amount("Max amount")
    customer = forms.CharField(required=False, max_length=100)
    product = forms.CharField(required=False, max_length=100)
    tag = forms.CharField(required=False, max_length=40)
    cause = forms.CharField(required=False, max_length=255)
    sort = forms.ChoiceField(required=False, choices=[
        *((k, v[0]) for k, v in SORTS.items()), *((f"-{k}", f"{v[0]} (reversed)") for k, v in SORTS.items())])

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        low, high = cleaned.get("amount_min"), cleaned.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error("amount_max", "Max amount is below the min amount: nothing could match.")
        return cleaned

    def error_summary(self) -> list[str]:
        """Every problem as one sentence that names its filter, for the list's banner."""
        out = []
        for name, errors in self.errors.items():
            label = str(self.fields[name].label or name.replace("_", " ").capitalize()) if name in self.fields else ""
            out += [m if not label or m.startswith(label) else f"{label}: {m}" for m in map(str, errors)]
        return out

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
