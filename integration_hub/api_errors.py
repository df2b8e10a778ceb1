"""The API's exception handler: DRF's, plus a clean answer when SAP or Salesforce fails a call the
request needed. Views catch what they can explain in place ("SAP could not be asked…" by the
field); this is the net under them, so an outage is a 503 a client can retry, never a 500.
"""

from __future__ import annotations

import logging
from typing import Any

from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from integration_hub.errors import HubError, TransientError

logger = logging.getLogger(__name__)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's answers; a `TransientError` (timeout, refused connection, 5xx, lock) → 503 with
    Retry-After; any other `HubError` from an external system → 502. Anything else stays a 500."""
    response = drf_exception_handler(exc, context)
    if response is not None or not isinstance(exc, HubError):
        return response
    logger.warning("API request failed on an external system: %s", exc)
    if isinstance(exc, TransientError):
        retry_after = str(int(getattr(exc, "retry_after", None) or 30))
        return Response({"detail": f"An external system did not answer ({exc}); nothing was changed. "
                                   f"Try again in {retry_after} seconds."},
                        status=503, headers={"Retry-After": retry_after})
    return Response({"detail": f"An external system refused the request ({exc})."}, status=502)
