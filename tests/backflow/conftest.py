"""The pipeline's worlds (both sandboxes over HTTP, or the fake ERP), for the back-flow's tests."""

from __future__ import annotations

from tests.pipeline.conftest import fake_world, sync_world, world  # noqa: F401 - fixtures

