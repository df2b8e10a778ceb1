"""Statements the ORM cannot say in one round trip, for the hot path of a deal (PostgreSQL).

`handoff_move_statement` moves a handoff and records its event in one data-modifying CTE:
one statement instead of BEGIN, UPDATE, INSERT, COMMIT. `handoff_transition` (services) uses
it on PostgreSQL for plain column values and keeps the ORM path everywhere else.
`handoff_insert_statement` does the same for a deal's arrival (`handoff_receive`): the row and
its `received` event, or nothing when the deal is known already.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Field

from integration_hub.models import Handoff, HandoffEvent


def plain_column(name: str, value: Any) -> bool:
    """A field the one-statement transition can write: a concrete non-relation column, a plain value."""
    try:
        field = Handoff._meta.get_field(name)
    except Exception:  # noqa: BLE001 - an unknown name is the ORM's to report
        return False
    return bool(getattr(field, "concrete", False)) and not field.is_relation and not hasattr(value, "resolve_expression")


def handoff_move_statement(handoff: Handoff, to_status: str, *, now: datetime, actor: User | None, label: str,
                          reason: str, fields: dict[str, Any]) -> bool:
    """PostgreSQL: the row's move and its event in one statement (a data-modifying CTE), so a
    transition is one round trip instead of four (BEGIN, UPDATE, INSERT, COMMIT) and is atomic
    by itself. Moves the row only from the status the caller saw; False when it had moved on."""
    meta = Handoff._meta
    assignments = {"status": to_status, "updated_at": now, **fields}
    columns, params = [], []
    for name, value in assignments.items():
        column = meta.get_field(name)
        assert isinstance(column, Field)  # plain_column let only concrete columns through
        columns.append(f"{connection.ops.quote_name(column.column)} = %s")
        params.append(column.get_db_prep_save(value, connection))
    event = HandoffEvent._meta.db_table
    sql = (f"WITH moved AS (UPDATE {connection.ops.quote_name(meta.db_table)} SET {', '.join(columns)} "
           f"WHERE id = %s AND status = %s RETURNING id) "
           f"INSERT INTO {connection.ops.quote_name(event)} "
           f"(handoff_id, actor_id, actor_label, from_status, to_status, reason, created_at) "
           f"SELECT id, %s, %s, %s, %s, %s, %s FROM moved RETURNING id")
    params += [handoff.pk, handoff.status, actor.pk if actor else None, label, handoff.status, to_status, reason, now]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def handoff_insert_statement(handoff: Handoff, *, now: datetime, label: str, reason: str) -> int | None:
    """PostgreSQL: insert a new deal's handoff and its `received` event in one statement (a
    data-modifying CTE), instead of BEGIN, SELECT, SAVEPOINT, INSERT, RELEASE, INSERT, COMMIT.
    Returns the new row's id, or None when the deal's handoff exists already (ON CONFLICT on the
    one-handoff-per-deal constraint: two concurrent arrivals end on the same row)."""
    meta = Handoff._meta
    fields = [f for f in meta.concrete_fields if not f.primary_key]
    values = [f.get_db_prep_save(f.pre_save(handoff, add=True), connection) for f in fields]
    quote = connection.ops.quote_name
    sql = (f"WITH made AS (INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "
           f"VALUES ({', '.join(['%s'] * len(fields))}) ON CONFLICT (org_id, opportunity_id) DO NOTHING "
           f"RETURNING id), "
           f"noted AS (INSERT INTO {quote(HandoffEvent._meta.db_table)} "
           f"(handoff_id, actor_id, actor_label, from_status, to_status, reason, created_at) "
           f"SELECT id, NULL, %s, '', %s, %s, %s FROM made) "
           f"SELECT id FROM made")
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, label, handoff.status, reason, now])
        row = cursor.fetchone()
    return int(row[0]) if row else None
