from __future__ import annotations

from django.urls import path

from approvals import views

app_name = "approvals"

urlpatterns = [
    path("", views.approval_queue, name="queue"),
    path("<int:pk>/", views.approval_detail, name="detail"),
    path("<int:pk>/decide/", views.approval_decision, name="decide"),
    path("<int:pk>/rerun/", views.approval_rerun_view, name="rerun"),
]
