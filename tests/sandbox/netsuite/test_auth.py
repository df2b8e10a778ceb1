from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, Client

from tests.sandbox.netsuite.conftest import NetSuite, Tba


def _get(ns: NetSuite, auth: requests.auth.AuthBase | None) -> requests.Response:
    return requests.get(f"{ns.rest}/record/v1/customer/1001", auth=auth, timeout=10)


def _refused(response: requests.Response, reason: str) -> None:
    assert response.status_code == 401
    body = response.json()
    assert body["title"] == "Unauthorized"
    assert body["o:errorDetails"][0]["o:errorCode"] == "INVALID_LOGIN"
    assert response.headers["X-Sandbox-Login-Audit"] == reason


def test_it_accepts_a_valid_signature_including_query_parameters(ns):
    response = requests.get(f"{ns.rest}/record/v1/customer/1001", params={"expandSubResources": "true"},
                            auth=Tba(), timeout=10)
    assert response.status_code == 200
    assert "items" in response.json()["addressBook"]


def test_it_refuses_a_bad_signature_with_netsuites_body(ns):
    _refused(_get(ns, Tba(token_secret="not-the-secret")), "InvalidSignature")
    _refused(_get(ns, Tba(consumer_key="someone-else")), "InvalidConsumerKey")
    _refused(_get(ns, None), "MissingAuthorization")


def test_it_refuses_a_signature_over_another_url(ns):
    class Elsewhere(Tba):
        def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
            _, headers, _ = self.client.sign(request.url.replace("1001", "1002"), request.method, None, {})
            request.headers["Authorization"] = headers["Authorization"]
            return request
    _refused(_get(ns, Elsewhere()), "InvalidSignature")


def test_it_refuses_a_replayed_nonce(ns):
    stamp = str(int(time.time()))
    assert _get(ns, Tba(nonce="a1b2c3d4e5f6", timestamp=stamp)).status_code == 200
    _refused(_get(ns, Tba(nonce="a1b2c3d4e5f6", timestamp=stamp)), "InvalidNonce")


def test_it_refuses_an_old_timestamp_and_the_wrong_realm(ns):
    _refused(_get(ns, Tba(timestamp=str(int(time.time()) - 3600))), "InvalidTimestamp")
    _refused(_get(ns, Tba(realm="sandbox")), "InvalidRealm")  # the account id must be upper case


def test_it_refuses_hmac_sha1(ns):
    class Sha1(Tba):
        def __init__(self) -> None:
            super().__init__()
            self.client = Client("sandbox", client_secret="sandbox", resource_owner_key="sandbox",
                                 resource_owner_secret="sandbox", signature_method=SIGNATURE_HMAC_SHA1, realm="SANDBOX")
    _refused(_get(ns, Sha1()), "UnsupportedSignatureMethod")


def test_it_answers_429_past_the_accounts_concurrency_limit(ns):
    slow = ns.session.post(f"{ns.url}/_sandbox/faults", json={"kind": "latency", "latency_ms": 4000,
                                                               "operation": "record/customer:GET"}, timeout=10)
    assert slow.status_code == 201

    def call(_: int) -> requests.Response:
        return _get(ns, Tba())
    with ThreadPoolExecutor(8) as pool:
        responses = list(pool.map(call, range(8)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 5 + [429] * 3
    refused = next(r for r in responses if r.status_code == 429).json()
    assert refused["title"] == "Too Many Requests"
    assert refused["o:errorDetails"][0]["o:errorCode"] == "SSS_REQUEST_LIMIT_EXCEEDED"
    # The slots are given back: the next request goes through.
    ns.session.delete(f"{ns.url}/_sandbox/faults", timeout=10)
    assert _get(ns, Tba()).status_code == 200
