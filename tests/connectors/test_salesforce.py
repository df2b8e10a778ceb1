"""The Salesforce connector against the sandbox: each failure surfaces as the right hub error."""

from __future__ import annotations

import json
import socket
import time

import pytest
from simple_salesforce import Salesforce

from integration_hub import errors
from integration_hub.connectors.salesforce import SalesforceClient, _Transport
from integration_hub.sandbox.faults import fault_add
from integration_hub.sandbox.salesforce import store


@pytest.fixture
def calls():
    return []


@pytest.fixture
def sf(sf_sandbox, settings, calls):
    settings.SALESFORCE_INSTANCE_URL = sf_sandbox.url
    settings.SALESFORCE_SESSION_ID = settings.SANDBOX_SALESFORCE_TOKEN
    client = SalesforceClient.from_settings(recorder=calls.append)
    yield client
    client.close()


def _fault(kind: str, operation: str, **extra) -> None:
    fault_add(system="salesforce", kind=kind, operation=operation, times=extra.pop("times", 1), **extra)


def test_it_raises_session_expired_and_works_again_after_reauthenticating(sf):
    _fault("session_expiry", "query")
    with pytest.raises(errors.SessionExpired) as expired:
        sf.query("SELECT Id FROM Account")
    assert (expired.value.status, expired.value.code, expired.value.system) == (401, "INVALID_SESSION_ID", "salesforce")

    sf.reauthenticate()
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0


def test_it_treats_a_wrong_token_as_an_expired_session(sf, settings):
    settings.SALESFORCE_SESSION_ID = "not-the-token"
    sf.reauthenticate()
    with pytest.raises(errors.SessionExpired):
        sf.query("SELECT Id FROM Account")


@pytest.mark.parametrize("status", [403, 429])
def test_it_carries_retry_after_on_rate_limits(sf, status):
    _fault("rate_limit", "create:Account", status=status, retry_after=42)
    with pytest.raises(errors.RateLimited) as limited:
        sf.create("Account", {"Name": "Throttled"})
    assert limited.value.status == status
    assert limited.value.code == "REQUEST_LIMIT_EXCEEDED"
    assert limited.value.retry_after == 42.0
    assert isinstance(limited.value, errors.TransientError)


def test_it_reports_row_lock_contention_as_document_locked(sf):
    account = sf.create("Account", {"Name": "Busy"})
    _fault("lock", "update:Account")
    with pytest.raises(errors.DocumentLocked) as locked:
        sf.update("Account", account, {"Phone": "1"})
    assert locked.value.code == "UNABLE_TO_LOCK_ROW"
    sf.update("Account", account, {"Phone": "1"})  # the lock is gone on the next try


@pytest.mark.parametrize(("status", "code"), [(503, "SERVER_UNAVAILABLE"), (500, "UNKNOWN_EXCEPTION")])
def test_it_reports_server_errors_as_service_unavailable(sf, status, code):
    _fault("status", "query", status=status)
    with pytest.raises(errors.ServiceUnavailable) as unavailable:
        sf.query_all("SELECT Id FROM Account")
    assert (unavailable.value.status, unavailable.value.code) == (status, code)


def test_it_reports_a_stale_etag(sf):
    account = sf.create("Account", {"Name": "Versioned"})
    _fault("stale_etag", "update:Account")
    with pytest.raises(errors.StaleETag):
        sf.update("Account", account, {"Name": "Versioned again"})


def test_it_reports_a_dropped_create_as_ambiguous_and_the_record_exists(sf):
    _fault("drop", "create:Opportunity")
    with pytest.raises(errors.AmbiguousOutcome):
        sf.create("Opportunity", {"Name": "Maybe created", "StageName": "Prospecting", "CloseDate": "2026-03-31"})

    found = sf.query_all("SELECT Id FROM Opportunity WHERE Name = 'Maybe created'")
    assert len(found) == 1  # the write happened: look it up before sending it again


def test_it_reports_a_dropped_read_as_service_unavailable(sf):
    account = sf.create("Account", {"Name": "Readable"})
    _fault("drop", "get:Account")
    with pytest.raises(errors.ServiceUnavailable):
        sf.get("Account", account)
    assert sf.get("Account", account)["Name"] == "Readable"


