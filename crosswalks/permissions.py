"""Who may change which crosswalk table. Everyone signed in may read every table.

Admins edit everything; the "Crosswalk editors" group (product ops and master data in the demo)
edits every table; members of a table's owning queue edit that table (product ops: products and
units; master data: accounts, terms, tax, currencies); so does anyone holding the model's
`change_` permission (e.g. given in the admin).

A table's history (who changed what, why, and the old values) is for the people who may edit the
table and for admins (staff): everyone else gets 404, on the screen and in the API.
"""

from __future__ import annotations

from typing import Any

from crosswalks.tables import TABLES, Table

EDITORS_GROUP = "Crosswalk editors"


def can_edit(user: Any, table: Table) -> bool:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if user.is_superuser:
        return True
    if user.groups.filter(name=EDITORS_GROUP).exists():
        return True
    if user.has_perm(f"crosswalks.change_{table.model._meta.model_name}"):
        return True
    return user.exception_queues.filter(slug__in=table.editor_queues).exists()


def editable_tables(user: Any) -> set[str]:
    return {slug for slug, table in TABLES.items() if can_edit(user, table)}


def can_read_history(user: Any, table: Table) -> bool:
    return bool(getattr(user, "is_authenticated", False) and user.is_active
                and (user.is_staff or can_edit(user, table)))
