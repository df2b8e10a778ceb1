"""Seed the NetSuite sandbox from the shared catalogue: subsidiaries, currencies, terms, price levels,
items with their pricing matrix, customers with credit limits and addresses, open invoices.

`seed()` is idempotent (nothing happens when customers exist, unless `reset=True`) and fast: rows go
in with bulk_create at the catalogue's internal ids; new records get ids above them.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction

from integration_hub.sandbox import catalog
from integration_hub.sandbox.netsuite.models import NsNonce, NsRecord, NsSequence
from integration_hub.sandbox.netsuite.records import money, today

Row = dict[str, Any]


@transaction.atomic
def seed(*, reset: bool = False) -> dict[str, int]:
    """Load the catalogue into the NetSuite sandbox; returns the number of records per type."""
    if reset:
        NsRecord.objects.all().delete()
        NsSequence.objects.all().delete()
        NsNonce.objects.all().delete()
    if not NsRecord.objects.filter(record_type="customer").exists():
        _seed_all()
    counts: dict[str, int] = {}
    for record_type in NsRecord.objects.values_list("record_type", flat=True):
        counts[record_type] = counts.get(record_type, 0) + 1
    return counts


def _record(record_type: str, table: str, internal_id: str, data: Row, external_id: str | None = None) -> NsRecord:
    return NsRecord(record_type=record_type, table=table, internal_id=int(internal_id), external_id=external_id,
                    data=data)


def _seed_all() -> None:
    records: list[NsRecord] = []
    currency_ids = catalog.NETSUITE_CURRENCY_IDS
    for internal_id, code, name in catalog.NETSUITE_CURRENCIES:
        records.append(_record("currency", "currency", internal_id, {
            "name": name, "symbol": code, "exchangeRate": str(Decimal(1) / catalog.FX_FROM_USD.get(code, Decimal(1))),
            "isBaseCurrency": code == "USD", "currencyPrecision": 2, "isInactive": False}))
    for internal_id, name, country, currency, parent in catalog.NETSUITE_SUBSIDIARIES:
        data: Row = {"name": name, "country": country, "currency": currency, "isInactive": False}
        if parent:
            data["parent"] = parent
        records.append(_record("subsidiary", "subsidiary", internal_id, data))
    for term in catalog.NETSUITE_TERMS:
        records.append(_record("term", "term", term.internal_id, {
            "name": term.name, "daysUntilNetDue": term.days_until_net_due,
            "discountPercent": str(term.discount_percent), "daysUntilExpiry": term.days_until_discount_expires,
            "preferred": term.name == "Net 30", "isInactive": False}))
    for internal_id, name, discount in catalog.NETSUITE_PRICE_LEVELS:
        records.append(_record("priceLevel", "priceLevel", internal_id,
                               {"name": name, "discountPct": str(-discount), "isInactive": False}))
    for item in catalog.netsuite_items():
        prices = [{"currencyPage": currency_ids[code], "priceLevel": level, "price": money(item.price(code, level))}
                  for code in ("USD", "CAD", "GBP") for level, _, _ in catalog.NETSUITE_PRICE_LEVELS]
        records.append(_record(item.record_type, "item", item.internal_id, {
            "itemId": item.item_id, "displayName": item.display_name, "salesDescription": item.display_name,
            "isInactive": False, "subsidiary": catalog.NETSUITE_SELLING_SUBSIDIARY, "price": prices}))
    companies = {c.key: c for c in catalog.companies()}
    invoices: list[NsRecord] = []
    invoice_id = 9001
    service_item = catalog.netsuite_items()[3]  # Implementation Services: what an open invoice bills
    day = today()
    for customer in catalog.netsuite_customers():
        company = companies[customer.company_key]
        contact = company.contacts[0] if company.contacts else None
        address = {"addressee": customer.company_name, "addr1": f"{company.house_number} {company.street}",
                   "city": company.city, "state": company.region, "zip": company.postal_code,
                   "country": company.country}
        data = {
            "entityId": customer.entity_id, "companyName": customer.company_name, "isPerson": False,
            "subsidiary": catalog.NETSUITE_SELLING_SUBSIDIARY, "currency": currency_ids[customer.currency],
            "terms": customer.terms_id, "priceLevel": customer.price_level, "creditLimit": str(customer.credit_limit),
            "isInactive": False, "phone": company.phone,
            "addressBook": [{"id": 1, "addressBookAddress": {k: v for k, v in address.items() if v},
                             "defaultBilling": True, "defaultShipping": True, "label": company.city}],
        }
        if customer.vat_reg_number:
            data["vatRegNumber"] = customer.vat_reg_number
        if contact is not None and not customer.duplicate_of:
            data["email"] = contact.email
        if customer.duplicate_of:
            data["comments"] = f"Possible duplicate of CUS{customer.duplicate_of}"
        records.append(_record("customer", "customer", customer.internal_id, data))
        term_days = next(t.days_until_net_due for t in catalog.NETSUITE_TERMS if t.internal_id == customer.terms_id)
        for amount, days_past_due in customer.open_invoices:
            due = day - timedelta(days=days_past_due)
            invoices.append(_record("invoice", "transaction", str(invoice_id), {
                "entity": customer.internal_id, "tranId": f"INV{invoice_id}", "currency": currency_ids[customer.currency],
                "subsidiary": catalog.NETSUITE_SELLING_SUBSIDIARY, "terms": customer.terms_id,
                "tranDate": (due - timedelta(days=term_days)).isoformat(), "dueDate": due.isoformat(), "_paid": "0",
                "item": [{"line": 1, "item": service_item.internal_id, "quantity": "1", "rate": money(amount),
                          "amount": money(amount), "description": "Services rendered"}],
            }))
            invoice_id += 1
    NsRecord.objects.bulk_create(records + invoices, batch_size=500)
