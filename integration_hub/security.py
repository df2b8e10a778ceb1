"""Security plumbing shared by every screen and endpoint: who a request comes from, the one line a
denied access writes on the `hub.security` logger, the Permissions-Policy header, and the line an
axes lockout writes.

Every refusal worth a reviewer's attention — a webhook that fails authentication, an object
outside the user's queues, a sign-in locked out — goes through `security_denied`, so the log has
one shape to search (`denied: <reason> user=… ip=… path=…`) and the same fields in `extra` for a
structured handler. The path never carries the query string: the webhook's secret may be in it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from axes.signals import user_locked_out
from django.conf import settings
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse

security_log = logging.getLogger("hub.security")


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: the last X-Forwarded-For hop behind our TLS proxy, else REMOTE_ADDR;
    None when the request has neither (axes then records no address, as for force_login's request).

    The last hop is the one our proxy appended; anything before it the client may have written.
    """
    if settings.HUB_BEHIND_TLS_PROXY:
        forwarded = [hop.strip() for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        if forwarded:
            return forwarded[-1]
    return request.META.get("REMOTE_ADDR") or None


def _who(request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return str(user.get_username())
    return "anonymous"


def security_denied(request: HttpRequest, reason: str, *, user: str | None = None,
                    level: int = logging.WARNING) -> None:
    """Write the one `hub.security` line for an access the hub refused: reason, user, IP and path.

    `user` names who tried when the request carries nobody yet (a sign-in's username)."""
    who = user if user is not None else _who(request)
    ip = client_ip(request) or "?"
    security_log.log(level, "denied: %s user=%s ip=%s path=%s", reason, who, ip, request.path,
                     extra={"security_reason": reason, "security_user": who, "security_ip": ip,
                            "security_path": request.path})


@receiver(user_locked_out)
def _log_lockout(sender: Any, request: HttpRequest, username: str | None = None, **kwargs: Any) -> None:
    # Sent when the limit is reached and again for every attempt during the cool-off.
    security_denied(request, f"sign-in locked out after {settings.AXES_FAILURE_LIMIT} failures "
                             f"(cool-off {settings.HUB_LOGIN_COOLOFF_MINUTES} min)", user=username or "?")


class PermissionsPolicyMiddleware:
    """Adds the Permissions-Policy header (Django's SecurityMiddleware has no setting for it)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", settings.HUB_PERMISSIONS_POLICY)
        return response
