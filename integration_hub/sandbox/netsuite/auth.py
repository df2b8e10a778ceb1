"""Token-based authentication (OAuth 1.0a, HMAC-SHA256) and the account's concurrency limit.

oauthlib's `SignatureOnlyEndpoint` checks the signature, the timestamp window and the nonce;
the validator below knows the one integration (consumer) and token the sandbox issues, from
settings, and remembers nonces in the database so a replay is refused by every process.
`realm` must be the account id in upper case, as NetSuite wants it.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from oauthlib.oauth1 import RequestValidator, SignatureOnlyEndpoint
from oauthlib.oauth1.rfc5849 import SIGNATURE_HMAC_SHA256
from oauthlib.oauth1.rfc5849.utils import parse_authorization_header

from integration_hub.sandbox.netsuite.errors import NsError, login_failed
from integration_hub.sandbox.netsuite.models import NsNonce

_DUMMY = "dummy-never-valid"
_requests_seen = 0


class _Validator(RequestValidator):
    enforce_ssl = False  # the sandbox speaks plain http on loopback
    allowed_signature_methods = (SIGNATURE_HMAC_SHA256,)  # NetSuite no longer accepts HMAC-SHA1 for TBA

    def __init__(self) -> None:
        super().__init__()
        self.reason = ""

    @property
    def safe_characters(self) -> set[str]:
        return set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.")

    client_key_length = (1, 200)
    access_token_length = (1, 200)
    nonce_length = (6, 200)

    @property
    def timestamp_lifetime(self) -> int:
        return int(settings.SANDBOX_NETSUITE_TIMESTAMP_WINDOW)

    @property
    def dummy_client(self) -> str:
        return _DUMMY

    @property
    def dummy_access_token(self) -> str:
        return _DUMMY

    def validate_client_key(self, client_key: str, request: Any) -> bool:
        ok = secrets.compare_digest(client_key, settings.SANDBOX_NETSUITE_CONSUMER_KEY)
        if not ok:
            self.reason = "InvalidConsumerKey"
        return ok

    def get_client_secret(self, client_key: str, request: Any) -> str:
        return settings.SANDBOX_NETSUITE_CONSUMER_SECRET if client_key != _DUMMY else _DUMMY

    def validate_access_token(self, client_key: str, token: str, request: Any) -> bool:
        ok = secrets.compare_digest(token, settings.SANDBOX_NETSUITE_TOKEN_ID)
        if not ok:
            self.reason = "InvalidToken"
        return ok

    def get_access_token_secret(self, client_key: str, token: str, request: Any) -> str:
        return settings.SANDBOX_NETSUITE_TOKEN_SECRET if token != _DUMMY else _DUMMY

    def validate_timestamp_and_nonce(self, client_key: str, timestamp: str, nonce: str, request: Any,
                                     request_token: str | None = None, access_token: str | None = None) -> bool:
        try:
            with transaction.atomic():
                NsNonce.objects.create(consumer_key=client_key[:200], token=(access_token or "")[:200],
                                       nonce=nonce[:200], timestamp=int(timestamp))
        except IntegrityError:
            self.reason = "InvalidNonce"
            return False
        return True


def _forget_old_nonces() -> None:
    window = int(settings.SANDBOX_NETSUITE_TIMESTAMP_WINDOW)
    NsNonce.objects.filter(created_at__lt=timezone.now() - timedelta(seconds=2 * window)).delete()


def authenticate(request: HttpRequest) -> None:
    """Raise NetSuite's 401 unless the request carries a valid TBA signature for the account."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("OAuth "):
        raise login_failed("MissingAuthorization")
    try:
        params = dict(parse_authorization_header(header))
    except (ValueError, IndexError):
        raise login_failed("MalformedAuthorization") from None
    realm = params.get("realm", "")
    if realm != settings.SANDBOX_NETSUITE_ACCOUNT.upper():
        raise login_failed("InvalidRealm")
    if params.get("oauth_signature_method") != SIGNATURE_HMAC_SHA256:
        raise login_failed("UnsupportedSignatureMethod")
    try:
        timestamp = int(params.get("oauth_timestamp", ""))
    except ValueError:
        raise login_failed("InvalidTimestamp") from None
    if abs(timezone.now().timestamp() - timestamp) > int(settings.SANDBOX_NETSUITE_TIMESTAMP_WINDOW):
        raise login_failed("InvalidTimestamp")
    validator = _Validator()
    endpoint = SignatureOnlyEndpoint(validator)
    content_type = request.headers.get("Content-Type", "")
    body = request.body.decode("utf-8", "replace") if content_type.startswith("application/x-www-form-urlencoded") else None
    headers = {"Authorization": header}
    if body is not None:
        headers["Content-Type"] = content_type
    valid, _ = endpoint.validate_request(request.build_absolute_uri(), request.method or "GET", body, headers)
    global _requests_seen
    _requests_seen += 1
    if _requests_seen % 200 == 0:  # nonces older than twice the window can no longer be replayed
        _forget_old_nonces()
    if not valid:
        raise login_failed(validator.reason or "InvalidSignature")


def is_authenticated(request: HttpRequest) -> bool:
    try:
        authenticate(request)
    except NsError:
        return False
    return True


# -- concurrency governance: requests in flight per account -----------------------------------------
# One sandbox process serves the account, so the count lives in the process (threads share it).
_lock = threading.Lock()
_in_flight: dict[str, int] = {}


@contextmanager
def concurrency_slot(account: str) -> Iterator[None]:
    limit = int(settings.SANDBOX_NETSUITE_CONCURRENCY)
    with _lock:
        if _in_flight.get(account, 0) >= limit:
            raise NsError.one(429, "SSS_REQUEST_LIMIT_EXCEEDED",
                              f"Request limit exceeded: the account allows {limit} concurrent requests. "
                              "Retry the request later.")
        _in_flight[account] = _in_flight.get(account, 0) + 1
    try:
        yield
    finally:
        with _lock:
            _in_flight[account] -= 1
