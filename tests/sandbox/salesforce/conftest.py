"""Fixtures for the Salesforce sandbox tests: a connector on the sandbox, an Outbound Message receiver."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from integration_hub.connectors.base import CallRecord
from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.sandbox.server import RunningSandbox

ACK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack>'
    "</notificationsResponse></soapenv:Body></soapenv:Envelope>"
)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: str
    answered: int


@dataclass
class Receiver:
    """A hub stand-in: answers each POST with the next scripted (status, body), then Acks forever."""

    url: str
    script: list[tuple[int, str]]
    deliveries: list[Delivery] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def outbound_receiver() -> Iterator[Receiver]:
    receiver = Receiver(url="", script=[])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - stdlib naming
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            with receiver.lock:
                status, reply = receiver.script.pop(0) if receiver.script else (200, ACK)
                receiver.deliveries.append(Delivery(dict(self.headers), body, status))
            payload = reply.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/outbound"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture
def calls() -> list[CallRecord]:
    return []


@pytest.fixture
def sf(sf_sandbox: RunningSandbox, settings: Any, calls: list[CallRecord]) -> Iterator[SalesforceClient]:
    """The hub's connector, pointed at the sandbox the way settings would point it."""
    settings.SALESFORCE_INSTANCE_URL = sf_sandbox.url
    settings.SALESFORCE_SESSION_ID = settings.SANDBOX_SALESFORCE_TOKEN
    client = SalesforceClient.from_settings(recorder=calls.append)
    yield client
    client.close()
