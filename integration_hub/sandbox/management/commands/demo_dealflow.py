from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.errors import HubError
from integration_hub.sandbox.dealflow import DEFECTS, DealFlow


class Command(BaseCommand):
    help = "Keep closing realistic deals in the Salesforce sandbox (most clean, some with defects)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--interval", type=float, default=8.0, help="seconds between deals")
        parser.add_argument("--count", type=int, default=0, help="stop after this many deals (0: never)")
        parser.add_argument("--kind", choices=["clean", *DEFECTS], default=None)
        parser.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, interval: float, count: int, kind: str | None, seed: int | None,
               **options: Any) -> None:
        if not settings.HUB_SANDBOX:
            raise CommandError("the demo runs on the local sandboxes: set HUB_SANDBOX=1 (make demo does)")
        flow = DealFlow(SalesforceClient.from_settings(), seed=seed)
        made = 0
        while not count or made < count:
            try:
                opportunity_id, planned = flow.one(kind)
            except (HubError, LookupError) as error:
                # The sandbox may still be starting; a sales rep would simply try again later.
                self.stderr.write(f"deal not created yet: {error}")
                time.sleep(min(interval, 5.0))
                continue
            made += 1
            self.stdout.write(f"closed won {opportunity_id} ({planned.kind}): {planned.company.crm_name}, "
                              f"{len(planned.lines)} line(s)")
            if not count or made < count:
                time.sleep(interval)
