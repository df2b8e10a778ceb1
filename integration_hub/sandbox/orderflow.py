"""Business in the SAP sandbox moving on by itself, for the demo: what happens to an order after
the hub created it — delivered after a minute, invoiced, and most of the invoices paid.

`OrderFlow.tick()` looks at the newest orders over OData and moves each one a step when its time
has come, through the same `POST /_sandbox/events` a test uses (deliver, invoice, pay, or a
partial payment). Some invoices stay unpaid on purpose: they fall overdue the way real ones do.
An order the events refuse (credit block, delivery block until an approver's window closes) is
simply tried again on a later tick.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import requests

# Seconds after the order was first seen, and the step then due.
STEPS = ((60.0, "deliver"), (90.0, "invoice"), (120.0, "pay"))
PAID, PARTLY_PAID = 0.6, 0.2  # the rest stays unpaid


@dataclass
class OrderFlow:
    sap_url: str  # the sandbox root, e.g. http://127.0.0.1:8702
    auth: tuple[str, str]
    rng: random.Random = field(default_factory=random.Random)
    seen: dict[str, float] = field(default_factory=dict)
    done: dict[str, int] = field(default_factory=dict)  # order → steps taken
    fates: dict[str, str] = field(default_factory=dict)  # order → "paid" | "partly" | "unpaid"

    def _orders(self, top: int) -> list[str]:
        response = requests.get(
            f"{self.sap_url}/sap/opu/odata/sap/API_SALES_ORDER_SRV/A_SalesOrder",
            params={"$select": "SalesOrder", "$orderby": "SalesOrder desc", "$top": str(top), "$format": "json"},
            auth=self.auth, timeout=10)
        response.raise_for_status()
        return [str(row["SalesOrder"]) for row in response.json()["d"]["results"]]

    def _event(self, order: str, event: str, **options: object) -> bool:
        response = requests.post(f"{self.sap_url}/_sandbox/events", json={"sales_order": order, "event": event, **options},
                                 auth=self.auth, timeout=10)
        return response.status_code == 201

    def tick(self, *, now: float | None = None, top: int = 50) -> list[tuple[str, str]]:
        """Move every order whose next step is due; returns (order, event) for each step taken."""
        now = time.monotonic() if now is None else now
        taken = []
        for order in self._orders(top):
            first = self.seen.setdefault(order, now)
            step = self.done.get(order, 0)
            if step >= len(STEPS) or now - first < STEPS[step][0]:
                continue
            event = STEPS[step][1]
            options: dict[str, object] = {}
            if event == "pay":
                fate = self.fates.setdefault(order, self.rng.choices(["paid", "partly", "unpaid"],
                                                                     [PAID, PARTLY_PAID, 1 - PAID - PARTLY_PAID])[0])
                if fate == "unpaid":
                    self.done[order] = step + 1
                    continue
                if fate == "partly":
                    options["amount"] = "100.00"
            if self._event(order, event, **options):
                self.done[order] = step + 1
                taken.append((order, event))
        return taken
