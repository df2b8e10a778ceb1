from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from crosswalks.tasks import refresh_sap_caches
from integration_hub.demo import DEMO_PASSWORD, DEMO_USERS


class Command(BaseCommand):
    help = "Run web, Celery worker, Celery beat and the sandboxes in the foreground (Ctrl-C stops all)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HUB_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("HUB_PORT", "8000")))
        parser.add_argument("--workers", type=int, default=2, help="Celery worker concurrency")

    def handle(self, *args: Any, host: str, port: int, workers: int, **options: Any) -> None:
        if not settings.HUB_SANDBOX:
            raise CommandError("the demo runs on the local sandboxes: set HUB_SANDBOX=1 (make demo does)")
        python = sys.executable
        manage = str(settings.BASE_DIR / "manage.py")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        # The sandbox posts Outbound Messages to this web server.
        env.setdefault(
            "SANDBOX_OUTBOUND_MESSAGE_URL",
            f"http://{host}:{port}/api/v1/hooks/salesforce/outbound-message/?token={settings.HUB_WEBHOOK_SECRET}",
        )
        bin_dir = os.path.dirname(python)
        processes = {
            "web": [os.path.join(bin_dir, "waitress-serve"), f"--listen={host}:{port}", "--threads=8",
                    "integration_hub.wsgi:application"],
            "worker": [python, "-m", "celery", "-A", "integration_hub", "worker", "-l", "INFO",
                       f"--concurrency={workers}", "-n", "demo-worker@%h"],
            "beat": [python, "-m", "celery", "-A", "integration_hub", "beat", "-l", "INFO"],
            "salesforce-sandbox": [python, manage, "run_sandbox", "salesforce"],
            "sap-sandbox": [python, manage, "run_sandbox", "sap"],
            "netsuite-sandbox": [python, manage, "run_sandbox", "netsuite"],
            # A sales team in a box: a trickle of closed-won deals, some with defects.
            "deal-flow": [python, manage, "demo_dealflow", "--interval", os.environ.get("HUB_DEMO_DEAL_INTERVAL", "8")],
            # Accounts payable in a box: vendor invoices over fresh POs and receipts, some with defects.
            "invoice-flow": [python, manage, "demo_invoiceflow", "--interval",
                             os.environ.get("HUB_DEMO_INVOICE_INTERVAL", "12")],
        }
        running: dict[str, subprocess.Popen[bytes]] = {}
        for name, cmd in processes.items():
            running[name] = subprocess.Popen(cmd, env=env, cwd=settings.BASE_DIR)  # noqa: S603 - our own commands

        url = f"http://{host}:{port}/"
        self.stdout.write("")
        self.stdout.write(self.style.SUCCESS(f"Integration hub demo: {url}"))
        self.stdout.write(f"  admin:              {url}admin/")
        self.stdout.write(f"  Salesforce sandbox: http://127.0.0.1:{settings.SANDBOX_SALESFORCE_PORT}/services/data/v59.0/"
                          f"  (Authorization: Bearer {settings.SANDBOX_SALESFORCE_TOKEN})")
        self.stdout.write(f"  SAP sandbox:        http://127.0.0.1:{settings.SANDBOX_SAP_PORT}/sap/opu/odata/sap/"
                          f"  (Basic {settings.SANDBOX_SAP_USER} / {settings.SANDBOX_SAP_PASSWORD})")
        self.stdout.write(f"  NetSuite sandbox:   http://127.0.0.1:{settings.SANDBOX_NETSUITE_PORT}/services/rest/record/v1/"
                          f"  (TBA HMAC-SHA256, realm {settings.SANDBOX_NETSUITE_ACCOUNT.upper()})")
        self.stdout.write(f"  demo logins (password '{DEMO_PASSWORD}' for all):")
        for user in DEMO_USERS:
            self.stdout.write(f"    {user.username:<12} {user.role}")
        self.stdout.write("  Ctrl-C stops everything.")
        self.stdout.write("")

        # Fill the suggestion caches from the SAP sandbox once it answers (beat refreshes them later).
        time.sleep(3)
        refresh_sap_caches.apply_async(countdown=2)

        stopping = False

        def stop(*_: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            while not stopping:
                for name, proc in running.items():
                    if proc.poll() is not None:
                        self.stderr.write(f"{name} exited with {proc.returncode}; stopping the demo")
                        stopping = True
                        break
                time.sleep(0.5)
        finally:
            for proc in running.values():
                if proc.poll() is None:
                    proc.terminate()
            deadline = time.monotonic() + 10
            for proc in running.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