def test_it_times_out_a_slow_write_as_ambiguous_and_a_slow_read_as_unavailable(sf_sandbox, settings):
    settings.SALESFORCE_INSTANCE_URL = sf_sandbox.url
    settings.SALESFORCE_TIMEOUT = 0.25
    client = SalesforceClient.from_settings()
    _fault("latency", "create:Account", latency_ms=700)
    _fault("latency", "query", latency_ms=700)

    with pytest.raises(errors.AmbiguousOutcome):
        client.create("Account", {"Name": "Slow"})
    with pytest.raises(errors.ServiceUnavailable):
        client.query("SELECT Id FROM Account")

    deadline = time.monotonic() + 5
    while not client.query_all("SELECT Id FROM Account WHERE Name = 'Slow'"):
        assert time.monotonic() < deadline, "the timed-out create never landed"
        time.sleep(0.1)


def test_it_reports_a_refused_connection_as_service_unavailable(settings):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings.SALESFORCE_INSTANCE_URL = f"http://127.0.0.1:{port}"
    client = SalesforceClient.from_settings()
    with pytest.raises(errors.ServiceUnavailable):
        client.create("Account", {"Name": "Nobody home"})


def test_it_keeps_validation_details(sf):
    with pytest.raises(errors.ValidationFailed) as invalid:
        sf.create("Opportunity", {"Name": "No stage"})
    assert invalid.value.code == "REQUIRED_FIELD_MISSING"
    assert invalid.value.details == ["StageName", "CloseDate"]
    assert isinstance(invalid.value, errors.PermanentError)


def test_it_records_every_exchange_without_the_token(sf, calls):
    account = sf.create("Account", {"Name": "Recorded"})
    _fault("status", "get:Account", status=503)
    with pytest.raises(errors.ServiceUnavailable):
        sf.get("Account", account)

    assert [(c.operation, c.method, c.status, c.error_class) for c in calls] == [
        ("create:Account", "POST", 201, ""),
        ("get:Account", "GET", 503, "ServiceUnavailable"),
    ]
    assert calls[0].request_body == {"Name": "Recorded"}
    assert calls[0].response_body["id"] == account
    assert calls[0].url.endswith("/services/data/v59.0/sobjects/Account/")
    assert calls[0].duration_ms > 0
    assert "sandbox" not in json.dumps([c.__dict__ for c in calls])
    assert calls[0].request_headers["Authorization"] == "***"


def test_it_reuses_one_connection_and_knows_the_org(sf, settings):
    for _ in range(3):
        sf.query("SELECT Id FROM Account")
    pools = list(sf._transport.poolmanager.pools._container.values())
    assert [pool.num_connections for pool in pools] == [1]
    assert sf.org_id == settings.SANDBOX_SALESFORCE_ORG_ID


def test_it_serves_a_plain_simple_salesforce_client_through_the_downgrade_adapter(sf_sandbox):
    import requests

    session = requests.Session()
    session.trust_env = False
    session.mount("https://127.0.0.1", _Transport(timeout=5, downgrade=True))
    client = Salesforce(instance_url=sf_sandbox.url, session_id="sandbox", session=session)

    created = client.Account.create({"Name": "Plain"})
    assert created["success"] is True and created["errors"] == []
    assert client.Account.update(created["id"], {"Phone": "2"}) == 204
    assert client.query("SELECT Phone FROM Account")["records"][0]["Phone"] == "2"
    assert client.api_usage["api-usage"].total == 15000


def _records(sobject: str, ids: list[str], **fields) -> list[dict]:
    return [{"attributes": {"type": sobject}, "id": record_id, **fields} for record_id in ids]


