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
