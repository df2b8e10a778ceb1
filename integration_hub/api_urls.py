"""The `/api/v1/` routes, included from integration_hub.urls under the `api` namespace."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import DefaultRouter

from crosswalks.api import ProductMappingViewSet
from exceptions.api import SyncExceptionViewSet
from integration_hub.api import HandoffViewSet
from integration_hub.webhooks import SalesforceOutboundMessageView

app_name = "api"

router = DefaultRouter()
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("exceptions", SyncExceptionViewSet, basename="exception")
router.register("crosswalks/products", ProductMappingViewSet, basename="product-mapping")

urlpatterns = [
    path(
        "hooks/salesforce/outbound-message/",
        SalesforceOutboundMessageView.as_view(),
        name="salesforce-outbound-message",
    ),
    path("", include(router.urls)),
]