def test_it_updates_a_collection_in_calls_of_200_and_answers_in_the_given_order(sf, calls):
    accounts = [store.record_create(sobject="Account", data={"Name": f"Customer {n}"}).record_id for n in range(150)]
    opps = [store.record_create(sobject="Opportunity", data={
        "Name": f"Deal {n}", "StageName": "Closed Won", "CloseDate": "2026-06-30"}).record_id for n in range(300)]
    # Interleaved types: sent as they come, this would be 300 chunks; Salesforce takes 10 per call.
    records = []
    for n, opp in enumerate(opps):
        records += _records("Opportunity", [opp], ERP_Order_Status__c="In Process" if n % 2 else "Open")
        if n < len(accounts):
            records += _records("Account", [accounts[n]], ERP_Credit_Status__c="OK", ERP_Open_AR__c=float(n))
    assert records[6]["attributes"]["type"] == "Opportunity"
    records[6]["ERP_Order_Status__c"] = "Shipped"  # one bad value among 450
    calls.clear()

    results = sf.update_collection(records)

    patches = [c for c in calls if c.operation == "composite:sobjects"]
    assert [(c.method, c.status, len(c.response_body)) for c in patches] == [
        ("PATCH", 200, 200), ("PATCH", 200, 200), ("PATCH", 200, 50)]
    assert all(c.url.endswith("/services/data/v59.0/composite/sobjects") for c in patches)
    # Recorded bodies are cut at 20 000 characters: a 200-record request is kept as its first characters.
    assert [str(c.request_body)[:33] for c in patches[:2]] == ['{"allOrNone": false, "records": ['] * 2
    assert patches[2].request_body["allOrNone"] is False and len(patches[2].request_body["records"]) == 50
    for call in patches:  # each call holds at most one run of each type (key prefixes 001, 006)
        prefixes = [r["id"][:3] for r in call.response_body]
        assert len([p for i, p in enumerate(prefixes) if i == 0 or prefixes[i - 1] != p]) <= 2
    assert patches[0].request_headers["Authorization"] == "***"

    assert len(results) == 450
    assert [r.get("id") for r in results] == [r["id"] for r in records]
    assert [n for n, r in enumerate(results) if not r["success"]] == [6]
    assert results[6]["errors"][0]["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert sf.query("SELECT COUNT() FROM Account WHERE ERP_Credit_Status__c = 'OK'")["totalSize"] == 150
    assert sf.query("SELECT COUNT() FROM Opportunity WHERE ERP_Order_Status__c != null")["totalSize"] == 299


def test_it_keeps_all_or_none_within_one_call(sf, calls):
    account = sf.create("Account", {"Name": "Atomic"})
    calls.clear()

    results = sf.update_collection(
        _records("Account", [account], ERP_Credit_Status__c="Blocked")
        + _records("Account", ["001000000000000AAA"], ERP_Credit_Status__c="OK"), all_or_none=True)

    assert [r["errors"][0]["statusCode"] for r in results] == ["ALL_OR_NONE_OPERATION_ROLLED_BACK",
                                                               "ENTITY_IS_DELETED"]
    assert len(calls) == 1 and calls[0].request_body["allOrNone"] is True
    assert sf.get("Account", account)["ERP_Credit_Status__c"] is None

    calls.clear()
    with pytest.raises(errors.ValidationFailed):
        sf.update_collection(_records("Account", [account] * 201, ERP_Credit_Status__c="OK"), all_or_none=True)
    assert calls == []  # refused before anything is sent
    assert sf.update_collection([]) == []


def test_it_raises_a_failed_collection_call_as_a_hub_error(sf):
    account = sf.create("Account", {"Name": "Throttled"})
    _fault("rate_limit", "composite:sobjects", retry_after=7)
    with pytest.raises(errors.RateLimited) as limited:
        sf.update_collection(_records("Account", [account], ERP_Credit_Status__c="OK"))
    assert limited.value.retry_after == 7.0

    _fault("drop", "composite:sobjects")
    with pytest.raises(errors.AmbiguousOutcome):  # it landed; sending it again is harmless
        sf.update_collection(_records("Account", [account], ERP_Credit_Status__c="Blocked"))
    assert sf.get("Account", account)["ERP_Credit_Status__c"] == "Blocked"


def test_it_reads_the_last_api_usage(sf):
    assert sf.api_usage() is None
    account = sf.create("Account", {"Name": "Counted"})
    used, limit = sf.api_usage()
    assert limit == 15000 and used >= 1

    sf.update_collection(_records("Account", [account], ERP_Open_AR__c=10.0))
    assert sf.api_usage() == (used + 1, 15000)
    with pytest.raises(errors.NotFound):  # an error answer carries the header too
        sf.get("Account", "001000000000000AAA")
    assert sf.api_usage() == (used + 2, 15000)
