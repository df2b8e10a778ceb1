from __future__ import annotations

from integration_hub.sandbox import catalog
from integration_hub.sandbox.netsuite.models import NsRecord
from integration_hub.sandbox.netsuite.seed import seed


def test_it_seeds_the_second_legal_entity_from_the_catalogue_once(db):
    counts = seed()
    assert counts["customer"] == len(catalog.netsuite_customers())
    assert counts["inventoryItem"] + counts["nonInventorySaleItem"] == len(catalog.materials())
    assert counts["invoice"] == sum(len(c.open_invoices) for c in catalog.netsuite_customers())
    assert seed() == counts  # idempotent
    currencies = {NsRecord.objects.get(record_type="currency", internal_id=int(r.data["currency"])).data["symbol"]
                  for r in NsRecord.objects.filter(record_type="customer")}
    assert currencies == {"CAD", "GBP"}


def test_its_customers_are_name_variants_of_salesforce_accounts(db):
    companies = {c.key: c for c in catalog.companies()}
    customers = [c for c in catalog.netsuite_customers() if not c.duplicate_of]
    assert all(companies[c.company_key].in_sap for c in customers)
    differing = [c for c in customers if c.company_name != companies[c.company_key].crm_name]
    assert len(differing) >= 0.8 * len(customers)  # mostly not the name sales typed
    stems = [companies[c.company_key].crm_name.split()[0].lower() for c in customers]
    assert all(stem in c.company_name.lower() for stem, c in zip(stems, customers, strict=True))
