"""Forms of the engine's own screens."""

from __future__ import annotations

from django import forms
from django.conf import settings


class ReconciliationRunForm(forms.Form):
    days = forms.IntegerField(
        min_value=1, max_value=366, required=False,
        error_messages={"invalid": "Enter the window as a whole number of days, e.g. 30.",
                        "min_value": "The window must be at least 1 day.",
                        "max_value": "The window can be at most 366 days: run a second one for older deals."},
    )

    def window_days(self) -> int:
        return self.cleaned_data.get("days") or settings.HUB_RECONCILIATION_DAYS
