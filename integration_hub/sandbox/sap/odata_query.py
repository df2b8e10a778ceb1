"""OData V2 values and query options for the SAP sandbox: wire <-> internal form, $filter, keys.

`$filter` is parsed into a small AST and evaluated in Python over the internal form; the sets the
sandbox holds are small (hundreds to a few thousand rows), so this is simpler than SQL and the
semantics (case-sensitive substringof, typed comparisons) stay exactly OData's.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote

from integration_hub.sandbox.sap.entities import EntityType, Prop


class QueryError(ValueError):
    """A malformed query option or value; the view answers 400."""


# -- values ----------------------------------------------------------------------------------------
_DATE_RE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_datetime(value: str) -> datetime:
    match = _DATE_RE.match(value)
    if match:
        return EPOCH + timedelta(milliseconds=int(match.group(1)))
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise QueryError(f"Invalid date/time value '{value}'") from exc
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def dt_internal(value: datetime) -> str:
    return value.astimezone(UTC).isoformat()


def to_internal(prop: Prop, value: Any) -> Any:
    """A JSON request value for `prop` in the sandbox's internal form; ValueError when invalid."""
    if value is None:
        if not prop.nullable:
            raise ValueError(f"Property '{prop.name}' must not be null")
        return None
    kind = prop.type
    if kind == "Edm.String":
        if isinstance(value, bool) or not isinstance(value, str | int):
            raise ValueError(f"Property '{prop.name}' has invalid value type")
        text = str(value)
        if prop.max_length is not None and len(text) > prop.max_length:
            raise ValueError(f"Value '{text}' too long for property '{prop.name}' (max {prop.max_length})")
        return text
    if kind == "Edm.Decimal":
        if isinstance(value, bool):
            raise ValueError(f"Property '{prop.name}' has invalid value type")
        try:
            number = Decimal(str(value).rstrip("Mm"))
        except InvalidOperation as exc:
            raise ValueError(f"Invalid decimal value '{value}' for property '{prop.name}'") from exc
        if not number.is_finite():
            raise ValueError(f"Invalid decimal value '{value}' for property '{prop.name}'")
        return str(number)
    if kind in ("Edm.DateTime", "Edm.DateTimeOffset"):
        if isinstance(value, datetime):
            return dt_internal(value if value.tzinfo else value.replace(tzinfo=UTC))
        if not isinstance(value, str):
            raise ValueError(f"Property '{prop.name}' has invalid value type")
        try:
            return dt_internal(parse_datetime(value))
        except QueryError as exc:
            raise ValueError(f"Invalid date value '{value}' for property '{prop.name}'") from exc
    if kind == "Edm.Boolean":
        if not isinstance(value, bool):
            raise ValueError(f"Property '{prop.name}' expects a boolean")
        return value
    return value


def default_internal(prop: Prop) -> Any:
    """What SAP shows for an empty field: "" for strings, 0 for decimals, null for dates."""
    if prop.type == "Edm.String":
        return ""
    if prop.type == "Edm.Decimal":
        return "0"
    if prop.type == "Edm.Boolean":
        return False
    return None


def to_wire(prop: Prop, value: Any) -> Any:
    if value is None:
        return default_internal(prop) if prop.type in ("Edm.String", "Edm.Decimal", "Edm.Boolean") else None
    if prop.type == "Edm.DateTime":
        return f"/Date({_ms(value)})/"
    if prop.type == "Edm.DateTimeOffset":
        return f"/Date({_ms(value)}+0000)/"
    if prop.type == "Edm.Decimal":
        return str(value)
    return value


def _ms(internal: str) -> int:
    return int((parse_datetime(internal) - EPOCH) / timedelta(milliseconds=1))


def to_python(prop: Prop | None, value: Any) -> Any:
    """The comparable Python value of an internal value (Decimal, aware datetime, str, bool)."""
    if value is None or prop is None:
        return value
    if prop.type == "Edm.Decimal":
        return Decimal(str(value))
    if prop.type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        return parse_datetime(value)
    return value


def etag_for(internal: str) -> str:
    """SAP's weak ETag over a DateTimeOffset: W/"datetimeoffset'2024-06-01T08%3A30%3A30.3885560Z'"."""
    moment = parse_datetime(internal)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}0Z"
    return f"W/\"datetimeoffset'{quote(text, safe='-.TZ')}'\""


