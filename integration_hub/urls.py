from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from integration_hub import dashboard_views, views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("triage/", include("exceptions.urls")),
    path("crosswalks/", include("crosswalks.urls")),
    path("approvals/", include("approvals.urls")),
    path("ap/", include("integration_hub.ap.urls")),
    path("reconciliation/", include(([path("", views.reconciliation_runs, name="runs")], "reconciliation"))),
    path("trace/", include(([path("", views.trace, name="trace")], "trace"))),
    path("dashboard/", include("integration_hub.dashboard_urls")),
    path("metrics", dashboard_views.metrics, name="metrics"),
    path("api/v1/", include("integration_hub.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
]

# JSON under /api/ where Django answers before DRF (no route, too many form fields).
handler400 = "integration_hub.views.bad_request"
handler403 = "integration_hub.views.permission_denied"
handler404 = "integration_hub.views.page_not_found"
handler500 = "integration_hub.views.server_error"
