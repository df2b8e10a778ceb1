from __future__ import annotations

from django.urls import path

from integration_hub.ap import views

app_name = "ap"

urlpatterns = [
    path("", views.invoice_list, name="list"),
    path("upload/", views.invoice_upload, name="upload"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:pk>/document/", views.invoice_document, name="document"),
    path("invoices/<int:pk>/correct/", views.invoice_correct, name="correct"),
    path("exceptions/<int:pk>/resolve/", views.exception_resolve_view, name="resolve"),
    path("acceptances/<int:pk>/decide/", views.acceptance_decide, name="acceptance-decide"),
    path("tolerances/", views.tolerances, name="tolerances"),
]