def literal(prop: Prop, internal: Any) -> str:
    """The URI literal of a key value, as in A_SalesOrderItem(SalesOrder='1',SalesOrderItem='10')."""
    if prop.type == "Edm.DateTime":
        return "datetime'" + parse_datetime(internal).strftime("%Y-%m-%dT%H:%M:%S") + "'"
    if prop.type == "Edm.DateTimeOffset":
        return "datetimeoffset'" + parse_datetime(internal).strftime("%Y-%m-%dT%H:%M:%SZ") + "'"
    if prop.type == "Edm.Decimal":
        return f"{internal}M"
    return "'" + quote(str(internal).replace("'", "''"), safe=" -_.~") + "'"


def key_string(etype: EntityType, data: dict[str, Any]) -> str:
    """The canonical storage key of an entity."""
    props = etype.prop_map
    parts = []
    for name in etype.keys:
        value = data.get(name)
        if props[name].type in ("Edm.DateTime", "Edm.DateTimeOffset") and value is not None:
            value = parse_datetime(value).strftime("%Y-%m-%dT%H:%M:%S")
        parts.append(f"{name}={value}")
    return ",".join(parts)


def key_predicate(etype: EntityType, data: dict[str, Any]) -> str:
    props = etype.prop_map
    if len(etype.keys) == 1:
        name = etype.keys[0]
        return f"({literal(props[name], data.get(name))})"
    return "(" + ",".join(f"{name}={literal(props[name], data.get(name))}" for name in etype.keys) + ")"


# -- tokens ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Tok:
    kind: str  # "lit" | "name" | "op" ("(" ")" ",") | "end"
    value: Any


_TYPED_LITERAL = re.compile(r"(datetimeoffset|datetime|guid|time|binary|X)'((?:[^']|'')*)'", re.IGNORECASE)
_STRING = re.compile(r"'((?:[^']|'')*)'")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?([MmDdFfLl])?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_/.]*")


def tokenize(text: str) -> list[Tok]:
    tokens: list[Tok] = []
    pos = 0
    while pos < len(text):
        char = text[pos]
        if char.isspace():
            pos += 1
            continue
        if char in "(),=":
            tokens.append(Tok("op", char))
            pos += 1
            continue
        match = _TYPED_LITERAL.match(text, pos)
        if match:
            prefix, raw = match.group(1).lower(), match.group(2).replace("''", "'")
            value: Any
            value = parse_datetime(raw) if prefix in ("datetime", "datetimeoffset") else raw
            tokens.append(Tok("lit", value))
            pos = match.end()
            continue
        match = _STRING.match(text, pos)
        if match:
            tokens.append(Tok("lit", match.group(1).replace("''", "'")))
            pos = match.end()
            continue
        match = _NUMBER.match(text, pos)
        if match and (char.isdigit() or char == "-"):
            raw, suffix = match.group(0), (match.group(3) or "").upper()
            body = raw[:-1] if suffix else raw
            if suffix == "M" or (("." in body or "e" in body.lower()) and not suffix):
                tokens.append(Tok("lit", Decimal(body)))
            elif suffix in ("D", "F"):
                tokens.append(Tok("lit", float(body)))
            else:
                tokens.append(Tok("lit", int(body)))
            pos = match.end()
            continue
        match = _NAME.match(text, pos)
        if match:
            word = match.group(0)
            lowered = word.lower()
            if lowered in ("true", "false"):
                tokens.append(Tok("lit", lowered == "true"))
            elif lowered == "null":
                tokens.append(Tok("lit", None))
            else:
                tokens.append(Tok("name", word))
            pos = match.end()
            continue
        raise QueryError(f"Invalid token at position {pos} in '{text}'")
    tokens.append(Tok("end", None))
    return tokens


# -- $filter ---------------------------------------------------------------------------------------
Row = dict[str, Any]
Expr = Callable[[Row], Any]

_COMPARISONS = {"eq", "ne", "gt", "ge", "lt", "le"}
_ARITHMETIC = {"add", "sub", "mul", "div", "mod"}


