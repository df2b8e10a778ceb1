from __future__ import annotations

from django.urls import path

from exceptions import views

app_name = "exceptions"

urlpatterns = [
    path("", views.queue_overview, name="queues"),
]
