from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integration_hub.sandbox.netsuite import runtime as netsuite_runtime
from integration_hub.sandbox.salesforce import runtime as salesforce_runtime
from integration_hub.sandbox.sap import runtime as sap_runtime
from integration_hub.sandbox.server import URLCONFS, make_server

# A sandbox may run background work of its own (Salesforce sends Outbound Messages).
RUNTIMES = {"salesforce": salesforce_runtime, "sap": sap_runtime, "netsuite": netsuite_runtime}
PORTS = {"salesforce": "SANDBOX_SALESFORCE_PORT", "sap": "SANDBOX_SAP_PORT", "netsuite": "SANDBOX_NETSUITE_PORT"}


class Command(BaseCommand):
    help = "Serve the Salesforce, SAP or NetSuite sandbox over HTTP (state in the database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(URLCONFS))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=None)

    def handle(self, *args: Any, kind: str, host: str, port: int | None, **options: Any) -> None:
        if port is None:
            port = int(getattr(settings, PORTS[kind]))
        server = make_server(kind, host, port)
        stop_background = RUNTIMES[kind].start_background()
        self.stdout.write(f"{kind} sandbox listening on http://{host}:{port}")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            stop_background()
            server.server_close()
