"""Query lookups that behave the same on every database the hub runs on.

The suite and production run on PostgreSQL, the embedded demo on SQLite; a lookup that only one
of them understands (`tags__contains=[...]` on a JSONField is PostgreSQL's `@>`) turns a filter
into a 500 on the other.
"""

from __future__ import annotations

import json
from typing import Any

from django.db import NotSupportedError
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Lookup
from django.db.models.sql.compiler import SQLCompiler


class JSONArrayHas(Lookup):
    """A JSON array holds `rhs` as one of its elements: `qs.filter(JSONArrayHas(F("tags"), "bold"))`.

    PostgreSQL answers with `@>` (what `__contains=[rhs]` did, so an index on the column still
    serves it); SQLite has no containment operator and walks the array with `json_each`. An
    element matches whole and exactly, never as a substring of another element.
    """

    lookup_name = "has_item"
    # The right-hand side is a plain element, not a JSON document: JSONField must not encode it.
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        return self.rhs

    def as_sql(self, compiler: SQLCompiler, connection: BaseDatabaseWrapper) -> tuple[str, list[Any]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        params = [*lhs_params]
        if connection.vendor == "postgresql":
            return f"{lhs} @> %s::jsonb", [*params, json.dumps([self.rhs])]
        if connection.vendor == "sqlite":
            return f"EXISTS (SELECT 1 FROM json_each({lhs}) WHERE json_each.value = %s)", [*params, self.rhs]
        raise NotSupportedError(f"JSONArrayHas has no SQL for {connection.vendor}")
