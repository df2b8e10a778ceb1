from __future__ import annotations

from django.urls import path

from exceptions import views

app_name = "exceptions"

urlpatterns = [
    path("", views.queue_overview, name="queues"),
    path("q/<slug:slug>/", views.queue_list, name="list"),
    path("q/<slug:slug>/bulk/", views.queue_bulk, name="bulk"),
    path("e/<int:pk>/", views.exception_detail, name="detail"),
    path("e/<int:pk>/assign/", views.exception_assign_view, name="assign"),
    path("e/<int:pk>/comment/", views.exception_comment_view, name="comment"),
    path("e/<int:pk>/tags/", views.exception_tags_view, name="tags"),
    path("e/<int:pk>/resolve/", views.exception_resolve_view, name="resolve"),
]
