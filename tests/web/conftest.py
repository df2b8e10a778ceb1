from __future__ import annotations

# The shared cast of users (the security tests speak about the outsider and the pricing analyst).
from tests.factories import cast  # noqa: F401
