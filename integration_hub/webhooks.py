"""The Salesforce Outbound Message webhook (WIRE.md B4).

Salesforce retries anything but an `<Ack>true</Ack>` for 24 h, so the Ack is sent only after the
handoff rows are committed, and every notification is deduplicated on its id. The body comes
from the internet: it is parsed with defusedxml (no entities, no DTDs) and fully validated
before anything is stored.
"""

from __future__ import annotations

import hmac
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any
from xml.etree.ElementTree import Element, ParseError  # noqa: S405 - types only; parsing is defusedxml's
from xml.sax.saxutils import escape

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import Throttled
from rest_framework.parsers import BaseParser
from rest_framework.permissions import AllowAny
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from integration_hub.errors import InvalidSalesforceId
from integration_hub.models import HandoffSource, salesforce_id_18, salesforce_ids_equal
from integration_hub.security import client_ip, security_denied, security_log
from integration_hub.services import handoff_receive

logger = logging.getLogger(__name__)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
OUTBOUND_NS = "http://soap.sforce.com/2005/09/outbound"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

ACK_BODY = (
    '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
    "<soapenv:Body>"
    '<notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse>'
    "</soapenv:Body></soapenv:Envelope>"
)
CONTENT_TYPE = "text/xml; charset=utf-8"


class MalformedMessage(ValueError):
    """The body is not a well-formed Salesforce Outbound Message."""


class MalformedId(MalformedMessage):
    """An id in the message is not a Salesforce id: wrong length, characters or checksum."""


def _salesforce_id(value: str, *, where: str) -> str:
    """`value` in its canonical 18-character form, taken where it enters the hub."""
    try:
        return salesforce_id_18(value)
    except InvalidSalesforceId as exc:
        raise MalformedId(f"{where}: {exc}") from exc


@dataclass(frozen=True)
class OpportunityNotification:
    notification_id: str
    opportunity_id: str
    stage_name: str
    is_won: bool


@dataclass(frozen=True)
class OutboundMessage:
    organization_id: str
    action_id: str
    opportunities: list[OpportunityNotification]
    ignored: int  # notifications about other sObjects


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child_text(parent: Element, name: str) -> str:
    """Text of the first child with local name `name`, whatever its namespace (enterprise/partner WSDL)."""
    for child in parent:
        if _local(child.tag) == name:
            return (child.text or "").strip()
    return ""


def parse_outbound_message(body: bytes) -> OutboundMessage:
    """Parse and validate an Outbound Message envelope; raises `MalformedMessage` saying what is wrong."""
    if not body.strip():
        raise MalformedMessage("empty body: expected a SOAP envelope")
    try:
        root = fromstring(body, forbid_dtd=True)
    except DefusedXmlException as exc:
        raise MalformedMessage(f"forbidden XML construct ({exc.__class__.__name__})") from exc
    except ParseError as exc:
        raise MalformedMessage(f"not well-formed XML: {exc}") from exc
    if root.tag != f"{{{SOAP_ENV}}}Envelope":
        raise MalformedMessage(f"root element is {_local(root.tag)!r}, expected a SOAP 1.1 Envelope")
    soap_body = root.find(f"{{{SOAP_ENV}}}Body")
    if soap_body is None:
        raise MalformedMessage("SOAP Envelope has no Body")
    notifications = soap_body.find(f"{{{OUTBOUND_NS}}}notifications")
    if notifications is None:
        raise MalformedMessage(f"SOAP Body has no notifications element in namespace {OUTBOUND_NS}")
    organization_id = _child_text(notifications, "OrganizationId")
    if not organization_id:
        raise MalformedMessage("notifications has no OrganizationId")
    organization_id = _salesforce_id(organization_id, where="OrganizationId")

    opportunities: list[OpportunityNotification] = []
    ignored = 0
    items = notifications.findall(f"{{{OUTBOUND_NS}}}Notification")
    if not items:
        raise MalformedMessage("notifications holds no Notification")
    for position, item in enumerate(items, start=1):
        notification_id = _child_text(item, "Id")
        if not notification_id:
            raise MalformedMessage(f"Notification {position} has no Id")
        sobject = item.find(f"{{{OUTBOUND_NS}}}sObject")
        if sobject is None:
            raise MalformedMessage(f"Notification {notification_id} has no sObject")
        sobject_type = _local(sobject.get(f"{{{XSI_NS}}}type", "").rsplit(":", 1)[-1])
        if sobject_type != "Opportunity":
            ignored += 1
            continue
        opportunity_id = _salesforce_id(
            _child_text(sobject, "Id"), where=f"Notification {notification_id}: Opportunity Id"
        )
        opportunities.append(
            OpportunityNotification(
                notification_id=notification_id,
                opportunity_id=opportunity_id,
                stage_name=_child_text(sobject, "StageName"),
                is_won=_child_text(sobject, "IsWon").lower() == "true",
            )
        )
    return OutboundMessage(
        organization_id=organization_id,
        action_id=_child_text(notifications, "ActionId"),
        opportunities=opportunities,
        ignored=ignored,
    )


def soap_fault_body(message: str, *, code: str = "soapenv:Client") -> str:
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAP_ENV}"><soapenv:Body><soapenv:Fault>'
        f"<faultcode>{code}</faultcode><faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )


def soap_fault(message: str, *, status: int, code: str = "soapenv:Client") -> HttpResponse:
    return HttpResponse(soap_fault_body(message, code=code), status=status, content_type=CONTENT_TYPE)


