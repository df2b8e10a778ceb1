"""SOQL for the sandbox: a tokenizer, a recursive-descent parser and an executor over SfRecord rows.

Supported: field lists with parent paths (`PricebookEntry.Product2.ProductCode`), child
subqueries over child relationships, `COUNT()` / `COUNT(field)`, `WHERE` with comparison
operators, LIKE, IN / NOT IN, AND / OR / NOT and parentheses, string / number / boolean / null /
date / datetime literals, `ORDER BY` (several keys, ASC/DESC, NULLS FIRST/LAST), `LIMIT`, `OFFSET`.
Not supported (answered with MALFORMED_QUERY): GROUP BY, aggregates other than COUNT, date
functions and relative date literals (TODAY, LAST_N_DAYS:n), semi-joins, polymorphic TYPEOF.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from integration_hub.sandbox.salesforce import schema
from integration_hub.sandbox.salesforce.models import SfRecord
from integration_hub.sandbox.salesforce.schema import SObject
from integration_hub.sandbox.salesforce.store import SfApiError, api_error, attributes

# -- tokens ------------------------------------------------------------------------------------
_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:?\d{2}))
  | (?P<date>\d{4}-\d{2}-\d{2})(?![\w:])
  | (?P<number>[+-]?(?:\d+\.\d*|\.\d+|\d+))(?![\w])
  | (?P<string>'(?:[^'\\]|\\.)*')
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op><=|>=|!=|<>|=|<|>)
  | (?P<punct>[(),.])
    """,
    re.VERBOSE,
)

_KEYWORDS = {
    "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "ORDER", "BY", "ASC", "DESC", "NULLS",
    "FIRST", "LAST", "LIMIT", "OFFSET", "NULL", "TRUE", "FALSE", "COUNT", "GROUP", "HAVING", "INCLUDES",
    "EXCLUDES", "WITH", "FOR", "USING", "TYPEOF",
}
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\",
            "%": "\\%", "_": "\\_"}


@dataclass(frozen=True)
class Token:
    kind: str  # ident, keyword, string, number, date, datetime, op, punct, eof
    value: str
    pos: int


def malformed(message: str) -> SfApiError:
    return api_error("MALFORMED_QUERY", message)


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            raise malformed(f"unexpected token: '{text[pos]}' at Row:1:Column:{pos + 1}")
        kind = match.lastgroup or ""
        value = match.group()
        if kind == "ident" and value.upper() in _KEYWORDS:
            tokens.append(Token("keyword", value.upper(), pos))
        elif kind == "string":
            tokens.append(Token("string", _unescape(value[1:-1]), pos))
        elif kind != "ws":
            tokens.append(Token(kind, value, pos))
        pos = match.end()
    tokens.append(Token("eof", "", len(text)))
    return tokens


def _unescape(body: str) -> str:
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            if nxt not in _ESCAPES:
                raise malformed(f"Invalid string literal '{body}'. Illegal escape sequence '\\{nxt}'")
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


# -- syntax tree -------------------------------------------------------------------------------
@dataclass
class Literal:
    kind: str  # string, number, boolean, null, date, datetime
    value: Any


@dataclass
class PathRef:
    parts: list[str]
    pos: int
    # filled by resolution: the reference fields walked, then the final field
    rels: list[schema.Field] = field(default_factory=list)
    target: schema.Field | None = None


@dataclass
class Compare:
    path: PathRef
    op: str  # = != < > <= >= LIKE IN NOTIN
    value: Literal | list[Literal]


@dataclass
class BoolOp:
    op: str  # AND, OR
    items: list[Any]


@dataclass
class Not:
    item: Any


@dataclass
class OrderItem:
    path: PathRef
    descending: bool = False
    nulls_last: bool = False


@dataclass
class Count:
    path: PathRef | None


@dataclass
class Query:
    from_name: str
    from_pos: int
    select: list[Any]  # PathRef | Query (subquery) | Count
    where: Any = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None
    obj: SObject | None = None
    child: schema.ChildRelationship | None = None