def _coerce(left: Any, right: Any) -> tuple[Any, Any]:
    if isinstance(left, Decimal) and isinstance(right, int | float | str) and not isinstance(right, bool):
        return left, Decimal(str(right))
    if isinstance(right, Decimal) and isinstance(left, int | float | str) and not isinstance(left, bool):
        return Decimal(str(left)), right
    if isinstance(left, datetime) and isinstance(right, str):
        return left, parse_datetime(right)
    if isinstance(right, datetime) and isinstance(left, str):
        return parse_datetime(left), right
    return left, right


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("eq", "ne"):
        if left is None or right is None:
            equal = left is right
        else:
            try:
                a, b = _coerce(left, right)
            except (QueryError, InvalidOperation):
                return op == "ne"
            equal = a == b
        return equal if op == "eq" else not equal
    if left is None or right is None:
        return False
    try:
        a, b = _coerce(left, right)
        if op == "gt":
            return bool(a > b)
        if op == "ge":
            return bool(a >= b)
        if op == "lt":
            return bool(a < b)
        return bool(a <= b)
    except (TypeError, QueryError, InvalidOperation):
        return False


def _fn_str(value: Any) -> str:
    return "" if value is None else str(value)


_FUNCTIONS: dict[str, tuple[int, Callable[..., Any]]] = {
    "substringof": (2, lambda needle, hay: _fn_str(needle) in _fn_str(hay)),
    "startswith": (2, lambda hay, prefix: _fn_str(hay).startswith(_fn_str(prefix))),
    "endswith": (2, lambda hay, suffix: _fn_str(hay).endswith(_fn_str(suffix))),
    "tolower": (1, lambda value: None if value is None else _fn_str(value).lower()),
    "toupper": (1, lambda value: None if value is None else _fn_str(value).upper()),
    "trim": (1, lambda value: None if value is None else _fn_str(value).strip()),
    "length": (1, lambda value: len(_fn_str(value))),
    "indexof": (2, lambda hay, needle: _fn_str(hay).find(_fn_str(needle))),
    "concat": (2, lambda a, b: _fn_str(a) + _fn_str(b)),
}


class _Parser:
    def __init__(self, text: str, etype: EntityType) -> None:
        self.tokens = tokenize(text)
        self.pos = 0
        self.etype = etype

    def peek(self) -> Tok:
        return self.tokens[self.pos]

    def take(self) -> Tok:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def expect_op(self, value: str) -> None:
        tok = self.take()
        if tok.kind != "op" or tok.value != value:
            raise QueryError(f"Expected '{value}' in $filter")

    def is_word(self, *words: str) -> bool:
        tok = self.peek()
        return tok.kind == "name" and tok.value.lower() in words

    def parse(self) -> Expr:
        expr = self.parse_or()
        if self.peek().kind != "end":
            raise QueryError(f"Unexpected '{self.peek().value}' in $filter")
        return expr

    def parse_or(self) -> Expr:
        left = self.parse_and()
        while self.is_word("or"):
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda row: bool(a(row)) or bool(b(row)))(left, right)
        return left

    def parse_and(self) -> Expr:
        left = self.parse_not()
        while self.is_word("and"):
            self.take()
            right = self.parse_not()
            left = (lambda a, b: lambda row: bool(a(row)) and bool(b(row)))(left, right)
        return left

    def parse_not(self) -> Expr:
        if self.is_word("not"):
            self.take()
            inner = self.parse_not()
            return lambda row: not inner(row)
        return self.parse_comparison()

    def parse_comparison(self) -> Expr:
        left = self.parse_additive()
        if self.peek().kind == "name" and self.peek().value.lower() in _COMPARISONS:
            op = self.take().value.lower()
            right = self.parse_additive()
            return (lambda a, b, o: lambda row: _compare(o, a(row), b(row)))(left, right, op)
        return left

    def parse_additive(self) -> Expr:
        left = self.parse_primary()
        while self.peek().kind == "name" and self.peek().value.lower() in _ARITHMETIC:
            op = self.take().value.lower()
            right = self.parse_primary()
            left = (lambda a, b, o: lambda row: _arith(o, a(row), b(row)))(left, right, op)
        return left

    def parse_primary(self) -> Expr:
        tok = self.take()
        if tok.kind == "op" and tok.value == "(":
            inner = self.parse_or()
            self.expect_op(")")
            return inner
        if tok.kind == "lit":
            value = tok.value
            return lambda row: value
        if tok.kind == "name":
            name = tok.value
            if self.peek().kind == "op" and self.peek().value == "(":
                return self.parse_call(name)
            prop = self.etype.prop_map.get(name)
            if prop is None:
                raise QueryError(f"Property '{name}' not found in type '{self.etype.name}'")
            return lambda row: to_python(prop, row.get(name))
        raise QueryError("Incomplete $filter expression")

    def parse_call(self, name: str) -> Expr:
        spec = _FUNCTIONS.get(name.lower())
        if spec is None:
            raise QueryError(f"Function '{name}' is not supported")
        arity, fn = spec
        self.expect_op("(")
        args = [self.parse_or()]
        while self.peek().kind == "op" and self.peek().value == ",":
            self.take()
            args.append(self.parse_or())
        self.expect_op(")")
        if len(args) != arity:
            raise QueryError(f"Function '{name}' expects {arity} arguments")
        return lambda row: fn(*(arg(row) for arg in args))


