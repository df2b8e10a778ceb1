from __future__ import annotations

import random
import time
from typing import Any

import requests
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.errors import HubError
from integration_hub.sandbox.dealflow import DEFECTS, DealFlow
from integration_hub.sandbox.orderflow import OrderFlow


class Command(BaseCommand):
    help = ("Keep closing realistic deals in the Salesforce sandbox (most clean, some with defects), and move "
            "the SAP sandbox's orders along (delivered, invoiced, most paid).")

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
        orders = OrderFlow(f"http://127.0.0.1:{settings.SANDBOX_SAP_PORT}",
                           (settings.SANDBOX_SAP_USER, settings.SANDBOX_SAP_PASSWORD), random.Random(seed))
        made = 0
        while not count or made < count:
            try:
                for order, event in orders.tick():
                    self.stdout.write(f"SAP: order {order} {event}")
            except requests.RequestException as error:
                self.stderr.write(f"orders not moved on yet: {error}")
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
