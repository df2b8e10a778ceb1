from __future__ import annotations

from django import forms

ACTIONS = [("approve", "Approve"), ("reject", "Reject"), ("request_changes", "Request changes"),
           ("hold", "Hold"), ("cancel", "Cancel"), ("release", "Release now")]


class DecisionForm(forms.Form):
    action = forms.ChoiceField(choices=ACTIONS)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}), max_length=2000)
