from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured

from integration_hub import settings as hub_settings

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    login = client.get(response["Location"])
    assert login.status_code == 200
    assert b"Sign in" in login.content
    assert b'name="csrfmiddlewaretoken"' in login.content


def test_it_signs_a_user_in_and_out(client):
    get_user_model().objects.create_user("steward", password="s3cret-pass")
    response = client.post("/accounts/login/", {"username": "steward", "password": "s3cret-pass"})
    assert response.status_code == 302
    home = client.get("/")
    assert b"steward" in home.content
    client.post("/accounts/logout/")
    assert client.get("/").status_code == 302


def test_it_refuses_a_wrong_password_with_a_message(client):
    get_user_model().objects.create_user("steward", password="s3cret-pass")
    response = client.post("/accounts/login/", {"username": "steward", "password": "nope"})
    assert response.status_code == 200
    assert b"didn't match" in response.content


def test_it_keeps_csrf_on_for_the_login_form():
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    get_user_model().objects.create_user("steward", password="s3cret-pass")
    response = strict.post("/accounts/login/", {"username": "steward", "password": "s3cret-pass"})
    assert response.status_code == 403


def test_it_serves_the_admin_login_and_health_check(client):
    assert client.get("/admin/login/").status_code == 200
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"ok": True}


def test_it_runs_on_postgresql_in_tests():
    from django.db import connection

    assert connection.vendor == "postgresql"


def test_it_rejects_junk_in_typed_settings(monkeypatch):
    monkeypatch.setenv("HUB_X_BOOL", "maybe")
    monkeypatch.setenv("HUB_X_INT", "ten")
    monkeypatch.setenv("HUB_X_LOW", "0")
    with pytest.raises(ImproperlyConfigured, match="not a boolean"):
        hub_settings.env_bool("HUB_X_BOOL")
    with pytest.raises(ImproperlyConfigured, match="not an integer"):
        hub_settings.env_int("HUB_X_INT", 3)
    with pytest.raises(ImproperlyConfigured, match="below the minimum"):
        hub_settings.env_int("HUB_X_LOW", 3, minimum=1)
    monkeypatch.setenv("HUB_X_BOOL", "yes")
    assert hub_settings.env_bool("HUB_X_BOOL") is True


def test_it_runs_embedded_with_no_environment_and_on_real_services_with_it(tmp_path):
    import os
    import subprocess
    import sys

    probe = (
        "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='integration_hub.settings'; django.setup();"
        "from django.conf import settings as s; from integration_hub.celery import app;"
        "print(s.DATABASES['default']['ENGINE'], app.conf.broker_url.split(':')[0])"
    )
    base_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    embedded = subprocess.run([sys.executable, "-c", probe], env={**base_env, "HUB_VAR_DIR": str(tmp_path)},
                              capture_output=True, text=True, check=True)
    assert embedded.stdout.split() == ["django.db.backends.sqlite3", "filesystem"]
    real = subprocess.run(
        [sys.executable, "-c", probe],
        env={**base_env, "HUB_VAR_DIR": str(tmp_path), "DATABASE_URL": "postgres://u@127.0.0.1:5432/x",
             "REDIS_URL": "redis://127.0.0.1:6379/0"},
        capture_output=True, text=True, check=True,
    )
    assert real.stdout.split() == ["django.db.backends.postgresql", "redis"]


# -- the settings probe: a fresh interpreter per environment ----------------------------------------
# What a production deployment sets (values only need to look real: nothing is contacted).
PRODUCTION_ENV = {
    "DJANGO_SECRET_KEY": "a-real-key-from-the-secret-store-0123456789",
    "SALESFORCE_INSTANCE_URL": "https://example.my.salesforce.com",
    "SALESFORCE_ORG_ID": "00D5g000000AbCdEAK",
    "SALESFORCE_USERNAME": "integration@example.com",
    "SALESFORCE_CONSUMER_KEY": "3MVG9-consumer-key",
    "SALESFORCE_PRIVATE_KEY_FILE": "/run/secrets/salesforce.key",
    "SAP_BASE_URL": "https://my123456-api.s4hana.cloud.sap/sap/opu/odata/sap/",
    "SAP_USER": "COMM_USER_HUB",
    "SAP_PASSWORD": "a-real-password",
    "HUB_WEBHOOK_SECRET": "a-real-webhook-secret",
}
SETUP = "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='integration_hub.settings'; django.setup();"
SANDBOX_APPS = ["integration_hub.sandbox", "integration_hub.sandbox.netsuite", "integration_hub.sandbox.salesforce",
                "integration_hub.sandbox.sap"]


def _settings_probe(code: str, env: dict[str, str], tmp_path):
    """Run `code` in a new interpreter with only `env` on top of a clean environment, cwd=tmp_path."""
    import os
    import subprocess
    import sys

    from django.conf import settings

    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("DJANGO_", "HUB_", "SALESFORCE_", "SAP_", "SANDBOX_"))
             and k not in {"DATABASE_URL", "REDIS_URL"}}
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**clean, "PYTHONPATH": str(settings.BASE_DIR), "HUB_VAR_DIR": str(tmp_path / "var"), **env},
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )


