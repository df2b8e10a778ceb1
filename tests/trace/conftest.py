"""The pipeline's worlds (both sandboxes over HTTP) and the shared cast, for the trace's tests."""

from __future__ import annotations

from tests.factories import cast  # noqa: F401 - fixtures
from tests.pipeline.conftest import fake_world, sync_world, world  # noqa: F401 - fixtures
