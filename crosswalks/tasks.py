"""Beat: keep the local copies of SAP materials and partners fresh for suggestions."""

from __future__ import annotations

import logging

from celery import shared_task

from crosswalks.sap_lookup import material_cache_refresh, partner_cache_refresh
from integration_hub.errors import HubError

logger = logging.getLogger(__name__)


@shared_task
def refresh_sap_caches() -> dict[str, int]:
    try:
        return {"materials": material_cache_refresh(), "partners": partner_cache_refresh()}
    except HubError as error:
        # SAP may be down for a while; the old copies stay usable and the next tick tries again.
        logger.warning("SAP caches not refreshed: %s", error)
        return {}
