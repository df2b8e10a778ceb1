from __future__ import annotations

import pytest

from integration_hub.connectors.base import CallRecord
from integration_hub.services import READ_BODY_LIMIT, sync_attempt_record

pytestmark = pytest.mark.django_db


def _record(method: str, status: int, body: object) -> CallRecord:
    return CallRecord(system="sap", operation="read:A_BusinessPartner", method=method, url="http://sap/x",
                      status=status, response_body=body)


def test_it_keeps_only_the_start_of_a_large_successful_read():
    big = {"d": {"results": [{"BusinessPartner": str(n), "Name": "x" * 50} for n in range(200)]}}
    attempt = sync_attempt_record(handoff=None, record=_record("GET", 200, big))
    stored = attempt.response["body"]
    assert stored["truncated"] is True
    assert len(stored["preview"]) == READ_BODY_LIMIT
    assert stored["size"] > READ_BODY_LIMIT


def test_it_stores_writes_and_failures_whole():
    big = {"error": {"message": {"value": "y" * 5000}}}
    failed = sync_attempt_record(handoff=None, record=_record("GET", 500, big))
    written = sync_attempt_record(handoff=None, record=_record("POST", 201, big))
    assert failed.response["body"] == big
    assert written.response["body"] == big
