"""Security basics a reviewer checks first: login lockout, API throttles, the headers of every
screen, production's refusals and `check --deploy`, one `hub.security` line per denied access, and
who may open a handoff or a crosswalk's history."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from datetime import timedelta
from unittest import mock

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache.backends.redis import RedisCache
from django.test import Client
from django.urls import path, reverse
from django.utils import timezone
from guardian.shortcuts import assign_perm
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIClient
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from approvals.models import Approval
from crosswalks.models import ChangeChannel, CrosswalkChange
from crosswalks.services import crosswalk_row_save
from crosswalks.tables import TABLES
from exceptions.models import ExceptionType
from integration_hub.models import HandoffStatus
from tests.factories import Cast, HandoffFactory, SyncExceptionFactory
from tests.hub.test_api import client_for
from tests.web.test_pages import PRODUCTION_ENV

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
PASSWORD = "the-right-pass-123"


def security_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "hub.security"]


# -- login lockout (django-axes) -----------------------------------------------------------------
def _sign_in(password: str, *, username: str = "steward", ip: str = "10.0.0.1", url: str = LOGIN) -> object:
    return Client(REMOTE_ADDR=ip).post(url, {"username": username, "password": password})


def test_it_locks_a_user_out_after_repeated_failures_even_with_the_right_password(caplog):
    get_user_model().objects.create_user("steward", password=PASSWORD)
    with caplog.at_level(logging.INFO, logger="hub.security"):
        failures = [_sign_in(f"wrong-{n}") for n in range(20)]
        refused = _sign_in(PASSWORD)

    limit = settings.HUB_LOGIN_FAILURE_LIMIT
    # Below the limit the form says the password is wrong; from the limit on, the lockout page.
    assert [r.status_code for r in failures[: limit - 1]] == [200] * (limit - 1)
    assert all(r.status_code == 429 for r in failures[limit - 1:])
    assert refused.status_code == 429
    page = " ".join(refused.content.decode().split())
    assert "Sign-in locked" in page and "Too many failed sign-ins" in page and "steward" in page
    assert f"for {settings.HUB_LOGIN_COOLOFF_MINUTES} minutes" in page
    assert '<link rel="stylesheet"' in page  # the styled page, not a bare 403 text
    assert "sessionid" not in refused.cookies
    lines = security_lines(caplog)
    # One line for each refused attempt from the one that hit the limit on: 20 - limit + 1 + the last.
    assert len(lines) == 20 - limit + 2
    assert all("locked out" in line and "user=steward" in line and "ip=10.0.0.1" in line
               and f"path={LOGIN}" in line for line in lines)


def test_it_lets_the_same_user_in_from_another_address_and_another_user_from_the_same_one():
    user_model = get_user_model()
    user_model.objects.create_user("steward", password=PASSWORD)
    user_model.objects.create_user("analyst", password=PASSWORD)
    for n in range(settings.HUB_LOGIN_FAILURE_LIMIT):
        _sign_in(f"wrong-{n}")
    assert _sign_in(PASSWORD).status_code == 429

    assert _sign_in(PASSWORD, ip="10.0.0.2").status_code == 302
    assert _sign_in(PASSWORD, username="analyst").status_code == 302


def test_it_lets_the_user_in_again_after_the_cool_off():
    get_user_model().objects.create_user("steward", password=PASSWORD)
    for n in range(settings.HUB_LOGIN_FAILURE_LIMIT):
        _sign_in(f"wrong-{n}")
    assert _sign_in(PASSWORD).status_code == 429

    cooled = timezone.now() - timedelta(minutes=settings.HUB_LOGIN_COOLOFF_MINUTES, seconds=1)
    AccessAttempt.objects.update(attempt_time=cooled)

    assert _sign_in(PASSWORD).status_code == 302
    assert not AccessAttempt.objects.exists()  # a success starts the count afresh


def test_it_locks_the_admin_login_out_too():
    get_user_model().objects.create_user("root", password=PASSWORD, is_staff=True, is_superuser=True)
    for n in range(settings.HUB_LOGIN_FAILURE_LIMIT):
        _sign_in(f"wrong-{n}", username="root", url="/admin/login/")

    refused = _sign_in(PASSWORD, username="root", url="/admin/login/")

    assert refused.status_code == 429
    assert "Sign-in locked" in refused.content.decode()


def test_it_has_no_token_endpoint_to_guess_passwords_at():
    # Tokens are issued in the admin only; there is no obtain_auth_token view to brute-force.
    assert APIClient().post("/api/v1/auth/token/", {"username": "x", "password": "y"}).status_code == 404
    assert APIClient().post("/api-token-auth/", {"username": "x", "password": "y"}).status_code == 404


# -- API throttles -------------------------------------------------------------------------------
def _rates(**rates: str) -> object:
    # DRF reads the rates into the class once, at import: patch them where the throttles look.
    return mock.patch.object(SimpleRateThrottle, "THROTTLE_RATES", {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                                                      **rates})


def test_it_answers_429_with_retry_after_when_a_user_exceeds_the_api_rate(cast: Cast):
    client = client_for(cast.integration_ops)
    other = client_for(cast.admin)
    url = reverse("api:handoff-list")
    with _rates(user="3/min"):
        answers = [client.get(url).status_code for _ in range(4)]
        throttled = client.get(url)
        fine = other.get(url)

    assert answers == [200, 200, 200, 429]
    assert throttled.status_code == 429
    assert 1 <= int(throttled["Retry-After"]) <= 60
    assert "Request was throttled" in throttled.json()["detail"]
    assert fine.status_code == 200  # per user: the admin has a budget of their own


class OpenView(APIView):
    """An operation anyone may call: DRF checks permissions before throttles, so the anonymous rate
    guards operations like this one (every operation of the hub needs a login, the webhook has a
    budget of its own)."""

    permission_classes = [AllowAny]

    def get(self, request: object) -> Response:
        return Response({"ok": True})


urlpatterns = [path("open/", OpenView.as_view(), name="open")]


@pytest.mark.urls("tests.web.test_security")
def test_it_throttles_anonymous_callers_per_address():
    url = "/open/"
    with _rates(anon="2/min"):
        answers = [APIClient(REMOTE_ADDR="10.0.0.9").get(url).status_code for _ in range(3)]
        elsewhere = APIClient(REMOTE_ADDR="10.0.0.10").get(url).status_code

    assert answers == [200, 200, 429]
    assert elsewhere == 200


@pytest.mark.urls("tests.web.test_security")
def test_it_does_not_let_a_forged_x_forwarded_for_dodge_the_anonymous_rate():
    url = "/open/"
    with _rates(anon="2/min"):
        answers = [APIClient(REMOTE_ADDR="10.0.0.11", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").get(url).status_code
                   for n in range(3)]

    assert answers == [200, 200, 429]


def test_it_gives_the_webhook_its_own_budget_and_answers_a_soap_fault_with_retry_after():
    url = reverse("api:salesforce-outbound-message") + "?token=wrong"
    with _rates(anon="1/min", webhook="3/min"):
        answers = [APIClient().post(url, b"<x/>", content_type="text/xml") for _ in range(4)]

    # The anonymous API rate (1/min) does not apply: the webhook's own (3/min) does.
    assert [r.status_code for r in answers] == [401, 401, 401, 429]
    assert answers[-1]["Content-Type"].startswith("text/xml")
    assert b"<soapenv:Fault>" in answers[-1].content and b"rate limit" in answers[-1].content
    assert int(answers[-1]["Retry-After"]) >= 1


def test_it_counts_throttles_in_redis_so_every_web_process_shares_them(cast: Cast):
    # The suite runs on locmem (tests/environment.py); production's cache is Redis. Same counters
    # through a Redis cache: two clients standing for two processes share one budget per user.
    redis = RedisCache(os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/14"), {"KEY_PREFIX": "throttle-test"})
    url = reverse("api:handoff-list")
    try:
        with _rates(user="2/min"), mock.patch.object(SimpleRateThrottle, "cache", redis):
            first, second = client_for(cast.integration_ops), client_for(cast.integration_ops)
            answers = [first.get(url).status_code, second.get(url).status_code, first.get(url).status_code]
    finally:
        redis.delete(f"throttle_user_{cast.integration_ops.pk}")
    assert answers == [200, 200, 429]


def test_it_uses_redis_for_the_cache_when_redis_is_configured(tmp_path):
    probe = SETUP + "from django.conf import settings as s; print(s.CACHES['default']['BACKEND'])"
    redis = _run([sys.executable, "-c", probe], {"HUB_SANDBOX": "1", "REDIS_URL": "redis://127.0.0.1:6379/14"},
                 tmp_path)
    files = _run([sys.executable, "-c", probe], {"HUB_SANDBOX": "1"}, tmp_path)
    assert redis.stdout.split()[-1] == "django.core.cache.backends.redis.RedisCache", redis.stderr
    assert files.stdout.split()[-1] == "django.core.cache.backends.filebased.FileBasedCache", files.stderr


# -- headers of every screen ---------------------------------------------------------------------
def _screens(cast: Cast) -> list[str]:
    exception = SyncExceptionFactory(type_code=ExceptionType.PRICING_MISMATCH, fingerprint="pricing_mismatch:hdr")
    return [
        reverse("home"), reverse("exceptions:queues"), reverse("exceptions:list", args=[exception.queue.slug]),
        reverse("exceptions:detail", args=[exception.pk]), reverse("crosswalks:workbench"),
        reverse("crosswalks:history", args=["products"]), reverse("approvals:queue"), reverse("reconciliation:runs"),
        reverse("trace:trace"), reverse("trace:trace") + f"?q=H-{exception.handoff_id}", reverse("dashboard:index"),
        reverse("admin:index"),
    ]


def _assert_secure_headers(response: object, where: str) -> None:
    csp = response["Content-Security-Policy"]
    directives = {d.split()[0]: d.split()[1:] for d in csp.split("; ")}
    assert directives["default-src"] == ["'self'"], where
    assert directives["script-src"] == ["'self'"], where  # no 'unsafe-inline', no 'unsafe-eval'
    assert directives["style-src-elem"] == ["'self'"], where
    assert directives["frame-ancestors"] == ["'none'"], where
    assert directives["object-src"] == ["'none'"], where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Frame-Options"] == "DENY", where
    assert "camera=()" in response["Permissions-Policy"] and "geolocation=()" in response["Permissions-Policy"], where


def test_it_sends_the_security_headers_on_every_screen(cast: Cast):
    client = Client()
    client.force_login(cast.admin)
    for url in _screens(cast):
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_secure_headers(response, url)
    for url in (LOGIN, "/admin/login/"):
        response = Client().get(url)
        assert response.status_code == 200, url
        _assert_secure_headers(response, url)


def test_it_serves_screens_with_no_inline_script_and_no_inline_event_handlers(cast: Cast):
    import re

    client = Client()
    client.force_login(cast.admin)
    for url in _screens(cast)[:-1]:  # the admin is Django's own
        page = client.get(url).content.decode()
        inline = [tag for tag in re.findall(r"<script\b[^>]*>", page)
                  if "src=" not in tag and 'type="application/json"' not in tag]
        assert inline == [], url
        assert not re.search(r"\son[a-z]+=", page), url
        assert "hx-on" not in page and "<style" not in page, url


# -- production refuses to run insecurely; check --deploy is clean ---------------------------------
SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='integration_hub.settings'; django.setup();"
STRONG_KEY = "kq3V9x-7mZr2Lp8Wt4Yb6Nc1Hd5Jf0Gs-aE2uR7iO9pQ3sD6fG8hJ1kL4zX7cV0bN"


def _run(command: list[str], env: dict[str, str], tmp_path) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "HUB_", "SALESFORCE_", "SAP_", "SANDBOX_"))
             and k not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(command, env={**clean, "PYTHONPATH": str(settings.BASE_DIR),
                                        "HUB_VAR_DIR": str(tmp_path / "var"), **env},
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


def test_it_passes_check_deploy_with_production_settings_and_no_warning(tmp_path):
    checked = _run([sys.executable, str(settings.BASE_DIR / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
                   {**PRODUCTION_ENV, "DJANGO_SECRET_KEY": STRONG_KEY, "REDIS_URL": "redis://127.0.0.1:6379/14"},
                   tmp_path)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "System check identified no issues" in checked.stdout


def test_it_is_secure_by_default_in_production_and_plain_http_for_the_demo(tmp_path):
    probe = SETUP + ("from django.conf import settings as s; print(s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE,"
                     " s.CSRF_COOKIE_SECURE, s.SECURE_HSTS_SECONDS, getattr(s, 'SECURE_PROXY_SSL_HEADER', None))")
    production = _run([sys.executable, "-c", probe], PRODUCTION_ENV, tmp_path)
    behind_proxy = _run([sys.executable, "-c", probe], {**PRODUCTION_ENV, "HUB_BEHIND_TLS_PROXY": "1"}, tmp_path)
    demo = _run([sys.executable, "-c", probe], {"HUB_SANDBOX": "1"}, tmp_path)

    assert production.stdout.split() == ["True", "True", "True", "31536000", "None"], production.stderr
    assert behind_proxy.stdout.split()[-2:] == ["('HTTP_X_FORWARDED_PROTO',", "'https')"], behind_proxy.stderr
    assert demo.stdout.split() == ["False", "False", "False", "0", "None"], demo.stderr


@pytest.mark.parametrize(("env", "says"), [
    ({"DJANGO_SECRET_KEY": ""}, "DJANGO_SECRET_KEY (a real key, not the embedded default)"),
    ({"DJANGO_SECRET_KEY": "embedded-insecure-key-set-DJANGO_SECRET_KEY-in-production"}, "DJANGO_SECRET_KEY"),
    ({"HUB_WEBHOOK_SECRET": "sandbox"}, "HUB_WEBHOOK_SECRET"),
    ({"HUB_API_USER_RATE": "lots"}, "HUB_API_USER_RATE='lots' is not a rate"),
    ({"HUB_CACHE_URL": "memcached://x"}, "HUB_CACHE_URL='memcached://x'"),
], ids=["no-key", "embedded-key", "sandbox-webhook-secret", "junk-rate", "unknown-cache"])
def test_it_refuses_to_start_in_production_on_an_insecure_setting(env, says, tmp_path):
    refused = _run([sys.executable, "-c", "import integration_hub.settings"], {**PRODUCTION_ENV, **env}, tmp_path)
    assert refused.returncode != 0
    message = refused.stderr.strip().splitlines()[-1]
    assert message.startswith("django.core.exceptions.ImproperlyConfigured")
    assert says in message


# -- one security line per denied access -----------------------------------------------------------
def test_it_logs_one_security_line_when_someone_opens_another_queue_s_exception(cast: Cast, caplog):
    credit = SyncExceptionFactory(type_code=ExceptionType.CREDIT_CHECK_FAILED, fingerprint="credit:log")
    screen = Client(REMOTE_ADDR="10.1.2.3")
    screen.force_login(cast.pricing_analyst)
    api = client_for(cast.pricing_analyst)

    with caplog.at_level(logging.INFO, logger="hub.security"):
        page = screen.get(reverse("exceptions:detail", args=[credit.pk]))
        first = security_lines(caplog)
        caplog.clear()
        answer = api.get(f"/api/v1/exceptions/{credit.pk}/")
        second = security_lines(caplog)
        caplog.clear()
        missing = screen.get(reverse("exceptions:detail", args=[credit.pk + 1000]))

    assert (page.status_code, answer.status_code, missing.status_code) == (404, 404, 404)
    assert len(first) == 1
    assert "outside the user's queues" in first[0] and "user=pricing_analyst" in first[0]
    assert "ip=10.1.2.3" in first[0] and f"path=/triage/e/{credit.pk}/" in first[0]
    assert len(second) == 1 and f"path=/api/v1/exceptions/{credit.pk}/" in second[0]
    assert security_lines(caplog) == []  # an id that does not exist is no one's: nothing to report


def test_it_logs_one_security_line_with_user_ip_and_path_for_a_failed_webhook_auth(caplog):
    url = reverse("api:salesforce-outbound-message")
    with caplog.at_level(logging.INFO, logger="hub.security"):
        APIClient(REMOTE_ADDR="203.0.113.7").post(url + "?token=guess", b"<x/>", content_type="text/xml")

    [line] = security_lines(caplog)
    assert "wrong webhook token" in line and "user=anonymous" in line and "ip=203.0.113.7" in line
    assert f"path={url}" in line and "guess" not in line  # the query string (and its secret) stays out


def test_it_logs_one_security_line_when_someone_opens_an_approval_not_theirs(cast: Cast, caplog):
    approval = Approval.objects.create(handoff=HandoffFactory(status=HandoffStatus.AWAITING_APPROVAL), level="high",
                                       status="pending")
    assign_perm("approvals.view_approval", cast.approver, approval)
    screen = Client()
    screen.force_login(cast.outsider)

    with caplog.at_level(logging.INFO, logger="hub.security"):
        page = screen.get(reverse("approvals:detail", args=[approval.pk]))
        answer = client_for(cast.outsider).get(f"/api/v1/approvals/{approval.pk}/")

    assert (page.status_code, answer.status_code) == (404, 404)
    lines = security_lines(caplog)
    assert len(lines) == 2 and all(f"approval {approval.pk}" in line and "user=outsider" in line for line in lines)
    assert client_for(cast.approver).get(f"/api/v1/approvals/{approval.pk}/").status_code == 200


# -- who may open a handoff ----------------------------------------------------------------------
def _handoff_with(type_code: str, n: int) -> int:
    return SyncExceptionFactory(type_code=type_code, fingerprint=f"{type_code}:{n}",
                                handoff=HandoffFactory(status=HandoffStatus.BLOCKED)).handoff_id


def test_it_shows_a_handoff_only_to_who_may_see_one_of_its_exceptions_or_approvals(cast: Cast, caplog):
    pricing = _handoff_with(ExceptionType.PRICING_MISMATCH, 1)
    credit = _handoff_with(ExceptionType.CREDIT_CHECK_FAILED, 2)
    approved = HandoffFactory(status=HandoffStatus.AWAITING_APPROVAL)
    approval = Approval.objects.create(handoff=approved, level="high", status="pending")
    assign_perm("approvals.view_approval", cast.approver, approval)

    def detail(user: object, pk: int) -> int:
        return client_for(user).get(reverse("api:handoff-detail", args=[pk])).status_code

    with caplog.at_level(logging.INFO, logger="hub.security"):
        assert detail(cast.outsider, pricing) == 404
    assert len(security_lines(caplog)) == 1 and f"handoff {pricing}" in security_lines(caplog)[0]
    assert detail(cast.pricing_analyst, pricing) == 200
    assert detail(cast.pricing_analyst, credit) == 404
    assert detail(cast.credit_manager, credit) == 200
    assert detail(cast.approver, approved.pk) == 200
    assert detail(cast.approver, pricing) == 404
    assert all(detail(user, pk) == 200 for user in (cast.integration_ops, cast.admin)
               for pk in (pricing, credit, approved.pk))
    listed = client_for(cast.pricing_analyst).get(reverse("api:handoff-list")).json()["results"]
    assert [h["id"] for h in listed] == [pricing]

    # The trace screen follows the same rule.
    screen = Client()
    screen.force_login(cast.pricing_analyst)
    assert screen.get(reverse("trace:trace"), {"q": f"H-{pricing}"}).status_code == 200
    assert screen.get(reverse("trace:trace"), {"q": f"H-{credit}"}).status_code == 404


# -- who may read a crosswalk's history; an API revert says so ------------------------------------
@pytest.fixture
def sap_knows_every_material():
    with mock.patch("crosswalks.sap_lookup.SapLookup.materials_exist",
                    side_effect=lambda materials: dict.fromkeys(materials, True)):
        yield


def _mapping(code: str, cast: Cast) -> None:
    crosswalk_row_save(table=TABLES["products"], raw={"crm_product_code": code, "materials": "MAT-EL-001 × 1"},
                       actor=cast.admin, channel=ChangeChannel.UI, reason="new product")


def test_it_shows_crosswalk_history_only_to_editors_and_admins(cast: Cast, sap_knows_every_material):
    _mapping("SKU-H", cast)
    api_url = "/api/v1/crosswalks/tables/products/history/"
    screen_url = reverse("crosswalks:history", args=["products"])

    def seen(user: object) -> tuple[int, int]:
        screen = Client()
        screen.force_login(user)
        return screen.get(screen_url).status_code, client_for(user).get(api_url).status_code

    assert seen(cast.outsider) == (404, 404)
    assert seen(cast.pricing_analyst) == (404, 404)
    assert seen(cast.product_ops) == (200, 200)  # the products table's owning queue edits it
    assert seen(cast.admin) == (200, 200)
    workbench = Client()
    workbench.force_login(cast.outsider)
    assert "History</a>" not in workbench.get(reverse("crosswalks:workbench")).content.decode()


def test_it_records_a_revert_made_through_the_api_on_the_api_channel(cast: Cast, sap_knows_every_material):
    _mapping("SKU-R", cast)
    created = CrosswalkChange.objects.get(row_key="SKU-R")

    answer = client_for(cast.admin).post(f"/api/v1/crosswalks/changes/{created.pk}/revert/", {"reason": "typo"})

    assert answer.status_code == 200, answer.content
    revert = CrosswalkChange.objects.filter(row_key="SKU-R").latest("pk")
    assert (revert.action, revert.channel) == ("revert", "api")
