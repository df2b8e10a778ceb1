"""Request types for the type checker: what the middleware and the login checks guarantee.

django-htmx's middleware puts `request.htmx` on every request; `login_required` and DRF's
`IsAuthenticated` mean `request.user` is a real user, never AnonymousUser. Views annotate their
request with these so the services they call get a `User`, not a union.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails
from rest_framework.request import Request


class HtmxHttpRequest(HttpRequest):
    htmx: HtmxDetails


class AuthenticatedHttpRequest(HtmxHttpRequest):
    """A request to a `login_required` view."""

    user: User


class AuthenticatedRequest(Request):
    """A DRF request to an endpoint behind `IsAuthenticated`."""

    user: User
