from __future__ import annotations

from django.urls import path

from crosswalks import views

app_name = "crosswalks"

urlpatterns = [
    path("", views.workbench, name="workbench"),
    path("suggestions/", views.suggestion_list, name="suggestions"),
    path("suggestions/accept/", views.suggestion_accept, name="suggestion-accept"),
    path("watch/", views.watch, name="watch"),
    path("changes/<int:pk>/revert/", views.change_revert, name="revert"),
    path("<slug:table>/", views.workbench, name="table"),
    path("<slug:table>/save/", views.row_save, name="save"),
    path("<slug:table>/<int:pk>/delete/", views.row_delete, name="delete"),
    path("<slug:table>/history/", views.history, name="history"),
    path("<slug:table>/import/", views.csv_import, name="import"),
    path("<slug:table>/export.csv", views.csv_export, name="export"),
]
