from __future__ import annotations

from django.urls import path

from crosswalks import views

app_name = "crosswalks"

urlpatterns = [
    path("", views.workbench, name="workbench"),
]
