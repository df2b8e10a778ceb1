"""Outbound Messages: a won Opportunity is posted to the hub until the hub acknowledges it."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from datetime import timedelta

import requests

from integration_hub.sandbox.salesforce.models import SfOutboundMessage
from integration_hub.sandbox.salesforce.outbound import dispatch_pending
from integration_hub.sandbox.salesforce.runtime import start_background

NS = {"soapenv": "http://schemas.xmlsoap.org/soap/envelope/", "om": "http://soap.sforce.com/2005/09/outbound",
      "sf": "urn:sobject.enterprise.soap.sforce.com"}


def _won_deal(sf):
    account = sf.create("Account", {"Name": "Globex"})
    opp = sf.create("Opportunity", {"Name": "Globex renewal", "AccountId": account, "StageName": "Negotiation/Review",
                                    "CloseDate": "2026-06-30", "Amount": 1200.0})
    return opp


def _wait(predicate, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_it_retries_an_outbound_message_until_the_hub_acks_it(sf, settings, outbound_receiver):
    settings.SANDBOX_OUTBOUND_MESSAGE_URL = outbound_receiver.url
    settings.SANDBOX_OUTBOUND_BACKOFF = 0.1
    outbound_receiver.script = [(500, "boom"), (200, "<html>no ack here</html>")]
    opp = _won_deal(sf)
    assert outbound_receiver.deliveries == []  # an open deal sends nothing

    sf.update("Opportunity", opp, {"StageName": "Closed Won"})
    stop = start_background(interval=0.05)
    try:
        _wait(lambda: SfOutboundMessage.objects.filter(status="delivered").exists())
    finally:
        stop()

    assert [d.answered for d in outbound_receiver.deliveries] == [500, 200, 200]
    delivery = outbound_receiver.deliveries[-1]
    assert delivery.headers["SOAPAction"] == '""'
    assert delivery.headers["Content-Type"] == "text/xml; charset=utf-8"
    notifications = ET.fromstring(delivery.body).find("soapenv:Body/om:notifications", NS)  # noqa: S314 - our own output
    assert notifications.findtext("om:OrganizationId", namespaces=NS) == settings.SANDBOX_SALESFORCE_ORG_ID
    assert notifications.findtext("om:ActionId", namespaces=NS).startswith("04k")
    note = notifications.find("om:Notification", NS)
    assert note.findtext("om:Id", namespaces=NS).startswith("04l")
    sobject = note.find("om:sObject", NS)
    assert sobject.findtext("sf:Id", namespaces=NS) == opp
    assert sobject.findtext("sf:StageName", namespaces=NS) == "Closed Won"
    assert sobject.findtext("sf:IsWon", namespaces=NS) == "true"

    # Acked means done: further passes send nothing.
    assert dispatch_pending() == 0
    assert len(outbound_receiver.deliveries) == 3
    listed = requests.get(f"{sf.instance_url}/_sandbox/outbound", headers={"Authorization": "Bearer sandbox"},
                          timeout=5).json()["messages"]
    assert [(m["recordId"], m["status"], m["attempts"]) for m in listed] == [(opp, "delivered", 3)]


def test_it_backs_off_and_sends_current_values_of_every_won_deal(sf, settings, outbound_receiver):
    settings.SANDBOX_OUTBOUND_MESSAGE_URL = outbound_receiver.url
    settings.SANDBOX_OUTBOUND_BACKOFF = 60
    outbound_receiver.script = [(503, "")]
    first, second = _won_deal(sf), _won_deal(sf)
    sf.update("Opportunity", first, {"StageName": "Closed Won"})
    sf.create("Opportunity", {"Name": "Won at birth", "StageName": "Closed Won", "CloseDate": "2026-01-31"})

    assert dispatch_pending() == 0  # the hub is down
    assert dispatch_pending() == 0  # and the next try is a minute away, so nothing is sent
    assert len(outbound_receiver.deliveries) == 1
    row = SfOutboundMessage.objects.get(record_id=first)
    assert row.attempts == 1 and "503" in row.last_error

    sf.update("Opportunity", first, {"SAP_Sales_Order__c": "4711"})  # staying won queues nothing new
    sf.update("Opportunity", second, {"StageName": "Closed Won"})
    SfOutboundMessage.objects.update(next_attempt_at=row.created_at)
    assert dispatch_pending() == 3
    body = outbound_receiver.deliveries[-1].body
    assert body.count("<Notification>") == 3  # one message carries all due notifications
    assert "<sf:SAP_Sales_Order__c>4711</sf:SAP_Sales_Order__c>" in body  # values at send time


def test_it_gives_up_on_an_unreachable_hub_after_a_day(sf, settings):
    settings.SANDBOX_OUTBOUND_MESSAGE_URL = "http://127.0.0.1:9/nothing-listens-here"
    opp = _won_deal(sf)
    sf.update("Opportunity", opp, {"StageName": "Closed Won"})
    assert dispatch_pending() == 0
    row = SfOutboundMessage.objects.get(record_id=opp)
    assert row.status == "queued" and row.last_error

    SfOutboundMessage.objects.update(created_at=row.created_at - timedelta(hours=25),
                                     next_attempt_at=row.created_at)
    dispatch_pending()
    assert SfOutboundMessage.objects.get(record_id=opp).status == "failed"