# -- parser ------------------------------------------------------------------------------------
class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.index = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        tok = self.tokens[self.index]
        self.index += 1
        return tok

    def unexpected(self) -> SfApiError:
        tok = self.tok
        shown = "<EOF>" if tok.kind == "eof" else tok.value
        return malformed(f"unexpected token: '{shown}' at Row:1:Column:{tok.pos + 1}")

    def is_kw(self, *words: str) -> bool:
        return self.tok.kind == "keyword" and self.tok.value in words

    def expect_kw(self, word: str) -> None:
        if not self.is_kw(word):
            raise self.unexpected()
        self.advance()

    def expect_punct(self, value: str) -> None:
        if not (self.tok.kind == "punct" and self.tok.value == value):
            raise self.unexpected()
        self.advance()

    def parse(self) -> Query:
        query = self.query()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return query

    def query(self, *, sub: bool = False) -> Query:
        self.expect_kw("SELECT")
        select: list[Any] = []
        while True:
            select.append(self.select_item(sub=sub))
            if self.tok.kind == "punct" and self.tok.value == ",":
                self.advance()
                continue
            break
        self.expect_kw("FROM")
        if self.tok.kind != "ident":
            raise self.unexpected()
        from_tok = self.advance()
        query = Query(from_name=from_tok.value, from_pos=from_tok.pos, select=select)
        if self.is_kw("WHERE"):
            self.advance()
            query.where = self.or_expr()
        if self.is_kw("GROUP", "HAVING", "WITH", "FOR", "USING"):
            raise malformed(f"{self.tok.value} is not supported by the sandbox")
        if self.is_kw("ORDER"):
            self.advance()
            self.expect_kw("BY")
            query.order_by = [self.order_item()]
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.advance()
                query.order_by.append(self.order_item())
        if self.is_kw("LIMIT"):
            self.advance()
            query.limit = self.integer()
        if self.is_kw("OFFSET"):
            self.advance()
            query.offset = self.integer()
        return query

    def integer(self) -> int:
        tok = self.tok
        if tok.kind != "number" or not tok.value.isdigit():
            raise self.unexpected()
        self.advance()
        return int(tok.value)

    def select_item(self, *, sub: bool) -> Any:
        if self.tok.kind == "punct" and self.tok.value == "(":
            if sub:
                raise self.unexpected()
            self.advance()
            subquery = self.query(sub=True)
            self.expect_punct(")")
            return subquery
        if self.is_kw("COUNT"):
            self.advance()
            self.expect_punct("(")
            path = None if self.tok.kind == "punct" and self.tok.value == ")" else self.path()
            self.expect_punct(")")
            return Count(path)
        if self.is_kw("TYPEOF"):
            raise malformed("TYPEOF is not supported by the sandbox")
        return self.path()

    def path(self) -> PathRef:
        if self.tok.kind != "ident":
            raise self.unexpected()
        first = self.advance()
        parts = [first.value]
        while self.tok.kind == "punct" and self.tok.value == ".":
            self.advance()
            if self.tok.kind not in ("ident", "keyword"):
                raise self.unexpected()
            parts.append(self.advance().value)
        return PathRef(parts=parts, pos=first.pos)

    def order_item(self) -> OrderItem:
        item = OrderItem(self.path())
        if self.is_kw("ASC", "DESC"):
            item.descending = self.advance().value == "DESC"
        if self.is_kw("NULLS"):
            self.advance()
            if not self.is_kw("FIRST", "LAST"):
                raise self.unexpected()
            item.nulls_last = self.advance().value == "LAST"
        return item

    def or_expr(self) -> Any:
        items = [self.and_expr()]
        while self.is_kw("OR"):
            self.advance()
            items.append(self.and_expr())
        return items[0] if len(items) == 1 else BoolOp("OR", items)

    def and_expr(self) -> Any:
        items = [self.not_expr()]
        while self.is_kw("AND"):
            self.advance()
            items.append(self.not_expr())
        return items[0] if len(items) == 1 else BoolOp("AND", items)

    def not_expr(self) -> Any:
        if self.is_kw("NOT"):
            self.advance()
            return Not(self.not_expr())
        if self.tok.kind == "punct" and self.tok.value == "(":
            self.advance()
            expr = self.or_expr()
            self.expect_punct(")")
            return expr
        return self.condition()

    def condition(self) -> Compare:
        path = self.path()
        if self.tok.kind == "op":
            op = self.advance().value
            return Compare(path, "!=" if op == "<>" else op, self.literal())
        if self.is_kw("LIKE"):
            self.advance()
            return Compare(path, "LIKE", self.literal())
        negate = False
        if self.is_kw("NOT"):
            self.advance()
            negate = True
            if not self.is_kw("IN"):
                raise self.unexpected()
        if self.is_kw("IN"):
            self.advance()
            self.expect_punct("(")
            if self.is_kw("SELECT"):
                raise malformed("semi-join subqueries are not supported by the sandbox")
            values = [self.literal()]
            while self.tok.kind == "punct" and self.tok.value == ",":
                self.advance()
                values.append(self.literal())
            self.expect_punct(")")
            return Compare(path, "NOTIN" if negate else "IN", values)
        raise self.unexpected()

    def literal(self) -> Literal:
        tok = self.tok
        if tok.kind == "string":
            self.advance()
            return Literal("string", tok.value)
        if tok.kind == "number":
            self.advance()
            return Literal("number", float(tok.value))
        if tok.kind == "date":
            if schema.parse_date(tok.value) is None:
                raise malformed(f"line 1:{tok.pos} no viable alternative at character '{tok.value}'")
            self.advance()
            return Literal("date", tok.value)
        if tok.kind == "datetime":
            parsed = schema.parse_datetime(tok.value)
            if parsed is None:
                raise malformed(f"line 1:{tok.pos} no viable alternative at character '{tok.value}'")
            self.advance()
            return Literal("datetime", schema.format_datetime(parsed))
        if tok.kind == "keyword" and tok.value in ("TRUE", "FALSE"):
            self.advance()
            return Literal("boolean", tok.value == "TRUE")
        if tok.kind == "keyword" and tok.value == "NULL":
            self.advance()
            return Literal("null", None)
        raise self.unexpected()


