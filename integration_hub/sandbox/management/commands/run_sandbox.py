from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from integration_hub.sandbox.salesforce import runtime as salesforce_runtime
from integration_hub.sandbox.sap import runtime as sap_runtime
from integration_hub.sandbox.server import URLCONFS, make_server

# A sandbox may run background work of its own (Salesforce sends Outbound Messages).
RUNTIMES = {"salesforce": salesforce_runtime, "sap": sap_runtime}


class Command(BaseCommand):
    help = "Serve the Salesforce or SAP sandbox over HTTP (state in the database)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("kind", choices=sorted(URLCONFS))
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=None)

    def handle(self, *args: Any, kind: str, host: str, port: int | None, **options: Any) -> None:
        if port is None:
            port = settings.SANDBOX_SALESFORCE_PORT if kind == "salesforce" else settings.SANDBOX_SAP_PORT
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
