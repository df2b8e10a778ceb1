"""/api/schema/ documents every API view without a warning."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.urls import reverse


@pytest.mark.django_db
def test_it_generates_the_openapi_schema_without_warnings(tmp_path: object, admin_client: object) -> None:
    # --fail-on-warn turns any drf-spectacular warning into an error.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))  # type: ignore[operator]
    schema = (tmp_path / "schema.yaml").read_text()  # type: ignore[operator]
    for path in (
        "/api/v1/handoffs/",
        "/api/v1/exceptions/",
        "/api/v1/crosswalks/products/",
        "/api/v1/hooks/salesforce/outbound-message/",
    ):
        assert path in schema
    assert admin_client.get(reverse("schema")).status_code == 200  # type: ignore[attr-defined]
