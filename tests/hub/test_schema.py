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


@pytest.mark.django_db
def test_it_shows_the_schema_to_signed_in_users_only(client: object, admin_client: object) -> None:
    anonymous = client.get(reverse("schema"))  # type: ignore[attr-defined]

    assert anonymous.status_code == 401
    assert b"credentials were not provided" in anonymous.content
    assert admin_client.get(reverse("schema")).status_code == 200  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_it_documents_every_operations_error_answers_with_their_body(admin_client: object) -> None:
    schema = admin_client.get(reverse("schema"), {"format": "json"}).json()  # type: ignore[attr-defined]
    missing = []
    for path, operations in schema["paths"].items():
        if path.startswith("/api/v1/hooks/"):  # SOAP: documents its own answers
            continue
        for method, operation in operations.items():
            for code in ("400", "401", "403", "404"):
                content = operation["responses"].get(code, {}).get("content", {}).get("application/json")
                if not content or not content.get("schema"):
                    missing.append(f"{method.upper()} {path} {code}")
    assert missing == []
    assert schema["components"]["schemas"]["Error"]["required"] == ["detail"]
    # A time of day has no offset: not `format: time`, which needs one.
    day_start = schema["components"]["schemas"]["BusinessCalendar"]["properties"]["day_start"]
    assert day_start["format"] == "partial-time"


@pytest.mark.django_db
def test_it_answers_json_for_an_api_url_no_route_matches(admin_client: object) -> None:
    response = admin_client.get("/api/v1/queues/no such queue/members/")  # type: ignore[attr-defined]

    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}
    assert admin_client.get("/no-such-page/").status_code == 404  # type: ignore[attr-defined]
