from __future__ import annotations

from django.urls import path

from integration_hub.sandbox.faults import faults_view

urlpatterns = [
    path("_sandbox/faults", faults_view, {"system": "sap"}),
]
