"""The `/dashboard/` routes, included from integration_hub.urls under the `dashboard` namespace."""

from __future__ import annotations

from django.urls import path

from integration_hub import dashboard_views

app_name = "dashboard"

urlpatterns = [
    path("", dashboard_views.dashboard, name="index"),
    path("deals/", dashboard_views.deals, name="deals"),
]
