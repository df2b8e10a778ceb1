"""The pipeline's worlds (both sandboxes over HTTP, or the fake ERP), for reconciliation's tests."""

from __future__ import annotations

from tests.pipeline.conftest import fake_world, sync_world, world  # noqa: F401 - fixtures
