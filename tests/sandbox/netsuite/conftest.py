from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA256, Client

from integration_hub.sandbox.netsuite.seed import seed
from integration_hub.sandbox.server import RunningSandbox


class Tba(requests.auth.AuthBase):
    """NetSuite token-based authentication: OAuth 1.0a, HMAC-SHA256, realm = the account id."""

    def __init__(self, **overrides: str | None) -> None:
        # The sandbox's documented defaults; a test overrides one to see it refused.
        values = {"realm": "SANDBOX", "consumer_key": "sandbox", "consumer_secret": "sandbox", "token": "sandbox",
                  "token_secret": "sandbox", "nonce": None, "timestamp": None, **overrides}
        self.client = Client(values["consumer_key"], client_secret=values["consumer_secret"],
                             resource_owner_key=values["token"], resource_owner_secret=values["token_secret"],
                             signature_method=SIGNATURE_HMAC_SHA256, realm=values["realm"], nonce=values["nonce"],
                             timestamp=values["timestamp"])
        self.last_header = ""

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        # JSON bodies stay out of the signature base string (only form bodies are signed).
        _, headers, _ = self.client.sign(request.url, request.method, None, {})
        request.headers["Authorization"] = headers["Authorization"]
        self.last_header = headers["Authorization"]
        return request


class NetSuite:
    """A tiny signed client for the sandbox's REST services."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.rest = f"{url}/services/rest"
        self.session = requests.Session()
        self.session.auth = Tba()

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 10)
        return self.session.request(method, f"{self.rest}/record/v1/{path}", **kwargs)

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.request("GET", path, **kwargs)

    def suiteql(self, q: str, *, limit: int = 1000, offset: int = 0) -> requests.Response:
        return self.session.post(f"{self.rest}/query/v1/suiteql", params={"limit": limit, "offset": offset},
                                 json={"q": q}, headers={"Prefer": "transient"}, timeout=10)

    def rows(self, q: str) -> list[dict[str, Any]]:
        response = self.suiteql(q)
        assert response.status_code == 200, response.text
        return [{k: v for k, v in item.items() if k != "links"} for item in response.json()["items"]]

    def created_id(self, response: requests.Response) -> str:
        assert response.status_code == 204, response.text
        return response.headers["Location"].rsplit("/", 1)[1]


@pytest.fixture
def ns(netsuite_sandbox: RunningSandbox) -> Iterator[NetSuite]:
    seed()
    client = NetSuite(netsuite_sandbox.url)
    yield client
    client.session.close()
