from __future__ import annotations

from integration_hub.connectors.base import REDACTED, redact


def test_it_hides_secret_keys_and_inline_credentials_at_any_depth():
    cleaned = redact({
        "Authorization": "Bearer abc", "X-CSRF-Token": "tok", "Cookie": "SAP_SESSIONID=1",
        "url": "https://hub/hook?token=sandbox&org=1", "nested": [{"password": "p", "note": "BeArEr xyz.1 failed"}],
        "plain": "Acme Corp", "amount": 12.5,
    })
    assert cleaned["Authorization"] == cleaned["X-CSRF-Token"] == cleaned["Cookie"] == REDACTED
    assert cleaned["url"] == f"https://hub/hook?token={REDACTED}&org=1"
    assert cleaned["nested"] == [{"password": REDACTED, "note": f"BeArEr {REDACTED} failed"}]
    assert cleaned["plain"] == "Acme Corp"
    assert cleaned["amount"] == 12.5
