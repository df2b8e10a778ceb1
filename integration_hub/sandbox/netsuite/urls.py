from __future__ import annotations

from django.urls import path, re_path

from integration_hub.sandbox.faults import faults_view
from integration_hub.sandbox.netsuite import views

urlpatterns = [
    path("_sandbox/faults", faults_view, {"system": "netsuite", "authorize": views.control_plane_or_tba}),
    path("_sandbox/events", views.events_view),
    re_path(r"^services/rest/record/v1/(?P<path>.*)$", views.record_view),
    re_path(r"^services/rest/query/v1/suiteql/?$", views.suiteql_view),
]
