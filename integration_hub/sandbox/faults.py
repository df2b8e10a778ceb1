"""Fault injection shared by the sandboxes.

Control plane: `POST /_sandbox/faults` with JSON
`{"operation": "create:Opportunity", "kind": "status", "status": 503, "times": 2}`;
`GET` lists the faults of that sandbox, `DELETE` clears them.

Fields: `kind` (see `Fault.Kind`), `operation` (fnmatch pattern, default `*`), `status`,
`latency_ms`, `retry_after` (seconds), `message`, `times` (next N matching calls; omit for
"until cleared"), `rate` (0..1, fraction of matching calls), `seconds` (expires after).

Data plane: a sandbox view calls `fault_take(system=..., operation=...)`; latency faults are
slept here, and the first other matching fault (if any) is returned for the sandbox to render
in its own wire format.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import random
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from integration_hub.sandbox.models import Fault

_FIELDS_INT = ("status", "latency_ms", "retry_after", "times", "seconds")


class FaultSpecError(ValueError):
    pass


def _parse_spec(system: str, data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise FaultSpecError("body must be a JSON object")
    kind = data.get("kind")
    if kind not in Fault.Kind.values:
        raise FaultSpecError(f"kind must be one of {', '.join(Fault.Kind.values)}")
    spec: dict[str, Any] = {"system": system, "kind": kind}
    operation = data.get("operation", "*")
    if not isinstance(operation, str) or not operation or len(operation) > 200:
        raise FaultSpecError("operation must be a non-empty pattern of at most 200 characters")
    spec["operation"] = operation
    for name in _FIELDS_INT:
        value = data.get(name)
        if value is None:
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise FaultSpecError(f"{name} must be a non-negative integer")
        spec[name] = value
    if kind == Fault.Kind.STATUS and not (400 <= spec.get("status", 0) <= 599):
        raise FaultSpecError("a status fault needs a status between 400 and 599")
    if kind == Fault.Kind.LATENCY and not spec.get("latency_ms"):
        raise FaultSpecError("a latency fault needs latency_ms > 0")
    rate = data.get("rate")
    if rate is not None:
        if not isinstance(rate, int | float) or isinstance(rate, bool) or not 0 < rate <= 1:
            raise FaultSpecError("rate must be a number in (0, 1]")
        spec["rate"] = float(rate)
    message = data.get("message", "")
    if not isinstance(message, str) or len(message) > 500:
        raise FaultSpecError("message must be a string of at most 500 characters")
    spec["message"] = message
    return spec


@transaction.atomic
def fault_add(
    *,
    system: str,
    kind: str,
    operation: str = "*",
    status: int | None = None,
    latency_ms: int = 0,
    retry_after: int | None = None,
    message: str = "",
    times: int | None = None,
    rate: float | None = None,
    seconds: int | None = None,
) -> Fault:
    """Arm a fault on one sandbox."""
    expires_at = timezone.now() + timedelta(seconds=seconds) if seconds else None
    return Fault.objects.create(
        system=system,
        kind=kind,
        operation=operation,
        status=status,
        latency_ms=latency_ms,
        retry_after=retry_after,
        message=message,
        remaining=times,
        rate=rate,
        expires_at=expires_at,
    )


def fault_clear(*, system: str) -> int:
    deleted, _ = Fault.objects.filter(system=system).delete()
    return deleted


def _claim(fault: Fault) -> bool:
    """Count one hit against the fault; False when another request used up its last one."""
    qs = Fault.objects.filter(pk=fault.pk)
    if fault.remaining is not None:
        qs = qs.filter(remaining__gt=0)
        return qs.update(remaining=F("remaining") - 1, hits=F("hits") + 1) == 1
    return qs.update(hits=F("hits") + 1) == 1


def fault_take(
    *, system: str, operation: str, kinds: tuple[str, ...] | None = None, latency: bool = True
) -> Fault | None:
    """Apply latency faults for this call and return the first other fault that fires, if any.

    `kinds` limits which non-latency kinds this call can suffer (a GET cannot hit a CSRF expiry).
    `latency=False` leaves latency faults alone: for checks inside a call (one record of a batch)
    whose call has already had its delay.
    """
    now = timezone.now()
    candidates = Fault.objects.filter(system=system).filter(
        Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    ).exclude(remaining=0)
    chosen: Fault | None = None
    for fault in candidates:
        if not fnmatch.fnmatchcase(operation, fault.operation):
            continue
        if fault.kind == Fault.Kind.LATENCY and not latency:
            continue
        if fault.kind != Fault.Kind.LATENCY and (chosen is not None or (kinds is not None and fault.kind not in kinds)):
            continue
        if fault.rate is not None and random.random() >= fault.rate:
            continue
        if not _claim(fault):
            continue
        if fault.kind == Fault.Kind.LATENCY:
            time.sleep(fault.latency_ms / 1000)
        else:
            chosen = fault
    return chosen


def control_plane_event_body(
    request: HttpRequest, *, authorized: Callable[[HttpRequest], bool] | None = None
) -> dict[str, Any] | JsonResponse:
    """The JSON object a `POST /_sandbox/events` carries, or the plain-JSON refusal to answer with
    (credentials, method, body): the sandboxes' event endpoints share these checks."""
    if not (authorized or control_plane_authorized)(request):
        return JsonResponse({"error": "sandbox credentials required"}, status=401)
    if request.method != "POST":
        return JsonResponse({"error": "method not allowed: POST an event"}, status=405)
    try:
        body = json.loads(request.body or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        return JsonResponse({"error": "body must be JSON"}, status=400)
    if not isinstance(body, dict):
        return JsonResponse({"error": "body must be a JSON object"}, status=400)
    return dict(body)


def control_plane_authorized(request: HttpRequest) -> bool:
    """The sandboxes' control planes accept either sandbox's own credentials."""
    header = request.headers.get("Authorization", "")
    if header == f"Bearer {settings.SANDBOX_SALESFORCE_TOKEN}":
        return True
    if header.startswith("Basic "):
        try:
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return user == settings.SANDBOX_SAP_USER and password == settings.SANDBOX_SAP_PASSWORD
    return False


@csrf_exempt
def faults_view(
    request: HttpRequest, *, system: str, authorize: Callable[[HttpRequest], bool] = control_plane_authorized
) -> HttpResponse:
    """The control plane for one sandbox's faults (same credentials as the sandbox itself).

    `authorize` lets a sandbox also accept its own credentials (NetSuite: a TBA signature).
    """
    if not authorize(request):
        return JsonResponse({"error": "sandbox credentials required"}, status=401)
    if request.method == "GET":
        faults = [f.as_dict() for f in Fault.objects.filter(system=system)]
        return JsonResponse({"faults": faults})
    if request.method == "DELETE":
        return JsonResponse({"deleted": fault_clear(system=system)})
    if request.method == "POST":
        try:
            data = json.loads(request.body or b"null")
            specs = data if isinstance(data, list) else [data]
            parsed = [_parse_spec(system, spec) for spec in specs]
        except (json.JSONDecodeError, FaultSpecError) as exc:
            return JsonResponse({"error": str(exc)}, status=400)
        created = []
        for spec in parsed:
            spec.pop("system")
            created.append(fault_add(system=system, **spec).as_dict())
        return JsonResponse({"faults": created}, status=201)
    return JsonResponse({"error": "method not allowed"}, status=405)


def drop_response(request: HttpRequest) -> None:
    """Ask the sandbox server to close the connection instead of sending this response.

    The work is already committed; the client sees a reset, as after a network failure.
    """
    request.META["sandbox.drop_response"] = True
