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
