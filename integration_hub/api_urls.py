"""The `/api/v1/` routes, included from integration_hub.urls under the `api` namespace."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from approvals.api import ApprovalViewSet
from crosswalks import api as crosswalk_api
from crosswalks.api import ProductMappingViewSet
from exceptions.api import BulkJobViewSet, SyncExceptionViewSet
from exceptions.policy_api import (
    BusinessCalendarViewSet,
    EscalationPolicyViewSet,
    QueueMembersView,
    SettingChangeViewSet,
)
from exceptions.routing_api import RoutingRuleViewSet
from integration_hub.ap.api import VendorInvoiceViewSet
from integration_hub.api import HandoffViewSet, ReconciliationRunsView, ReconciliationRunView, TraceView
from integration_hub.dashboard_api import DashboardView
from integration_hub.webhooks import SalesforceOutboundMessageView

app_name = "api"

router = DefaultRouter()
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("approvals", ApprovalViewSet, basename="approval")
router.register("exceptions", SyncExceptionViewSet, basename="exception")
router.register("bulk-jobs", BulkJobViewSet, basename="bulk-job")
router.register("routing-rules", RoutingRuleViewSet, basename="routing-rule")
router.register("escalation-policies", EscalationPolicyViewSet, basename="escalation-policy")
router.register("calendars", BusinessCalendarViewSet, basename="calendar")
router.register("setting-changes", SettingChangeViewSet, basename="setting-change")
router.register("crosswalks/products", ProductMappingViewSet, basename="product-mapping")
router.register("ap/invoices", VendorInvoiceViewSet, basename="vendor-invoice")

urlpatterns = [
    path(
        "hooks/salesforce/outbound-message/",
        SalesforceOutboundMessageView.as_view(),
        name="salesforce-outbound-message",
    ),
    path("crosswalks/suggestions/", crosswalk_api.CrosswalkSuggestionsView.as_view(), name="crosswalk-suggestions"),
    path("crosswalks/alerts/", crosswalk_api.CrosswalkAlertsView.as_view(), name="crosswalk-alerts"),
    path("crosswalks/changes/<int:pk>/revert/", crosswalk_api.CrosswalkRevertView.as_view(), name="crosswalk-revert"),
    path("crosswalks/tables/<slug:table>/", crosswalk_api.CrosswalkTableView.as_view(), name="crosswalk-table"),
    path("crosswalks/tables/<slug:table>/history/", crosswalk_api.CrosswalkHistoryView.as_view(),
         name="crosswalk-history"),
    path("crosswalks/tables/<slug:table>/import/", crosswalk_api.CrosswalkImportView.as_view(),
         name="crosswalk-import"),
    path("reconciliation/runs/", ReconciliationRunsView.as_view(), name="reconciliation-runs"),
    path("reconciliation/runs/<int:pk>/", ReconciliationRunView.as_view(), name="reconciliation-run"),
    path("trace/", TraceView.as_view(), name="trace"),
    path("dashboard/", DashboardView.as_view(), name="dashboard"),
    path("queues/<slug:slug>/members/", QueueMembersView.as_view(), name="queue-members"),
    path("", include(router.urls)),
]
