"""CSV import (dry run, then all-or-nothing) and export for every crosswalk table.

An import writes its rows in bulk (COPY on PostgreSQL: a 100k-row file in seconds, where a save
per row would take minutes) but is a save like any other: the rows are checked against SAP by
`import_plan` before any transaction, each row gets its history row, and the exceptions the rows
fix are resolved by the services' `crosswalk_unblock`, in the import's own transaction.

Excel writes CSVs with a UTF-8 BOM (or Windows-1252), `;` as separator where the decimal comma
is local, and CRLF line ends; all of these are read as well as plain RFC 4180 files.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from crosswalks.errors import ImportRejected
from crosswalks.models import (
    ChangeAction,
    ChangeChannel,
    CrosswalkChange,
    ProductMapping,
    ProductMappingComponent,
)
from crosswalks.sap_lookup import SapLookup, sap_check
from crosswalks.selectors import Preview, unblock_preview
from crosswalks.services import Unblocked, actor_or_none, crosswalk_unblock
from crosswalks.tables import COMPONENT_KINDS, Table, component_rows
from integration_hub.csvsafe import formula_risk, spreadsheet_safe, spreadsheet_unquote
from integration_hub.errors import HubError
from integration_hub.snapshots import snapshot_forget


@dataclass
class RowError:
    line: int
    column: str
    message: str


@dataclass
class ImportPlan:
    table: Table
    text: str
    replace: bool
    errors: list[RowError] = field(default_factory=list)
    # Imported all the same, but worth a look: e.g. a cell a spreadsheet would run as a formula.
    warnings: list[RowError] = field(default_factory=list)
    added: list[dict[str, Any]] = field(default_factory=list)  # cleaned values
    changed: list[tuple[Any, dict[str, str], dict[str, Any]]] = field(default_factory=list)  # obj, before, values
    removed: list[Any] = field(default_factory=list)
    unchanged: int = 0
    preview: Preview = field(default_factory=Preview)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def changed_rows(self) -> list[tuple[str, dict[str, str], dict[str, str]]]:
        rows = []
        for _, before, values in self.changed:
            after = self.table.values_snapshot(values)
            rows.append((self.table.row_key(after), {k: v for k, v in before.items() if after.get(k) != v},
                         {k: v for k, v in after.items() if before.get(k) != v}))
        return rows

    @property
    def counts(self) -> dict[str, int]:
        return {"added": len(self.added), "changed": len(self.changed), "removed": len(self.removed),
                "unchanged": self.unchanged}


def decode(content: bytes | str) -> str:
    if isinstance(content, str):
        return content.lstrip("\ufeff")
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return content.decode("cp1252")


def _delimiter(text: str) -> str:
    header = text.split("\n", 1)[0]
    return max((";", ",", "\t"), key=header.count)


def import_plan(table: Table, content: bytes | str, *, replace: bool = False,
                lookup: SapLookup | None = None) -> ImportPlan:
    """Read and check a whole file without writing anything. `lookup` None skips the SAP checks."""
    text = decode(content)
    plan = ImportPlan(table, text, replace)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next(reader)
    except StopIteration:
        plan.errors.append(RowError(1, "", "The file is empty; the first line must name the columns."))
        return plan
    by_label = {c.label.lower(): c.name for c in table.columns} | {c.name: c.name for c in table.columns}
    names = [by_label.get(h.strip().lower(), "") for h in header]
    for raw_name, name in zip(header, names, strict=True):
        if not name and raw_name.strip():
            plan.errors.append(RowError(1, raw_name.strip(), f"Unknown column '{raw_name.strip()}'; "
                                        f"expected {', '.join(table.column_names)}."))
    for column in table.columns:
        if column.required and not column.default and column.name not in names:
            plan.errors.append(RowError(1, column.name, f"The column {column.name} is missing."))
    if plan.errors:
        return plan

    rows: list[tuple[int, dict[str, Any]]] = []
    for record in reader:
        if not any(cell.strip() for cell in record):
            continue
        line = reader.line_num
        if len(record) > len(names):
            plan.errors.append(RowError(line, "", f"The line has {len(record)} cells; the header names {len(names)}."))
            continue
        raw = {name: spreadsheet_unquote(cell) for name, cell in zip(names, record, strict=False) if name}
        for column_name, cell in raw.items():
            if risk := formula_risk(cell):
                plan.warnings.append(RowError(line, column_name, f"{cell[:40]!r} {risk}."))
        cleaned = table.clean(raw)
        for column_name, message in cleaned.errors.items():
            plan.errors.append(RowError(line, column_name, message))
        if not cleaned.errors:
            rows.append((line, cleaned.values))

    if lookup is not None:
        if table.slug == "products":
            try:
                lookup.materials_exist({c["sap_material"] for _, v in rows for c in v["materials"]})
                for target in {c["erp_target"] for _, v in rows for c in v.get("erp_items") or []}:
                    lookup.for_target(target).materials_exist(
                        {c["erp_item"] for _, v in rows for c in v.get("erp_items") or [] if c["erp_target"] == target})
            except HubError as error:  # SAP down or refusing: the file is not wrong, the check could not run
                plan.errors.append(RowError(0, "", f"SAP could not be asked ({error}); nothing was imported. "
                                            "Run the dry run again in a moment."))
                return plan
        for line, values in rows:
            for column_name, message in sap_check(table.slug, values, lookup).items():
                plan.errors.append(RowError(line, "" if column_name == "general" else column_name, message))

    existing = {table.row_key(table.snapshot(obj)): obj for obj in table.queryset()}
    seen: dict[str, int] = {}
    for line, values in rows:
        key = table.row_key(values)
        if key in seen:
            plan.errors.append(RowError(line, table.key[-1], f"{key} is already on line {seen[key]}."))
            continue
        seen[key] = line
        obj = existing.get(key)
        if obj is None:
            plan.added.append(values)
            continue
        before = table.snapshot(obj)
        if before == table.values_snapshot(values):
            plan.unchanged += 1
        else:
            plan.changed.append((obj, before, values))
    if replace:
        plan.removed = [obj for key, obj in existing.items() if key not in seen]
    plan.errors.sort(key=lambda e: (e.line, e.column))
    if plan.ok:
        plan.preview = unblock_preview(table=table.slug, rows=plan.added + [v for _, _, v in plan.changed],
                                       changed=[v for _, _, v in plan.changed] + [table.snapshot(o) for o in plan.removed])
    return plan


@dataclass(frozen=True)
class Imported:
    counts: dict[str, int]
    unblocked: Unblocked


@transaction.atomic
def import_apply(*, plan: ImportPlan, actor: Any, reason: str = "") -> Imported:
    """Write a checked plan in one transaction: every row or none. Returns the counts and the
    deals the rows unblocked (found again here, not taken from the dry run: exceptions may have
    opened or closed since)."""
    if not plan.ok:
        raise ImportRejected("the file has errors; nothing was imported")
    table = plan.table
    actor = actor_or_none(actor)
    reason = reason or "CSV import"
    history: list[CrosswalkChange] = []
    try:
        with transaction.atomic():
            _write(table, plan, actor)
    except IntegrityError as error:
        raise ImportRejected(f"the database refused the import ({error}); nothing was imported") from error
    for values in plan.added:
        history.append(CrosswalkChange(table=table.slug, row_key=table.row_key(values), action=ChangeAction.CREATE,
                                       channel=ChangeChannel.CSV, before=None, after=table.values_snapshot(values),
                                       actor=actor, reason=reason))
    for _, before, values in plan.changed:
        history.append(CrosswalkChange(table=table.slug, row_key=table.row_key(values), action=ChangeAction.UPDATE,
                                       channel=ChangeChannel.CSV, before=before, after=table.values_snapshot(values),
                                       actor=actor, reason=reason))
    for obj in plan.removed:
        before = table.snapshot(obj)
        history.append(CrosswalkChange(table=table.slug, row_key=table.row_key(before), action=ChangeAction.DELETE,
                                       channel=ChangeChannel.CSV, before=before, after=None, actor=actor,
                                       reason=reason))
    if connection.vendor == "postgresql":
        _copy(CrosswalkChange, ["table", "row_key", "action", "channel", "before", "after", "actor_id", "reason",
                                "created_at"],
              ((h.table, h.row_key, h.action, h.channel, _json(h.before), _json(h.after), h.actor_id, h.reason,
                h.created_at) for h in history))
    else:
        CrosswalkChange.objects.bulk_create(history, batch_size=5000)
    unblocked = crosswalk_unblock(table=table, rows=plan.added + [values for _, _, values in plan.changed],
                                  actor=actor, note=f"{table.label}: CSV import")
    return Imported(plan.counts, unblocked)


def _plain(table: Table, values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if table.column(k).kind not in COMPONENT_KINDS}


def _write(table: Table, plan: ImportPlan, actor: Any) -> None:
    model = table.model
    snapshot_forget(model)  # bulk writes send no signals: the cached copy goes by hand
    is_product = model is ProductMapping
    removed = [obj.pk for obj in plan.removed]
    if removed:
        model._default_manager.filter(pk__in=removed).delete()
    extra = {"updated_by": actor, "source": "import"} if is_product else {}
    if is_product and connection.vendor == "postgresql" and plan.added:
        created = _copy_products(plan.added, actor)
    else:
        created = model._default_manager.bulk_create([model(**_plain(table, v), **extra) for v in plan.added], batch_size=5000)
    changed_objs = []
    for obj, _, values in plan.changed:
        for name, value in _plain(table, values).items():
            setattr(obj, name, value)
        if is_product:
            obj.updated_by = actor
        changed_objs.append(obj)
    fields = [c.name for c in table.columns if c.kind not in COMPONENT_KINDS] + (["updated_by"] if is_product else [])
    if changed_objs:
        model._default_manager.bulk_update(changed_objs, fields, batch_size=5000)
    if is_product:
        ProductMappingComponent.objects.filter(mapping__in=changed_objs).delete()
        pairs = list(zip(created, plan.added, strict=True)) + [(o, v) for o, _, v in plan.changed]
        if connection.vendor == "postgresql":
            _copy(ProductMappingComponent, ["mapping_id", "erp_target", "sap_material", "erp_item", "quantity_factor",
                                            "unit", "position"],
                  ((obj.pk, c["erp_target"], c["sap_material"], c["erp_item"], c.get("quantity_factor", 1),
                    c.get("unit", ""), c.get("position", i))
                   for obj, values in pairs for i, c in enumerate(component_rows(values))))
        else:
            ProductMappingComponent.objects.bulk_create(
                [ProductMappingComponent(mapping=obj, **component) for obj, values in pairs
                 for component in component_rows(values)],
                batch_size=5000,
            )


# PostgreSQL COPY for big imports: bulk_create spends most of 100k rows building model instances
# and array parameters; COPY streams plain tuples. Same rows, same transaction.
def _copy(model: Any, columns: list[str], rows: Any) -> None:
    names = ", ".join(f'"{model._meta.get_field(c.removesuffix("_id") if c.endswith("_id") else c).column}"'
                      for c in columns)
    # wrap_database_errors: a duplicate key surfaces as Django's IntegrityError, as with bulk_create.
    with connection.wrap_database_errors, connection.cursor() as cursor, cursor.cursor.copy(
        f'COPY "{model._meta.db_table}" ({names}) FROM STDIN'
    ) as copy:
        for row in rows:
            copy.write_row(row)


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value)


class _Created:
    """Just the primary key of a row written by COPY (what the component rows need)."""

    def __init__(self, pk: int) -> None:
        self.pk = pk


def _copy_products(added: list[dict[str, Any]], actor: Any) -> list[Any]:
    now = timezone.now()
    actor_id = getattr(actor, "pk", None)
    _copy(ProductMapping, ["crm_product_code", "crm_product_name", "confidence", "active", "source", "valid_from",
                           "valid_to", "updated_by_id", "created_at", "updated_at"],
          ((v["crm_product_code"], v.get("crm_product_name", ""), v.get("confidence", 1), v.get("active", True),
            "import", v.get("valid_from"), v.get("valid_to"), actor_id, now, now) for v in added))
    codes = [v["crm_product_code"] for v in added]
    ids: dict[str, int] = {}
    for start in range(0, len(codes), 10_000):
        ids.update(ProductMapping.objects.filter(crm_product_code__in=codes[start:start + 10_000])
                   .values_list("crm_product_code", "pk"))
    return [_Created(ids[code]) for code in codes]


def export_csv(table: Table, rows: Any, *, excel: bool = False) -> str:
    """The rows as CSV with the table's column names; `excel`: BOM, `;` and CRLF, as Excel expects.
    Every cell goes through `spreadsheet_safe`: a value starting with `=` opens as text, not a formula."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if excel else ",", lineterminator="\r\n" if excel else "\n")
    writer.writerow(table.column_names)
    for obj in rows:
        snap = table.snapshot(obj)
        cells = [(column, snap[column.name]) for column in table.columns]
        while cells and cells[-1][0].optional and cells[-1][1] in ("", cells[-1][0].default):
            cells.pop()  # an S/4-only row reads as it always did
        writer.writerow([spreadsheet_safe(value) for _column, value in cells])
    return ("\ufeff" if excel else "") + out.getvalue()