def parse(text: str) -> Query:
    return Parser(text).parse()


# -- resolution against the schema -------------------------------------------------------------
def _invalid_field(name: str, obj: SObject) -> SfApiError:
    return api_error(
        "INVALID_FIELD",
        f"No such column '{name}' on entity '{obj.name}'. If you are attempting to use a custom field, be "
        "sure to append the '__c' after the custom field name. Please reference your WSDL or the describe "
        "call for the appropriate names.",
    )


def _resolve_path(path: PathRef, obj: SObject) -> None:
    parts = list(path.parts)
    if len(parts) > 1 and parts[0].lower() == obj.name.lower() and obj.relationship(parts[0]) is None:
        parts = parts[1:]  # `SELECT Opportunity.Name FROM Opportunity` is legal
    current = obj
    rels: list[schema.Field] = []
    for part in parts[:-1]:
        rel = current.relationship(part)
        if rel is None:
            raise api_error(
                "INVALID_FIELD",
                f"Didn't understand relationship '{part}' in field path. If you are attempting to use a custom "
                "relationship, be sure to append the '__r' after the custom relationship name.",
            )
        target = schema.sobject(rel.reference_to)
        if target is None:
            raise _invalid_field(part, current)
        rels.append(rel)
        current = target
    final = current.field(parts[-1])
    if final is None:
        raise _invalid_field(parts[-1], current)
    path.rels = rels
    path.target = final


