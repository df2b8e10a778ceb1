from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

URLCONF_KEY = "sandbox.urlconf"


class SandboxUrlconfMiddleware:
    """Route a request to its sandbox's URLconf when a sandbox server received it.

    The sandbox servers run the same Django project on their own ports; the WSGI wrapper in
    `integration_hub.sandbox.server` marks their requests so the hub's own URLs never answer there.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        urlconf = request.META.get(URLCONF_KEY)
        if urlconf:
            request.urlconf = urlconf  # type: ignore[attr-defined]  # Django's hook; the stubs leave it out
        return self.get_response(request)