def test_it_refuses_to_start_in_production_without_real_connector_settings(tmp_path):
    refused = _settings_probe("import integration_hub.settings", {}, tmp_path)
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr
    for name in ("DJANGO_SECRET_KEY", "SALESFORCE_INSTANCE_URL", "SALESFORCE_USERNAME", "SAP_BASE_URL", "SAP_USER",
                 "SAP_PASSWORD", "HUB_WEBHOOK_SECRET"):
        assert name in refused.stderr

    # One thing missing is named alone; the sandbox's webhook secret is no secret in production.
    partial = _settings_probe("import integration_hub.settings",
                              {**PRODUCTION_ENV, "SAP_PASSWORD": "", "HUB_WEBHOOK_SECRET": "sandbox"}, tmp_path)
    assert partial.returncode != 0
    message = partial.stderr.strip().splitlines()[-1]
    assert "SAP_PASSWORD" in message and "HUB_WEBHOOK_SECRET" in message
    assert "SALESFORCE_INSTANCE_URL" not in message and "DJANGO_SECRET_KEY" not in message

    started = _settings_probe(SETUP + "print('started')", PRODUCTION_ENV, tmp_path)
    assert started.returncode == 0, started.stderr
    assert started.stdout.split() == ["started"]

    # DJANGO_DEBUG is development: it starts with nothing set, and no connector points at a sandbox.
    debug = _settings_probe(
        SETUP + "from django.conf import settings as s; print(repr(s.SALESFORCE_INSTANCE_URL), repr(s.SAP_BASE_URL))",
        {"DJANGO_DEBUG": "1"}, tmp_path)
    assert debug.returncode == 0, debug.stderr
    assert debug.stdout.split() == ["''", "''"]


def test_it_still_demands_a_secret_key_when_hub_require_secret_key_is_set(tmp_path):
    refused = _settings_probe("import integration_hub.settings", {"HUB_SANDBOX": "1", "HUB_REQUIRE_SECRET_KEY": "true"},
                              tmp_path)
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in refused.stderr
    keyed = _settings_probe("import integration_hub.settings",
                            {"HUB_SANDBOX": "1", "HUB_REQUIRE_SECRET_KEY": "true", "DJANGO_SECRET_KEY": "k" * 50},
                            tmp_path)
    assert keyed.returncode == 0, keyed.stderr


SANDBOX_PROBE = SETUP + (
    "from django.apps import apps; from django.conf import settings as s; from django.test import Client;"
    "from integration_hub.sandbox.middleware import URLCONF_KEY;"
    "print(sorted(a.name for a in apps.get_app_configs() if a.name.startswith('integration_hub.sandbox')));"
    "print(s.SALESFORCE_INSTANCE_URL, s.SAP_BASE_URL);"
    # What a sandbox server does: the same project, marked to answer with the sandbox's URLs.
    # Over https: production redirects plain http (SECURE_SSL_REDIRECT).
    "print(Client().get('/services/data/', secure=True,"
    " **{URLCONF_KEY: 'integration_hub.sandbox.salesforce.urls'}).status_code)"
)


def test_it_installs_the_sandboxes_only_with_hub_sandbox_on(tmp_path):
    import ast

    on = _settings_probe(SANDBOX_PROBE, {"HUB_SANDBOX": "1"}, tmp_path)
    assert on.returncode == 0, on.stderr
    apps, connectors, status = on.stdout.strip().splitlines()[-3:]
    assert ast.literal_eval(apps) == SANDBOX_APPS
    assert connectors == "http://127.0.0.1:8701 http://127.0.0.1:8702/sap/opu/odata/sap/"
    assert status == "200"

    off = _settings_probe(SANDBOX_PROBE, PRODUCTION_ENV, tmp_path)
    assert off.returncode == 0, off.stderr
    apps, connectors, status = off.stdout.strip().splitlines()[-3:]
    assert ast.literal_eval(apps) == []
    assert "127.0.0.1" not in connectors
    assert status == "404"


def test_it_creates_no_folder_when_the_settings_are_imported(tmp_path):
    probe = "import integration_hub.settings as s; print(s.CELERY_BROKER_TRANSPORT_OPTIONS['control_folder'])"
    for env in ({"HUB_SANDBOX": "1"}, PRODUCTION_ENV, {"DJANGO_DEBUG": "1"}):
        result = _settings_probe(probe, env, tmp_path)
        assert result.returncode == 0, result.stderr
        # The filesystem broker keeps even its control folder under var/, not in the working directory.
        assert result.stdout.strip() == str(tmp_path / "var" / "broker" / "control")
        assert list(tmp_path.iterdir()) == []

    # The embedded pieces make their folders once the hub starts, all under var/.
    started = _settings_probe(SETUP + "from integration_hub.celery import app; app.conf.broker_url",
                              {"HUB_SANDBOX": "1"}, tmp_path)
    assert started.returncode == 0, started.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["var"]
    assert {p.name for p in (tmp_path / "var").iterdir()} == {"broker", "staticfiles"}
    assert {p.name for p in (tmp_path / "var" / "broker").iterdir()} == {"queue", "processed", "control"}
