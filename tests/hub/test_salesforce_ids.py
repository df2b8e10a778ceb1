"""Salesforce ids in their 15- and 18-character forms: one canonical form, a checked suffix, and
one handoff per deal whichever form a trigger sends."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
from django.utils.dateparse import parse_datetime

from integration_hub import ports
from integration_hub.crm.base import ChangedDeal
from integration_hub.errors import InvalidSalesforceId
from integration_hub.models import Handoff, PollWatermark, salesforce_id_18, salesforce_ids_equal
from integration_hub.services import handoff_receive
from integration_hub.triggers import poll_salesforce
from tests.factories import ORG_ID

pytestmark = pytest.mark.django_db

DEAL_15 = "0065g00000AbCdE"
DEAL_18 = "0065g00000AbCdEAAV"
# Another Opportunity: the same characters in another case.
TWIN_15 = "0065g00000abcde"


def test_it_gives_every_form_of_an_id_the_same_canonical_18_char_form() -> None:
    forms = [DEAL_15, DEAL_18, DEAL_15 + "aav", DEAL_15 + "aAv", f" {DEAL_18}\n"]

    assert {salesforce_id_18(form) for form in forms} == {DEAL_18}
    assert salesforce_id_18(TWIN_15) == TWIN_15 + "AAA"


def test_it_refuses_an_18_char_id_whose_suffix_does_not_match_the_case_of_its_first_15() -> None:
    with pytest.raises(InvalidSalesforceId) as forged:
        salesforce_id_18("00D000000000001ZZZ")
    with pytest.raises(InvalidSalesforceId) as twin:
        salesforce_id_18(TWIN_15 + "AAV")

    assert str(forged.value) == (
        "'00D000000000001ZZZ' is not a valid Salesforce id: "
        "its last 3 characters should be 'EAA' for the case of the first 15"
    )
    assert "should be 'AAA'" in str(twin.value)


@pytest.mark.parametrize(
    "value",
    ["", "006-bad", DEAL_15[:14], DEAL_18[:17], DEAL_18 + "X", "0065g00000AbC-E", "0065g00000AbCdé", "0065g 00000AbCdE"],
    ids=["empty", "short", "14-chars", "17-chars", "19-chars", "punctuation", "non-ascii", "inner-space"],
)
def test_it_refuses_anything_but_15_or_18_letters_and_digits(value: str) -> None:
    with pytest.raises(InvalidSalesforceId, match="is not a valid Salesforce id: it should be 15 or 18 letters"):
        salesforce_id_18(value)


def test_it_compares_ids_by_their_canonical_form() -> None:
    assert salesforce_ids_equal(DEAL_15, DEAL_15 + "aav")
    assert not salesforce_ids_equal(DEAL_15, TWIN_15)
    with pytest.raises(InvalidSalesforceId):
        salesforce_ids_equal(ORG_ID, "00D000000000001ZZZ")


def test_it_receives_a_deal_as_one_handoff_whichever_form_its_ids_arrive_in() -> None:
    for org_id, opportunity_id in [(ORG_ID, DEAL_18), (ORG_ID[:15], DEAL_15), (ORG_ID[:15] + "eaa", DEAL_15 + "aav")]:
        handoff_receive(org_id=org_id, opportunity_id=opportunity_id, source="poll", actor_label="poll")

    handoff = Handoff.objects.get()
    assert (handoff.org_id, handoff.opportunity_id) == (ORG_ID, DEAL_18)


@pytest.mark.parametrize(
    ("org_id", "opportunity_id"),
    [(ORG_ID, DEAL_15 + "ZZZ"), ("00D000000000001ZZZ", DEAL_18), (ORG_ID, "0065g00000AbCd")],
    ids=["forged-opportunity-checksum", "forged-org-checksum", "wrong-length"],
)
def test_it_receives_no_deal_under_an_id_that_is_not_one(org_id: str, opportunity_id: str) -> None:
    with pytest.raises(InvalidSalesforceId):
        handoff_receive(org_id=org_id, opportunity_id=opportunity_id, source="poll", actor_label="poll")

    assert not Handoff.objects.exists()


class RecordedCrm:
    """A CRM port answering the poll with recorded changes."""

    system = "salesforce"

    def __init__(self, records: list[dict[str, Any]]) -> None:
        self.changes = [ChangedDeal(r["Id"], parse_datetime(r["SystemModstamp"].replace("+0000", "+00:00")))
                        for r in records]

    def closed_won_changed(self, **kwargs: Any) -> list[ChangedDeal]:
        return self.changes


def test_it_polls_past_an_opportunity_whose_id_is_broken_and_logs_it(
    monkeypatch: pytest.MonkeyPatch, settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SALESFORCE_ORG_ID = ORG_ID
    records = [
        {"Id": DEAL_15 + "ZZZ", "SystemModstamp": "2025-03-03T09:00:00.000+0000"},
        {"Id": DEAL_15, "SystemModstamp": "2025-03-03T09:00:01.000+0000"},
        {"Id": "0065g00000AbCd", "SystemModstamp": "2025-03-03T09:00:02.000+0000"},
    ]
    with ports.ports_use(crm=RecordedCrm(records)), caplog.at_level(logging.WARNING, logger="integration_hub.triggers"):
        created = poll_salesforce()

    assert created == 1
    assert list(Handoff.objects.values_list("opportunity_id", flat=True)) == [DEAL_18]
    warnings = [r.getMessage() for r in caplog.records if r.name == "integration_hub.triggers"]
    assert len(warnings) == 2
    assert f"'{DEAL_15}ZZZ' is not a valid Salesforce id" in warnings[0]
    assert "'0065g00000AbCd' is not a valid Salesforce id" in warnings[1]
    # Skipped for good: the next poll starts after the broken rows.
    assert PollWatermark.objects.get(org_id=ORG_ID).last_system_modstamp == datetime(2025, 3, 3, 9, 0, 2, tzinfo=UTC)
