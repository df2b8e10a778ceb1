"""The Salesforce Outbound Message webhook: authentication, parsing, dedupe and the Ack."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from integration_hub.models import Handoff, HandoffEvent, OutboundNotification
from integration_hub.webhooks import ACK_BODY

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "salesforce_outbound"
SECRET = "s3cr3t-webhook-token"
ORG = "00D000000000001EAA"

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def webhook_settings(settings: object) -> None:
    settings.HUB_WEBHOOK_SECRET = SECRET  # type: ignore[attr-defined]
    settings.SALESFORCE_ORG_ID = ORG  # type: ignore[attr-defined]


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def closed_won(
    *, org_id: str = ORG, opportunity_id: str = "0065g00000AbCdEAAV", notification_id: str = "04l5g000001XyZaAAK"
) -> bytes:
    """closed_won.xml as Salesforce sends it again for the same deal: a new notification each time."""
    return (
        fixture("closed_won.xml")
        .replace(f"<OrganizationId>{ORG}</OrganizationId>".encode(), f"<OrganizationId>{org_id}</OrganizationId>".encode())
        .replace(b"<sf:Id>0065g00000AbCdEAAV</sf:Id>", f"<sf:Id>{opportunity_id}</sf:Id>".encode())
        .replace(b"<Id>04l5g000001XyZaAAK</Id>", f"<Id>{notification_id}</Id>".encode())
    )


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hub.security"]


def post(body: bytes, *, token: str | None = SECRET, header_token: str | None = None) -> object:
    url = reverse("api:salesforce-outbound-message")
    if token is not None:
        url += f"?token={token}"
    extra = {"HTTP_X_HUB_TOKEN": header_token} if header_token else {}
    # Salesforce's own headers: SOAP 1.1 content type and a SOAPAction.
    return Client().post(
        url, data=body, content_type="text/xml; charset=utf-8", HTTP_SOAPACTION='""', **extra
    )


def test_it_turns_a_closed_won_notification_into_one_handoff_and_acks() -> None:
    response = post(fixture("closed_won.xml"))

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert response.content.decode() == ACK_BODY
    handoff = Handoff.objects.get()
    assert (handoff.org_id, handoff.opportunity_id) == (ORG, "0065g00000AbCdEAAV")
    assert handoff.status == "received"
    assert handoff.source == "webhook"
    assert OutboundNotification.objects.get().notification_id == "04l5g000001XyZaAAK"
    event = HandoffEvent.objects.get(handoff=handoff)
    assert (event.from_status, event.to_status, event.actor_label) == ("", "received", "webhook")


def test_it_enqueues_processing_only_after_the_handoff_is_committed(
    django_capture_on_commit_callbacks: object, enqueued: list[int]
) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:  # type: ignore[operator]
        post(fixture("closed_won.xml"))
        # Nothing reached the broker while the transaction was still open.
        assert enqueued == []

    assert len(callbacks) == 1
    assert enqueued == [Handoff.objects.get().pk]


def test_it_takes_the_same_message_delivered_three_times_as_one_handoff(
    django_capture_on_commit_callbacks: object, enqueued: list[int]
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        responses = [post(fixture("closed_won.xml")) for _ in range(3)]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert all(r.content.decode() == ACK_BODY for r in responses)
    assert Handoff.objects.count() == 1
    assert OutboundNotification.objects.count() == 1
    assert HandoffEvent.objects.count() == 1
    assert len(enqueued) == 1


def test_it_acks_a_non_closed_won_notification_without_a_handoff() -> None:
    response = post(fixture("not_closed_won.xml"))

    assert response.status_code == 200
    assert response.content.decode() == ACK_BODY
    assert not Handoff.objects.exists()
    assert not OutboundNotification.objects.exists()


def test_it_takes_only_closed_won_opportunities_from_a_mixed_batch_with_15_char_ids() -> None:
    response = post(fixture("mixed_batch.xml"))

    assert response.status_code == 200
    # The 15-char id arrives in its 18-char form, so the poll finds the same row.
    assert list(Handoff.objects.values_list("opportunity_id", flat=True)) == ["0065g00000AbCdGAAV"]


def test_it_accepts_the_token_in_the_x_hub_token_header() -> None:
    response = post(fixture("closed_won.xml"), token=None, header_token=SECRET)

    assert response.status_code == 200
    assert Handoff.objects.count() == 1


@pytest.mark.parametrize("token", [None, "", "wrong-token", SECRET + "x"])
def test_it_refuses_a_missing_or_wrong_token_with_401_and_logs_without_the_secret(
    token: str | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.security"):
        response = post(fixture("closed_won.xml"), token=token)

    assert response.status_code == 401
    assert b"<faultstring>" in response.content
    assert not Handoff.objects.exists()
    records = [r for r in caplog.records if r.name == "hub.security"]
    assert len(records) == 1
    assert "token" in records[0].getMessage()
    assert SECRET not in caplog.text
    if token:
        assert token not in caplog.text


def test_it_refuses_an_unset_secret_even_with_an_empty_token(settings: object) -> None:
    settings.HUB_WEBHOOK_SECRET = ""  # type: ignore[attr-defined]

    assert post(fixture("closed_won.xml"), token="").status_code == 401
    assert not Handoff.objects.exists()


def test_it_refuses_another_organization_with_403_and_a_security_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    body = fixture("closed_won.xml").replace(ORG.encode(), b"00D999999999999EAA")

    with caplog.at_level(logging.INFO, logger="hub.security"):
        response = post(body)

    assert response.status_code == 403
    assert not Handoff.objects.exists()
    assert not OutboundNotification.objects.exists()
    assert any(r.name == "hub.security" and "00D999999999999EAA" in r.getMessage() for r in caplog.records)
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (fixture("malformed.xml"), "not well-formed XML"),
        (b"", "empty body"),
        (b"<hello/>", "expected a SOAP 1.1 Envelope"),
        (fixture("billion_laughs.xml"), "forbidden XML construct"),
        (
            b'<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body/></soapenv:Envelope>',
            "no notifications element",
        ),
        (
            fixture("closed_won.xml").replace(b"<sf:Id>0065g00000AbCdEAAV</sf:Id>", b"<sf:Id>bogus</sf:Id>"),
            "is not a valid Salesforce id",
        ),
    ],
    ids=["broken", "empty", "not-soap", "entity-expansion", "no-notifications", "bad-opportunity-id"],
)
def test_it_answers_malformed_xml_with_a_400_soap_fault_and_stores_nothing(body: bytes, says: str) -> None:
    response = post(body)

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/xml")
    assert b"<soapenv:Fault>" in response.content
    assert says in response.content.decode()
    assert not Handoff.objects.exists()
    assert not OutboundNotification.objects.exists()


def test_it_stores_nothing_of_a_batch_whose_last_notification_is_malformed() -> None:
    body = fixture("mixed_batch.xml").replace(b"<sf:Id>0065g00000AbCdHAAV</sf:Id>", b"<sf:Id></sf:Id>")

    response = post(body)

    assert response.status_code == 400
    assert not Handoff.objects.exists()


def test_it_ignores_the_accept_header_and_answers_soap() -> None:
    url = reverse("api:salesforce-outbound-message") + f"?token={SECRET}"
    response = Client().post(
        url, data=fixture("closed_won.xml"), content_type="text/xml", HTTP_ACCEPT="application/json"
    )

    assert response.status_code == 200
    assert response.content.decode() == ACK_BODY


def test_it_only_answers_post() -> None:
    url = reverse("api:salesforce-outbound-message") + f"?token={SECRET}"

    assert Client().get(url).status_code == 405


def test_it_takes_a_deal_sent_with_either_form_of_the_org_id_as_one_handoff() -> None:
    forms = [ORG, ORG[:15], ORG[:15] + "eaa"]

    responses = [
        post(closed_won(org_id=org_id, notification_id=f"04l5g000001XyZ{n}AAK"))
        for n, org_id in zip("abc", forms, strict=True)
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    handoff = Handoff.objects.get()
    assert (handoff.org_id, handoff.opportunity_id) == (ORG, "0065g00000AbCdEAAV")
    assert set(OutboundNotification.objects.values_list("handoff_id", "org_id")) == {(handoff.pk, ORG)}
    assert OutboundNotification.objects.count() == 3


def test_it_takes_a_deal_sent_with_either_form_of_its_opportunity_id_as_one_handoff() -> None:
    forms = ["0065g00000AbCdEAAV", "0065g00000AbCdE", "0065g00000AbCdEaav"]

    responses = [
        post(closed_won(opportunity_id=opportunity_id, notification_id=f"04l5g000001XyZ{n}AAK"))
        for n, opportunity_id in zip("abc", forms, strict=True)
    ]

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert list(Handoff.objects.values_list("opportunity_id", flat=True)) == ["0065g00000AbCdEAAV"]
    assert OutboundNotification.objects.count() == 3


def test_it_refuses_an_org_id_with_a_forged_checksum_with_a_soap_fault_and_a_security_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.security"):
        response = post(closed_won(org_id="00D000000000001ZZZ"))

    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/xml")
    assert b"<soapenv:Fault>" in response.content
    assert (
        "OrganizationId: '00D000000000001ZZZ' is not a valid Salesforce id: its last 3 characters "
        "should be 'EAA' for the case of the first 15" in response.content.decode()
    )
    assert not Handoff.objects.exists()
    assert not OutboundNotification.objects.exists()
    lines = security_lines(caplog)
    assert len(lines) == 1
    assert "00D000000000001ZZZ" in lines[0]
    assert SECRET not in caplog.text


@pytest.mark.parametrize(
    "opportunity_id",
    ["0065g00000AbCdEZZZ", "0065g00000abcdeAAV", "0065g00000AbCdEAA", "0065g00000AbC-E", "0065g00000AbCdé"],
    ids=["forged-checksum", "another-case-same-suffix", "17-chars", "punctuation", "non-ascii"],
)
def test_it_refuses_an_opportunity_id_that_is_not_one_with_a_soap_fault_and_a_security_log_line(
    opportunity_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="hub.security"):
        response = post(closed_won(opportunity_id=opportunity_id))

    assert response.status_code == 400
    assert b"<soapenv:Fault>" in response.content
    assert "Notification 04l5g000001XyZaAAK: Opportunity Id" in response.content.decode()
    assert "is not a valid Salesforce id" in response.content.decode()
    assert not Handoff.objects.exists()
    assert not OutboundNotification.objects.exists()
    lines = security_lines(caplog)
    assert len(lines) == 1
    assert "is not a valid Salesforce id" in lines[0]


def test_it_accepts_the_org_configured_by_its_15_char_id_but_not_a_forged_checksum(settings: object) -> None:
    settings.SALESFORCE_ORG_ID = ORG[:15]  # type: ignore[attr-defined]

    accepted = post(closed_won())
    forged = post(closed_won(org_id="00D000000000001ZZZ", notification_id="04l5g000001XyZbAAK"))

    assert (accepted.status_code, forged.status_code) == (200, 400)
    assert Handoff.objects.get().org_id == ORG
    assert OutboundNotification.objects.count() == 1


def test_it_refuses_every_message_when_the_configured_org_id_is_not_an_id(
    settings: object, caplog: pytest.LogCaptureFixture
) -> None:
    settings.SALESFORCE_ORG_ID = "00D000000000001ZZZ"  # type: ignore[attr-defined]

    with caplog.at_level(logging.INFO, logger="hub.security"):
        response = post(closed_won())

    assert response.status_code == 403
    assert not Handoff.objects.exists()
    assert any("SALESFORCE_ORG_ID is not a valid Salesforce id" in line for line in security_lines(caplog))
