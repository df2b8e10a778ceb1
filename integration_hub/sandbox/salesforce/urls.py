from __future__ import annotations

from django.urls import path, re_path

from integration_hub.sandbox.faults import faults_view
from integration_hub.sandbox.salesforce import views

# simple-salesforce adds trailing slashes (`query/?q=`, `sobjects/Opportunity/`); accept both.
_V = r"^services/data/v(?P<version>\d+\.\d+)"

urlpatterns = [
    path("_sandbox/faults", faults_view, {"system": "salesforce"}),
    path("_sandbox/outbound", views.outbound_view),
    re_path(r"^services/data/?$", views.versions),
    re_path(_V + r"/?$", views.resources),
    re_path(_V + r"/limits/?$", views.limits),
    re_path(_V + r"/query/?$", views.query),
    re_path(_V + r"/queryAll/?$", views.query, {"include_deleted": True}),
    re_path(_V + r"/query/(?P<locator>[A-Za-z0-9]+-\d+)/?$", views.query_more),
    re_path(_V + r"/queryAll/(?P<locator>[A-Za-z0-9]+-\d+)/?$", views.query_more),
    re_path(_V + r"/composite/sobjects/?$", views.composite_sobjects),
    re_path(_V + r"/sobjects/?$", views.describe_global),
    re_path(_V + r"/sobjects/(?P<sobject>\w+)/describe/?$", views.describe),
    re_path(_V + r"/sobjects/(?P<sobject>\w+)/?$", views.sobject_collection),
    re_path(_V + r"/sobjects/(?P<sobject>\w+)/(?P<record_id>\w+)/?$", views.sobject_row),
    re_path(r"^(?P<rest>.*)$", views.not_found),
]