def _arith(op: str, left: Any, right: Any) -> Any:
    if left is None or right is None:
        return None
    a, b = Decimal(str(left)), Decimal(str(right))
    return {"add": a + b, "sub": a - b, "mul": a * b, "div": a / b if b else None, "mod": a % b if b else None}[op]


def compile_filter(text: str, etype: EntityType) -> Expr:
    return _Parser(text, etype).parse()


# -- $orderby / $select / $expand ------------------------------------------------------------------
def parse_orderby(text: str, etype: EntityType) -> list[tuple[str, bool]]:
    order = []
    for part in text.split(","):
        bits = part.strip().split()
        if not bits:
            continue
        name = bits[0]
        if name not in etype.prop_map:
            raise QueryError(f"Property '{name}' not found in type '{etype.name}'")
        descending = len(bits) > 1 and bits[1].lower() == "desc"
        order.append((name, descending))
    return order


def sort_rows(rows: list[Row], order: list[tuple[str, bool]], etype: EntityType) -> list[Row]:
    props = etype.prop_map
    for name, descending in reversed(order):
        # None sorts first ascending, as on HANA
        rows.sort(key=_row_sort_key(props[name], name), reverse=descending)
    return rows


def _row_sort_key(prop: Prop, name: str) -> Callable[[Row], tuple[bool, Any]]:
    return lambda row: _sort_key(prop, row.get(name))


def _sort_key(prop: Prop, value: Any) -> tuple[bool, Any]:
    return (False, "") if value is None else (True, to_python(prop, value))


ExpandTree = dict[str, "ExpandTree"]


def parse_expand(text: str) -> ExpandTree:
    tree: ExpandTree = {}
    for path in text.split(","):
        path = path.strip()
        if not path:
            continue
        node = tree
        for segment in path.split("/"):
            node = node.setdefault(segment.strip(), {})
    return tree


def parse_key(text: str, etype: EntityType) -> dict[str, Any]:
    """Key values (internal form) from `'5000010'` or `SalesOrder='5000010',SalesOrderItem='10'`."""
    tokens = tokenize(text)
    values: dict[str, Any] = {}
    pos = 0
    positional: list[Any] = []
    while tokens[pos].kind != "end":
        tok = tokens[pos]
        if tok.kind == "name" and tokens[pos + 1].kind == "op" and tokens[pos + 1].value == "=":
            if tokens[pos + 2].kind != "lit":
                raise QueryError(f"Invalid key predicate '{text}'")
            values[tok.value] = tokens[pos + 2].value
            pos += 3
        elif tok.kind == "lit":
            positional.append(tok.value)
            pos += 1
        else:
            raise QueryError(f"Invalid key predicate '{text}'")
        if tokens[pos].kind == "op" and tokens[pos].value == ",":
            pos += 1
    if positional:
        if values or len(positional) != len(etype.keys):
            raise QueryError(f"Invalid key predicate '{text}'")
        values = dict(zip(etype.keys, positional, strict=True))
    if set(values) != set(etype.keys):
        raise QueryError(f"Key predicate '{text}' does not match the keys of '{etype.name}'")
    result: dict[str, Any] = {}
    for name, value in values.items():
        prop = etype.prop_map[name]
        if isinstance(value, datetime):
            result[name] = dt_internal(value)
        elif isinstance(value, Decimal | int | float) and prop.type == "Edm.String":
            result[name] = str(value)
        else:
            result[name] = to_internal(prop, value) if not isinstance(value, datetime) else value
    return result
