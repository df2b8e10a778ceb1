from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from integration_hub.sandbox.salesforce.seed import seed


class Command(BaseCommand):
    help = "Load the shared catalogue into the Salesforce sandbox (idempotent)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--reset", action="store_true", help="forget every sandbox record first")

    def handle(self, *args: Any, reset: bool, **options: Any) -> None:
        counts = seed(reset=reset)
        self.stdout.write(", ".join(f"{name}={count}" for name, count in counts.items()))
