"""When SAP or Salesforce is down, a request that needs them gets a clear answer, never a 500."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from crosswalks.models import ProductMapping
from integration_hub.errors import ServiceUnavailable
from tests.factories import Cast

pytestmark = pytest.mark.django_db
CSV = "crm_product_code,materials\nX3,MAT-3\n"


@pytest.fixture
def sap_down(settings: Any) -> Iterator[None]:
    """SAP on a loopback port that refuses every connection."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    settings.SAP_BASE_URL = f"http://127.0.0.1:{sock.getsockname()[1]}/sap/opu/odata/sap/"
    yield
    sock.close()


def api(user: object) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get_or_create(user=user)[0].key}")
    return client


def test_it_says_sap_could_not_be_asked_when_a_csv_import_needs_it(cast: Cast, sap_down: None) -> None:
    response = api(cast.admin).post(reverse("api:crosswalk-import", args=["products"]), {"content": CSV},
                                    format="json")

    assert response.status_code == 400
    assert response.json()["errors"][0]["message"].startswith("SAP could not be asked")
    assert not ProductMapping.objects.exists()


def test_it_shows_the_sap_outage_on_the_import_screen(cast: Cast, sap_down: None) -> None:
    client = Client()
    client.force_login(cast.admin)

    response = client.post(reverse("crosswalks:import", args=["products"]), {"content": CSV})

    assert response.status_code == 422
    assert "SAP could not be asked" in response.content.decode()


def test_it_answers_503_with_retry_after_when_an_external_system_does_not_answer(cast: Cast) -> None:
    with mock.patch("integration_hub.api.trace_for", side_effect=ServiceUnavailable("SAP unreachable")):
        response = api(cast.admin).get(reverse("api:trace"), {"q": "4711"})

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert "did not answer (SAP unreachable)" in response.json()["detail"]
