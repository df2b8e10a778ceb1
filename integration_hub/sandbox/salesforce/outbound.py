"""Outbound Messages: the SOAP notifications Salesforce posts when an Opportunity is won.

Rows are queued by `store` in the same transaction as the stage change. `dispatch_pending()`
sends what is due, at most 100 notifications per message like Salesforce, and only an HTTP 200
carrying `<Ack>true</Ack>` counts as delivered; everything else is retried with exponential
backoff (doubling from SANDBOX_OUTBOUND_BACKOFF, at most 2 h apart) until 24 h have passed.
"""

from __future__ import annotations

import http.client
import logging
import re
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from django.conf import settings
from django.db import connection
from django.utils import timezone

from integration_hub.sandbox.salesforce import schema
from integration_hub.sandbox.salesforce.models import SfOutboundMessage, SfRecord

logger = logging.getLogger("hub.sandbox.salesforce")

MAX_PER_MESSAGE = 100
MAX_DELAY = timedelta(hours=2)
GIVE_UP_AFTER = timedelta(hours=24)
CLAIM_FOR = timedelta(seconds=60)  # a pass that dies mid-send frees its rows after this
SEND_TIMEOUT = 10.0
_ACK = re.compile(r"<(?:\w+:)?Ack>\s*true\s*</(?:\w+:)?Ack>", re.IGNORECASE)


def _xml_value(field: schema.Field, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if field.type == schema.DATETIME and isinstance(value, str):
        parsed = schema.parse_datetime(value)
        if parsed is not None:
            # The SOAP API writes UTC datetimes with a Z.
            return parsed.strftime("%Y-%m-%dT%H:%M:%S.") + f"{parsed.microsecond // 1000:03d}Z"
    if isinstance(value, float):
        return repr(value)
    return escape(str(value))


def _sobject_xml(sobject: str, fields: dict[str, Any]) -> str:
    obj = schema.SOBJECTS[sobject]
    parts = [f'<sObject xsi:type="sf:{sobject}" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">']
    for name, definition in obj.fields.items():
        value = fields.get(name)
        if value is None:
            continue
        parts.append(f"<sf:{name}>{_xml_value(definition, value)}</sf:{name}>")
    parts.append("</sObject>")
    return "".join(parts)


def envelope(messages: list[SfOutboundMessage], records: dict[str, dict[str, Any]]) -> str:
    """The SOAP 1.1 body Salesforce posts, carrying each record's values at send time."""
    org_id = str(settings.SANDBOX_SALESFORCE_ORG_ID)
    version = str(getattr(settings, "SALESFORCE_API_VERSION", "59.0"))
    base = f"http://127.0.0.1:{settings.SANDBOX_SALESFORCE_PORT}"
    notifications = "".join(
        f"<Notification><Id>{m.notification_id}</Id>{_sobject_xml(m.sobject, records.get(m.record_id, {}))}"
        "</Notification>"
        for m in messages
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body>"
        '<notifications xmlns="http://soap.sforce.com/2005/09/outbound">'
        f"<OrganizationId>{org_id}</OrganizationId>"
        f"<ActionId>{messages[0].action_id}</ActionId>"
        '<SessionId xsi:nil="true"/>'
        f"<EnterpriseUrl>{base}/services/Soap/c/{version}/{org_id[:15]}</EnterpriseUrl>"
        f"<PartnerUrl>{base}/services/Soap/u/{version}/{org_id[:15]}</PartnerUrl>"
        f"{notifications}"
        "</notifications></soapenv:Body></soapenv:Envelope>"
    )


def _post(url: str, body: str) -> str:
    """'' when acknowledged, else why not.

    http.client rather than urllib: urllib would send `Soapaction`, and receivers are entitled to
    expect the header exactly as Salesforce spells it.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"unsupported endpoint {url!r}"
    conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = conn_class(parts.hostname, parts.port, timeout=SEND_TIMEOUT)
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    payload = body.encode("utf-8")
    try:
        conn.request("POST", target, body=payload, headers={
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": '""',
            "User-Agent": "Salesforce Sandbox Outbound Messaging",
            "Content-Length": str(len(payload)),
        })
        response = conn.getresponse()
        status = response.status
        text = response.read(1_000_000).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException) as exc:
        return f"{type(exc).__name__}: {exc}"
    finally:
        conn.close()
    if status != 200:
        return f"HTTP {status}"
    if not _ACK.search(text):
        return "HTTP 200 without <Ack>true</Ack>"
    return ""


def _claim(now: datetime, limit: int) -> list[SfOutboundMessage]:
    """Due rows this pass owns: pushing `next_attempt_at` forward is the compare-and-swap."""
    due = list(
        SfOutboundMessage.objects.filter(status=SfOutboundMessage.Status.QUEUED, next_attempt_at__lte=now)
        .order_by("next_attempt_at", "id")
        .values_list("pk", "next_attempt_at")[:limit]
    )
    lease = now + CLAIM_FOR
    claimed = [
        pk for pk, at in due
        if SfOutboundMessage.objects.filter(pk=pk, status=SfOutboundMessage.Status.QUEUED, next_attempt_at=at)
        .update(next_attempt_at=lease) == 1
    ]
    return list(SfOutboundMessage.objects.filter(pk__in=claimed).order_by("id"))


def dispatch_pending(*, now: datetime | None = None) -> int:
    """Send every due notification once; returns how many were acknowledged.

    Closes this thread's database connection before returning, so a polling thread holds none
    between passes.
    """
    try:
        return _dispatch(now or timezone.now())
    finally:
        connection.close()


def _dispatch(now: datetime) -> int:
    delivered = 0
    while True:
        batch = _claim(now, MAX_PER_MESSAGE)
        if not batch:
            return delivered
        records = {
            r.record_id: r.fields
            for r in SfRecord.objects.filter(record_id__in=[m.record_id for m in batch])
        }
        body = envelope(batch, records)
        error = _post(str(settings.SANDBOX_OUTBOUND_MESSAGE_URL), body)
        sent_at = timezone.now()
        for message in batch:
            message.attempts += 1
            message.last_payload = body
            message.last_error = error
            if not error:
                message.status = SfOutboundMessage.Status.DELIVERED
                message.delivered_at = sent_at
                delivered += 1
            else:
                first = float(settings.SANDBOX_OUTBOUND_BACKOFF)
                delay = min(timedelta(seconds=first * 2 ** (message.attempts - 1)), MAX_DELAY)
                message.next_attempt_at = sent_at + delay
                if message.next_attempt_at - message.created_at > GIVE_UP_AFTER:
                    message.status = SfOutboundMessage.Status.FAILED
                logger.info("outbound message %s not delivered (attempt %d): %s",
                            message.notification_id, message.attempts, error)
            message.save(update_fields=["attempts", "last_payload", "last_error", "status", "delivered_at",
                                        "next_attempt_at"])
        if len(batch) < MAX_PER_MESSAGE:
            return delivered


def start_dispatcher(*, interval: float = 1.0) -> Callable[[], None]:
    """Poll the queue from a daemon thread; returns a function that stops it."""
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                dispatch_pending()
            except Exception:  # the dispatcher must outlive a bad pass (DB restart, bad URL)
                logger.exception("outbound message dispatch failed")
                connection.close()
            stop.wait(interval)

    thread = threading.Thread(target=loop, name="sandbox-salesforce-outbound", daemon=True)
    thread.start()

    def halt() -> None:
        stop.set()
        thread.join(timeout=SEND_TIMEOUT + 5)

    return halt
