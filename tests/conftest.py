"""Shared fixtures. Tests never leave loopback: any other connection fails loudly."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator

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
