"""Schemathesis over /api/schema/: generated requests, as an admin and as nobody, never get a 5xx,
nobody gets a 2xx, and every answer matches what the schema says (status, content type, body).

In-process through the Django WSGI app (no server), each generated request in a savepoint rolled
back after it (so examples do not depend on one another and the seed replays them exactly). SAP
and Salesforce point at a loopback port that refuses connections: the sandboxes do not run here,
and any path that needs them must answer a clean 503, never leave loopback, never 500.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, Phase, given
from hypothesis import settings as hypothesis_settings
from rest_framework.authtoken.models import Token
from rest_framework.throttling import SimpleRateThrottle
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from exceptions.services import exception_tags_set
from tests.factories import Cast, HandoffFactory, ProductMappingComponentFactory, SyncExceptionFactory

EXCLUDED = {
    # SOAP in, SOAP out, its own token in the query; tests/hub/test_webhooks.py covers its bad input.
    ("POST", "/api/v1/hooks/salesforce/outbound-message/"),
}
# Examples per operation (about 59 operations): 1,000+ in all, inside the time cap on 2 cores.
ADMIN_EXAMPLES = 30
ANONYMOUS_EXAMPLES = 6
MIN_EXAMPLES = 1000
# Past this the remaining operations get two examples each: every operation is still tried, and
# the test stays near two minutes on a busy machine.
TIME_CAP_SECONDS = 110
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A loopback port bound but not listening: every connection to it is refused at once."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield sock.getsockname()[1]
    sock.close()


@pytest.fixture
def in_process_wsgi() -> Iterator[WSGIHandler]:
    """The WSGI app on the test's own connection: as Django's test client does, requests must not
    close the connection that holds the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _world(cast: Cast) -> None:
    """A few rows so detail, filter and action endpoints have something to find."""
    handoff = HandoffFactory(status="blocked")
    for type_code in ("pricing_mismatch", "product_not_mapped", "customer_not_found"):
        exception = SyncExceptionFactory(handoff=handoff, type_code=type_code, fingerprint=f"{type_code}:fuzz")
        exception_tags_set(exception=exception, actor=cast.admin, tags="bold")
    ProductMappingComponentFactory()


def _anonymous_never_succeeds(ctx: Any, response: Any, case: Any) -> bool | None:
    if 200 <= response.status_code < 300:
        raise AssertionError(f"anonymous got {response.status_code} on {case.operation.label}")
    return None


def _fuzz(operation: Any, *, headers: dict[str, str], examples: int, extra: list[Any], negative: bool) -> int:
    """Run `examples` generated requests on one operation; how many ran. `negative`: half of them
    break the schema on purpose (a string where a number goes, a missing field). Raises the first
    failure (no shrinking: the fixed seed replays it, and shrinking would blow the time cap)."""
    ran = 0
    cases = operation.as_strategy()
    if negative:
        cases = cases | operation.as_strategy(GenerationMode.NEGATIVE)

    @given(case=cases)
    @hypothesis_settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                         phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
    def call(case: Any) -> None:
        nonlocal ran
        ran += 1
        with transaction.atomic():
            response = case.call(headers=headers)
            case.validate_response(response, checks=CHECKS, additional_checks=extra, headers=headers)
            transaction.set_rollback(True)

    call()
    return ran


@pytest.fixture
def unthrottled() -> Iterator[None]:
    """The inputs are under test here, not the rates (tests/web/test_security.py has those): a
    throttled answer would stop examining an operation for the rest of the minute."""
    rates = {**SimpleRateThrottle.THROTTLE_RATES, "user": "100000/min", "anon": "100000/min"}
    with mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", rates):
        yield


@pytest.mark.slow
@pytest.mark.django_db
@pytest.mark.timeout(300)
def test_it_answers_generated_requests_without_a_5xx_and_as_the_schema_says(
    cast: Cast, settings: Any, refused_port: int, in_process_wsgi: WSGIHandler, unthrottled: None
) -> None:
    settings.SAP_BASE_URL = f"http://127.0.0.1:{refused_port}/sap/opu/odata/sap/"
    settings.SALESFORCE_INSTANCE_URL = f"http://127.0.0.1:{refused_port}"
    _world(cast)
    admin = {"Authorization": f"Token {Token.objects.create(user=cast.admin).key}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", in_process_wsgi, headers=admin)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 50
    started = time.monotonic()
    counts = {"admin": 0, "anonymous": 0}
    failures: list[str] = []

    for operation in operations:
        if (operation.method.upper(), operation.path) in EXCLUDED:
            continue
        capped = time.monotonic() - started > TIME_CAP_SECONDS
        for who, headers, examples, extra in (("admin", admin, ADMIN_EXAMPLES, []),
                                              ("anonymous", {}, ANONYMOUS_EXAMPLES, [_anonymous_never_succeeds])):
            try:
                counts[who] += _fuzz(operation, headers=headers, examples=2 if capped else examples, extra=extra,
                                     negative=who == "admin")
            except (Exception, BaseExceptionGroup) as error:  # every operation's first failure, reported together below
                failures.append(f"--- {who} {operation.label}\n{str(error)[:1500]}")

    elapsed = time.monotonic() - started
    print(f"\nschemathesis: {counts['admin']} admin + {counts['anonymous']} anonymous examples over "
          f"{len(operations) - len(EXCLUDED)} operations in {elapsed:.0f} s; {len(failures)} failing")
    if failures:
        pytest.fail("\n".join(failures), pytrace=False)
    assert sum(counts.values()) >= MIN_EXAMPLES
