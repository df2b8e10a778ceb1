from __future__ import annotations

from collections.abc import Iterator

import pytest

from integration_hub.connectors.sap import SapClient
from integration_hub.sandbox.sap.seed import seed
from integration_hub.sandbox.server import RunningSandbox


@pytest.fixture
def seeded_sap(sap_sandbox: RunningSandbox) -> RunningSandbox:
    """The SAP sandbox over HTTP, seeded from the catalogue."""
    seed()
    return sap_sandbox


@pytest.fixture
def service_root(seeded_sap: RunningSandbox) -> str:
    return f"{seeded_sap.url}/sap/opu/odata/sap/"


@pytest.fixture
def sap_client(service_root: str) -> Iterator[SapClient]:
    client = SapClient(base_url=service_root, user="sandbox", password="sandbox", timeout=10)
    yield client
    client.close()
