from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration_hub.demo import demo_seed


class Command(BaseCommand):
    help = "Seed the sandboxes (Salesforce, SAP, NetSuite) and the hub's demo data (queues, crosswalks, users). Safe to re-run."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="wipe the sandboxes' data first")

    def handle(self, *args: Any, reset: bool, **options: Any) -> None:
        if not settings.HUB_SANDBOX:
            raise CommandError("the demo runs on the local sandboxes: set HUB_SANDBOX=1 (make demo does)")
        counts = demo_seed(reset=reset)
        for name, count in counts.items():
            self.stdout.write(f"  {name}: {count}")
        self.stdout.write(self.style.SUCCESS("demo data ready"))
