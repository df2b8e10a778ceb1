"""Whatever a client sends, the sandbox answers with a result or NetSuite's error, never a crash."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from integration_hub.sandbox.netsuite import services, suiteql
from integration_hub.sandbox.netsuite.errors import NsError
from integration_hub.sandbox.netsuite.records import RECORD_TYPES
from integration_hub.sandbox.netsuite.seed import seed

_WORDS = ["SELECT", "FROM", "WHERE", "customer", "item", "transaction", "transactionline", "t", "c", "id", "entity",
          "companyname", "=", "<>", "'x'", "1", "(", ")", ",", "AND", "OR", "NOT", "LIKE", "'%a%'", "IN", "IS", "NULL",
          "JOIN", "ON", "t.id", "c.id", "GROUP", "BY", "ORDER", "DESC", "COUNT(*)", "SUM(foreigntotal)", "*",
          "BUILTIN.DF(terms)", "UPPER(companyname)", "TO_DATE('2025-01-01', 'YYYY-MM-DD')", "trandate", ">", "-",
          "/", "0", "BETWEEN", "DISTINCT", "AS", "x"]
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=8),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "items", "item", "quantity", "rate", "entity", "externalId", "line", "tranDate",
                         "memo", "amount", "subsidiary", "companyName", "price", "x"]), children, max_size=4),
    max_leaves=12,
)


@pytest.fixture
def seeded(db: None) -> None:
    seed()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.sampled_from(_WORDS), min_size=1, max_size=14))
def test_any_suiteql_text_is_answered_or_refused(seeded, words):
    try:
        suiteql.execute(" ".join(["SELECT", *words]), limit=10, offset=0)
    except NsError as exc:
        assert exc.status == 400
        assert exc.details[0].code == "INVALID_PARAMETER"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(record_type=st.sampled_from(["salesOrder", "customer", "invoice", "customerPayment", "inventoryItem"]),
       body=_JSON)
def test_any_record_body_is_saved_or_refused(seeded, record_type, body):
    try:
        services.record_create(RECORD_TYPES[record_type], body)
    except NsError as exc:
        assert exc.status == 400
        assert exc.details[0].detail
