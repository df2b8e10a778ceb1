from __future__ import annotations

from decimal import Decimal

import pytest

from integration_hub.connectors.salesforce import SalesforceClient
from integration_hub.crm.salesforce import deal_from_salesforce, extract_soql
from integration_hub.sandbox.dealflow import DEFECTS, DealFlow
from integration_hub.sandbox.salesforce.seed import seed as seed_salesforce


@pytest.fixture
def salesforce(sf_sandbox, settings):
    settings.SALESFORCE_INSTANCE_URL = sf_sandbox.url
    seed_salesforce()
    client = SalesforceClient.from_settings()
    yield client
    client.close()


@pytest.mark.parametrize("kind", ["clean", *DEFECTS])
def test_it_closes_a_deal_in_the_sandbox_that_the_hub_reads_back_whole(salesforce, kind):
    flow = DealFlow(salesforce, seed=7)
    opportunity_id, planned = flow.one(kind)
    records = salesforce.query_all(extract_soql(opportunity_id))
    assert len(records) == 1
    deal, log = deal_from_salesforce(records[0], org_id="00D000000000001EAA", currency="USD")
    assert deal.stage == "Closed Won"
    assert deal.organization.name == planned.company.crm_name
    assert [line.product_code for line in deal.lines] == [line.product.code for line in planned.lines]
    assert deal.lines[0].total_price == (planned.lines[0].unit_price * planned.lines[0].quantity).quantize(Decimal("0.01"))
    assert deal.primary_contact.email
    assert deal.ship_to.is_complete
    assert deal.payment_terms_crm == planned.payment_terms
    assert log
