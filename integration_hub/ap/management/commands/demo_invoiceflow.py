"""The demo's vendor invoices: every few seconds one arrives (most clean, some with a defect) and
goes through the same intake, match and posting as an API upload."""

from __future__ import annotations

import random
import time
from typing import Any

from django.core.management.base import BaseCommand

from integration_hub.ap.demo import DEFECTS, demo_invoice
from integration_hub.ap.intake import from_json
from integration_hub.ap.services import vendor_invoice_receive


class Command(BaseCommand):
    help = "Keep vendor invoices arriving for the demo (sandbox only)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--interval", type=float, default=12.0)
        parser.add_argument("--count", type=int, default=0, help="stop after this many (0: run until stopped)")
        parser.add_argument("--clean-share", type=float, default=0.85)

    def handle(self, *args: Any, **options: Any) -> None:
        rng = random.Random()
        sequence = int(time.time()) % 100000
        sent = 0
        while not options["count"] or sent < options["count"]:
            defect = None if rng.random() < options["clean_share"] else rng.choice(DEFECTS)
            sequence += 1
            try:
                payload = demo_invoice(rng, defect=defect, sequence=sequence)
                invoice, _ = vendor_invoice_receive(extracted=from_json(payload),
                                                    content=repr(sorted(payload.items())).encode())
            except Exception as error:  # noqa: BLE001 - the trickle outlives a sandbox hiccup
                self.stderr.write(f"demo invoice not sent: {error}")
            else:
                self.stdout.write(f"{invoice.key} {defect or 'clean'} {payload['gross_amount']} {payload['currency']}")
            sent += 1
            time.sleep(options["interval"])
