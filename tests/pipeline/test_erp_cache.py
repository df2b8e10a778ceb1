"""The ERP master-data cache never decides on data SAP has since changed beyond what its rules
allow (issue 13): an entry lives no longer than its kind's TTL, and a person's crosswalk edit
forgets the partners it names at once. SAP sandbox over HTTP; the calls read off the sync attempts.
"""

from __future__ import annotations

import time
from typing import Any

import pytest

from crosswalks.models import ChangeChannel
from crosswalks.services import crosswalk_row_save
from crosswalks.tables import table_get
from integration_hub import ports
from integration_hub.models import SyncAttempt
from integration_hub.sandbox.sap import store
from integration_hub.sandbox.sap.sales import BP
from tests.pipeline.conftest import ORG_ID, World

pytestmark = pytest.mark.django_db(transaction=True)


def _partner(world: World) -> str:
    return str(world.flow.planner.clean_companies[0].business_partner)


def _rename_in_sap(partner: str, name: str) -> None:
    """What a master-data clerk does in SAP: the partner's name changes there, not in the hub."""
    row = store.rows(BP, "A_BusinessPartner", BusinessPartner=partner)[0]
    store.delete(BP, "A_BusinessPartner", BusinessPartner=partner)
    store.insert(BP, "A_BusinessPartner", [{**row, "BusinessPartnerFullName": name}])


def _reads(partner: str) -> int:
    return SyncAttempt.objects.filter(operation="read:A_BusinessPartner", url__contains=partner).count()


def test_a_partner_changed_in_sap_is_seen_once_its_ttl_has_passed(world: World, settings: Any) -> None:
    settings.HUB_ERP_CACHE_SECONDS = {**settings.HUB_ERP_CACHE_SECONDS, "customer": 2}
    erp = ports.erp_for()
    partner = _partner(world)
    before = erp.customer_get(partner).name
    _rename_in_sap(partner, "Renamed In SAP Ltd")

    assert erp.customer_get(partner).name == before  # inside the TTL: the shared copy, no call
    assert _reads(partner) == 1
    time.sleep(2.2)

    assert erp.customer_get(partner).name == "Renamed In SAP Ltd"
    assert _reads(partner) == 2


def test_a_stewards_crosswalk_edit_naming_a_partner_makes_the_next_read_go_to_sap(world: World) -> None:
    erp = ports.erp_for()
    partner = _partner(world)
    erp.customer_get(partner)
    _rename_in_sap(partner, "Renamed Before The Edit GmbH")
    assert erp.customer_get(partner).name != "Renamed Before The Edit GmbH"  # cached (TTL 900 s)

    crosswalk_row_save(table=table_get("customers"), actor=None, channel=ChangeChannel.UI,
                       raw={"org_id": ORG_ID, "crm_account_id": "001000000000123AAA",
                            "crm_account_name": "Renamed Before The Edit", "sap_business_partner": partner})

    assert erp.customer_get(partner).name == "Renamed Before The Edit GmbH"
    assert _reads(partner) == 2
