"""HTTP servers for the sandboxes: threaded, keep-alive, able to drop a response on purpose."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterable
from typing import Any, cast

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from integration_hub.sandbox.middleware import URLCONF_KEY

logger = logging.getLogger("hub.sandbox")

URLCONFS = {
    "salesforce": "integration_hub.sandbox.salesforce.urls",
    "sap": "integration_hub.sandbox.sap.urls",
    "netsuite": "integration_hub.sandbox.netsuite.urls",
}

StartResponse = Callable[..., Any]


class _Handler(WSGIRequestHandler):
    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive response.
        # django-stubs calls `connection` a WSGIRequest; socketserver makes it the client's socket.
        connection = cast(socket.socket, self.connection)
        with contextlib.suppress(OSError):
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def get_environ(self) -> dict[str, Any]:
        environ: dict[str, Any] = super().get_environ()
        environ["sandbox.request_handler"] = self
        return environ

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        logger.debug("%s " + format, self.address_string(), *args)


class _Server(ThreadedWSGIServer):
    daemon_threads = True
    request_queue_size = 128

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("connection from %s ended abruptly", client_address, exc_info=True)


def make_app(kind: str) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI app for one sandbox: Django with that sandbox's URLconf."""
    urlconf = URLCONFS[kind]
    django_app = WSGIHandler()

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        environ[URLCONF_KEY] = urlconf
        result = django_app(environ, start_response)
        if environ.get("sandbox.drop_response"):
            handler = environ.get("sandbox.request_handler")
            if handler is not None:
                handler.close_connection = True
                with contextlib.suppress(OSError):
                    handler.connection.shutdown(socket.SHUT_RDWR)
            if hasattr(result, "close"):
                result.close()
            return []
        return result

    return app


def make_server(kind: str, host: str, port: int) -> _Server:
    server = _Server((host, port), _Handler, ipv6=":" in host)
    server.set_app(make_app(kind))
    return server


class RunningSandbox:
    """A sandbox served from a background thread (tests, benchmarks)."""

    def __init__(self, kind: str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.kind = kind
        self.server = make_server(kind, host, port)
        self.host, self.port = self.server.socket.getsockname()[:2]
        self.url = f"http://{self.host}:{self.port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name=f"sandbox-{kind}", daemon=True)

    def start(self) -> RunningSandbox:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