def _token_ok(presented: str) -> bool:
    expected = settings.HUB_WEBHOOK_SECRET
    # An unset secret must never mean "anything goes".
    if not expected or not presented:
        return False
    return hmac.compare_digest(presented.encode(), expected.encode())


def _org_ok(organization_id: str) -> bool:
    # Canonical forms, not the first 15 characters: Setup shows the 15-character org id, and an
    # 18-character one with a forged checksum must not pass for the org.
    try:
        return salesforce_ids_equal(organization_id, settings.SALESFORCE_ORG_ID)
    except InvalidSalesforceId as exc:
        security_log.error("SALESFORCE_ORG_ID is not a valid Salesforce id, so every message is refused: %s", exc)
        return False


def is_sync_stage(notification: OpportunityNotification) -> bool:
    """Only Closed Won (or a configured ready-for-finance stage) ever reaches the ERP."""
    stages = settings.HUB_CLOSED_WON_STAGES
    return notification.is_won or notification.stage_name in stages


class SoapXmlParser(BaseParser):
    """Declares the SOAP media types for the schema; the view reads the raw body itself."""

    media_type = "text/xml"

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        return stream.read()


class SoapXmlRenderer(BaseRenderer):
    media_type = "text/xml"
    format = "xml"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> Any:
        return data


class SalesforceOutboundMessageView(APIView):
    # The shared secret is the authentication; DRF's session auth would demand a CSRF token.
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    parser_classes = [SoapXmlParser]
    renderer_classes = [SoapXmlRenderer]
    # Its own budget (HUB_WEBHOOK_RATE), not the anonymous API's: Salesforce sends in bursts.
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "webhook"

    def handle_exception(self, exc: Exception) -> Response:
        if isinstance(exc, Throttled):
            # A SOAP fault Salesforce understands; it sends the message again later on its own.
            wait = getattr(exc, "wait", None)
            return Response(soap_fault_body("rate limit exceeded, retry later", code="soapenv:Server"),
                            status=429, content_type=CONTENT_TYPE,
                            headers={"Retry-After": str(max(1, math.ceil(wait or 1)))})
        return super().handle_exception(exc)

    def perform_content_negotiation(self, request: Request, force: bool = False) -> tuple[BaseRenderer, str]:
        # Salesforce's Accept header is not ours to judge: always answer SOAP, never 406.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        operation_id="salesforce_outbound_message",
        summary="Salesforce Outbound Message (SOAP 1.1)",
        description=(
            "Authenticated by the shared secret (`token` query parameter or `X-Hub-Token` header) and the "
            "envelope's OrganizationId. Closed-won Opportunity notifications become handoffs (deduplicated on "
            "Notification Id); the Ack is returned only after they are stored."
        ),
        parameters=[
            OpenApiParameter(
                "token", OpenApiTypes.STR, OpenApiParameter.QUERY, description="HUB_WEBHOOK_SECRET"
            ),
            OpenApiParameter("X-Hub-Token", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False),
        ],
        request={"text/xml": OpenApiTypes.STR},
        responses={
            (200, "text/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="Ack", examples=[OpenApiExample("ack", value=ACK_BODY)]
            ),
            (400, "text/xml"): OpenApiResponse(OpenApiTypes.STR, description="SOAP fault: malformed message"),
            (401, "text/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="SOAP fault: missing or wrong token"
            ),
            (403, "text/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="SOAP fault: unexpected organization"
            ),
            (429, "text/xml"): OpenApiResponse(
                OpenApiTypes.STR, description="SOAP fault: HUB_WEBHOOK_RATE exceeded; see Retry-After"
            ),
        },
        auth=[],
        tags=["hooks"],
    )
    def post(self, request: Request) -> HttpResponse:
        presented = request.query_params.get("token") or request.headers.get("X-Hub-Token", "")
        if not _token_ok(presented):
            security_denied(request, f"outbound message: {'wrong' if presented else 'missing'} webhook token")
            return soap_fault("authentication failed", status=401)

        try:
            message = parse_outbound_message(request.body)
        except MalformedId as exc:
            # Salesforce never sends a broken id; a message that carries one past the token was
            # forged or tampered with.
            security_denied(request, f"outbound message: {exc}")
            return soap_fault(f"malformed Outbound Message: {exc}", status=400)
        except MalformedMessage as exc:
            logger.info("outbound message refused from %s: %s", client_ip(request) or "?", exc)
            return soap_fault(f"malformed Outbound Message: {exc}", status=400)

        if not _org_ok(message.organization_id):
            security_denied(request, f"outbound message: organization {message.organization_id} is not the "
                                     "configured org")
            return soap_fault("organization not accepted", status=403)

        won = [n for n in message.opportunities if is_sync_stage(n)]
        # One transaction for the whole message: the Ack below goes out only after this commits,
        # and a failure leaves nothing half-taken (Salesforce will send the message again).
        with transaction.atomic():
            for notification in won:
                handoff_receive(
                    org_id=message.organization_id,
                    opportunity_id=notification.opportunity_id,
                    source=HandoffSource.WEBHOOK,
                    notification_id=notification.notification_id,
                    actor_label="webhook",
                )
        logger.info(
            "outbound message %s: %d closed-won, %d other stage, %d other sObject",
            message.action_id or "?",
            len(won),
            len(message.opportunities) - len(won),
            message.ignored,
        )
        return HttpResponse(ACK_BODY, content_type=CONTENT_TYPE)
