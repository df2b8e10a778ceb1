from __future__ import annotations

# The shared cast of users, and the broker recorder (autouse: no test here needs a worker).
from tests.factories import cast, enqueued  # noqa: F401