def _check_literal(path: PathRef, lit: Literal, op: str) -> Literal:
    target = path.target
    assert target is not None
    if lit.kind == "null":
        if op not in ("=", "!=", "IN", "NOTIN"):
            raise malformed(f"invalid operator on null value for field '{target.name}'")
        return lit
    ftype = target.type
    wanted = {schema.DATE: "date", schema.DATETIME: "datetime", schema.BOOLEAN: "boolean"}.get(ftype)
    if wanted is None and ftype in schema.NUMBER_TYPES:
        wanted = "number"
    if wanted is None:
        if lit.kind != "string":
            raise api_error(
                "INVALID_FIELD",
                f"value of filter criterion for field '{target.name}' must be of type string and should be "
                "enclosed in quotes",
            )
        if ftype in (schema.ID, schema.REFERENCE) and op in ("=", "!=", "IN", "NOTIN"):
            normalized = schema.normalize_id(lit.value)
            if normalized is None:
                raise api_error("INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {lit.value}")
            return Literal("id", normalized)
        return lit
    if lit.kind != wanted:
        kind = {"datetime": "dateTime"}.get(wanted, wanted)
        quoted = " and should not be enclosed in quotes" if lit.kind == "string" else ""
        raise api_error(
            "INVALID_FIELD", f"value of filter criterion for field '{target.name}' must be of type {kind}{quoted}"
        )
    if op == "LIKE":
        raise api_error("INVALID_QUERY_FILTER_OPERATOR", f"invalid operator on field '{target.name}': LIKE")
    return lit


def _resolve_where(expr: Any, obj: SObject) -> None:
    if isinstance(expr, BoolOp):
        for item in expr.items:
            _resolve_where(item, obj)
    elif isinstance(expr, Not):
        _resolve_where(expr.item, obj)
    elif isinstance(expr, Compare):
        _resolve_path(expr.path, obj)
        if isinstance(expr.value, list):
            expr.value = [_check_literal(expr.path, v, expr.op) for v in expr.value]
        else:
            expr.value = _check_literal(expr.path, expr.value, expr.op)


def resolve(query: Query, parent: SObject | None = None) -> Query:
    if parent is None:
        obj = schema.sobject(query.from_name)
        if obj is None:
            raise api_error(
                "INVALID_TYPE",
                f"sObject type '{query.from_name}' is not supported. If you are attempting to use a custom object, "
                "be sure to append the '__c' after the entity name. Please reference your WSDL or the describe "
                "call for the appropriate names.",
            )
    else:
        rel = parent.child(query.from_name)
        if rel is None:
            raise api_error(
                "INVALID_TYPE",
                f"Didn't understand relationship '{query.from_name}' in FROM part of query call. If you are "
                "attempting to use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name.",
            )
        query.child = rel
        obj = schema.SOBJECTS[rel.child]
    query.obj = obj
    counts = [item for item in query.select if isinstance(item, Count)]
    if counts and (len(query.select) > 1 or parent is not None):
        raise malformed("COUNT() must be the only element in the SELECT list")
    for item in query.select:
        if isinstance(item, PathRef):
            _resolve_path(item, obj)
        elif isinstance(item, Count) and item.path is not None:
            _resolve_path(item.path, obj)
        elif isinstance(item, Query):
            resolve(item, obj)
    if query.where is not None:
        _resolve_where(query.where, obj)
    for order in query.order_by:
        _resolve_path(order.path, obj)
    return query


# -- execution ---------------------------------------------------------------------------------
Row = dict[str, Any]


class Store:
    """Records loaded for one query, by id, so parent paths cost one SQL query per level."""

    def __init__(self, include_deleted: bool) -> None:
        self.include_deleted = include_deleted
        self.by_id: dict[str, Row] = {}

    def fetch(self, ids: set[str]) -> None:
        missing = [i for i in ids if i not in self.by_id]
        if not missing:
            return
        qs = SfRecord.objects.filter(record_id__in=missing)
        if not self.include_deleted:
            qs = qs.filter(is_deleted=False)
        for record in qs:
            self.by_id[record.record_id] = record.fields


