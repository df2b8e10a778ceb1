from __future__ import annotations

from django.urls import path, re_path

from integration_hub.sandbox.faults import faults_view
from integration_hub.sandbox.sap import views

urlpatterns = [
    path("_sandbox/faults", faults_view, {"system": "sap"}),
    path("_sandbox/events", views.events_view),
    re_path(r"^sap/opu/odata/sap/(?P<service>[A-Za-z0-9_]+)/?(?P<resource>.*)$", views.odata),
]
