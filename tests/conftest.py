"""Shared fixtures. Tests never leave loopback: any other connection fails loudly."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from integration_hub.sandbox.server import RunningSandbox

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):  # AF_UNIX path
        return True
    if not isinstance(address, tuple) or not address:
        return False
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise OSError(f"tests may not leave loopback (tried {address!r})")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise OSError(f"tests may not leave loopback (tried {address!r})")
    return _real_connect_ex(self, address)


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]


@pytest.fixture
def sf_sandbox(transactional_db: None, settings: object) -> Iterator[RunningSandbox]:
    """The Salesforce sandbox on a free loopback port, sharing the test database."""
    server = RunningSandbox("salesforce").start()
    yield server
    server.stop()


@pytest.fixture
def sap_sandbox(transactional_db: None) -> Iterator[RunningSandbox]:
    """The SAP sandbox on a free loopback port, sharing the test database."""
    server = RunningSandbox("sap").start()
    yield server
    server.stop()


@pytest.fixture
def netsuite_sandbox(transactional_db: None) -> Iterator[RunningSandbox]:
    """The NetSuite sandbox on a free loopback port, sharing the test database."""
    server = RunningSandbox("netsuite").start()
    yield server
    server.stop()


# -- browser tests: Playwright driving Debian's Chromium (headless) against a live server ----------
SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running; the test's own ORM calls are still sync.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def browser_context(browser: Any, live_server: Any) -> Iterator[Any]:
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1440, "height": 900})
    yield context
    context.close()


def browser_login(context: Any, live_server: Any, user: Any) -> Any:
    """A page signed in as `user` (session cookie from Django's test client, no login form)."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context.new_page()


def screenshot(page: Any, name: str) -> Path:
    """Keep a full-page screenshot under var/screenshots/ (a test artifact to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    """Badge counts are cached for seconds; a test must not see the previous test's."""
    from django.core.cache import cache

    cache.clear()
    yield