def _paths(query: Query) -> list[PathRef]:
    found: list[PathRef] = [p for p in query.select if isinstance(p, PathRef)]
    found += [c.path for c in query.select if isinstance(c, Count) and c.path is not None]
    found += [o.path for o in query.order_by]

    def walk(expr: Any) -> None:
        if isinstance(expr, BoolOp):
            for item in expr.items:
                walk(item)
        elif isinstance(expr, Not):
            walk(expr.item)
        elif isinstance(expr, Compare):
            found.append(expr.path)

    walk(query.where)
    return found


def _prefetch(rows: list[Row], paths: list[PathRef], store: Store) -> None:
    chains: dict[tuple[str, ...], list[schema.Field]] = {}
    for path in paths:
        for depth in range(1, len(path.rels) + 1):
            chains[tuple(r.name for r in path.rels[:depth])] = path.rels[:depth]
    for key in sorted(chains, key=len):
        level = rows
        for rel in chains[key][:-1]:
            level = [store.by_id[r[rel.name]] for r in level if r.get(rel.name) in store.by_id]
        last = chains[key][-1]
        store.fetch({r[last.name] for r in level if r.get(last.name)})


def _value(row: Row, path: PathRef, store: Store) -> Any:
    current: Row | None = row
    for rel in path.rels:
        ref = current.get(rel.name) if current else None
        current = store.by_id.get(ref) if ref else None
        if current is None:
            return None
    assert path.target is not None
    return current.get(path.target.name) if current else None


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "\\" and i + 1 < len(pattern):
            out.append(re.escape(pattern[i + 1]))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def _fold(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


def _equal(left: Any, lit: Literal) -> bool:
    if lit.kind == "null":
        return left is None
    if left is None:
        return False
    if lit.kind == "id":
        return left == lit.value
    return _fold(left) == _fold(lit.value)


def _matches(row: Row, expr: Any, store: Store) -> bool:
    if isinstance(expr, BoolOp):
        if expr.op == "AND":
            return all(_matches(row, item, store) for item in expr.items)
        return any(_matches(row, item, store) for item in expr.items)
    if isinstance(expr, Not):
        return not _matches(row, expr.item, store)
    assert isinstance(expr, Compare)
    left = _value(row, expr.path, store)
    op = expr.op
    if op in ("IN", "NOTIN"):
        assert isinstance(expr.value, list)
        found = any(_equal(left, lit) for lit in expr.value)
        return found if op == "IN" else not found
    lit = expr.value
    assert isinstance(lit, Literal)
    if op == "=":
        return _equal(left, lit)
    if op == "!=":
        return not _equal(left, lit)
    if left is None or lit.value is None:
        return False
    if op == "LIKE":
        return bool(_like(str(lit.value)).fullmatch(str(left)))
    a, b = _fold(left), _fold(lit.value)
    if op == "<":
        return bool(a < b)
    if op == ">":
        return bool(a > b)
    if op == "<=":
        return bool(a <= b)
    return bool(a >= b)


def _row_sort_key(path: PathRef, store: Store) -> Callable[[Row], Any]:
    return lambda row: _fold(_value(row, path, store))


def _sort(rows: list[Row], order_by: list[OrderItem], store: Store) -> list[Row]:
    for item in reversed(order_by):
        present = [r for r in rows if _value(r, item.path, store) is not None]
        nulls = [r for r in rows if _value(r, item.path, store) is None]
        present.sort(key=_row_sort_key(item.path, store), reverse=item.descending)
        rows = present + nulls if item.nulls_last else nulls + present
    return rows


def _id_prefilter(expr: Any) -> list[str] | None:
    """Ids a top-level `Id = …` / `Id IN (…)` restricts the query to, so it skips a full scan."""
    items = expr.items if isinstance(expr, BoolOp) and expr.op == "AND" else [expr]
    for item in items:
        if isinstance(item, Compare) and not item.path.rels and item.path.target is not None \
                and item.path.target.name == "Id":
            if item.op == "=" and isinstance(item.value, Literal) and item.value.kind == "id":
                return [item.value.value]
            if item.op == "IN" and isinstance(item.value, list) and all(v.kind == "id" for v in item.value):
                return [v.value for v in item.value]
    return None


def _select(query: Query, rows: list[Row], store: Store) -> list[Row]:
    _prefetch(rows, _paths(query), store)
    if query.where is not None:
        rows = [r for r in rows if _matches(r, query.where, store)]
    if query.order_by:
        rows = _sort(rows, query.order_by, store)
    return rows


def _shape(query: Query, row: Row, store: Store, children: dict[int, dict[str, list[Row]]],
           version: str) -> Row:
    assert query.obj is not None
    out: Row = {"attributes": attributes(query.obj.name, row.get("Id"), version)}
    for index, item in enumerate(query.select):
        if isinstance(item, Query):
            assert item.child is not None and item.obj is not None
            kids = children[index].get(row.get("Id") or "", [])
            out[item.child.name] = (
                {"totalSize": len(kids), "done": True,
                 "records": [_shape(item, kid, store, {}, version) for kid in kids]}
                if kids else None
            )
            continue
        assert isinstance(item, PathRef) and item.target is not None
        holder = out
        current: Row | None = row
        for rel in item.rels:
            assert current is not None
            ref = current.get(rel.name)
            current = store.by_id.get(ref) if ref else None
            key = rel.relationship_name
            if current is None:
                holder.setdefault(key, None)
                break
            nested = holder.get(key)
            if not isinstance(nested, dict):
                nested = {"attributes": attributes(rel.reference_to, current.get("Id"), version)}
                holder[key] = nested
            holder = nested
        else:
            holder[item.target.name] = current.get(item.target.name) if current else None
    return out


def execute(text: str, *, include_deleted: bool = False, version: str = "59.0") -> dict[str, Any]:
    """Run a SOQL query; the full result as `{"totalSize", "done", "records"}` (before paging)."""
    query = resolve(parse(text))
    assert query.obj is not None
    store = Store(include_deleted)
    qs = SfRecord.objects.filter(sobject=query.obj.name)
    if not include_deleted:
        qs = qs.filter(is_deleted=False)
    ids = _id_prefilter(query.where)
    if ids is not None:
        qs = qs.filter(record_id__in=ids)
    rows = []
    for record in qs.order_by("id"):
        store.by_id[record.record_id] = record.fields
        rows.append(record.fields)
    rows = _select(query, rows, store)
    if query.offset:
        rows = rows[query.offset:]
    if query.limit is not None:
        rows = rows[: query.limit]
    counts = [item for item in query.select if isinstance(item, Count)]
    if counts:
        count = counts[0]
        if count.path is None:
            return {"totalSize": len(rows), "done": True, "records": []}
        n = sum(1 for r in rows if _value(r, count.path, store) is not None)
        return {"totalSize": 1, "done": True,
                "records": [{"attributes": {"type": "AggregateResult"}, "expr0": n}]}
    children: dict[int, dict[str, list[Row]]] = {}
    parent_ids = [r["Id"] for r in rows]
    for index, item in enumerate(query.select):
        if not isinstance(item, Query):
            continue
        assert item.child is not None and item.obj is not None
        kid_qs = SfRecord.objects.filter(sobject=item.obj.name, **{f"fields__{item.child.field}__in": parent_ids})
        if not include_deleted:
            kid_qs = kid_qs.filter(is_deleted=False)
        kids = []
        for record in kid_qs.order_by("id"):
            store.by_id.setdefault(record.record_id, record.fields)
            kids.append(record.fields)
        kids = _select(item, kids, store)
        grouped: dict[str, list[Row]] = {}
        for kid in kids:
            grouped.setdefault(kid[item.child.field], []).append(kid)
        for key, group in grouped.items():
            grouped[key] = group[item.offset or 0:][: item.limit] if item.limit is not None \
                else group[item.offset or 0:]
        children[index] = grouped
    records = [_shape(query, row, store, children, version) for row in rows]
    return {"totalSize": len(records), "done": True, "records": records}
