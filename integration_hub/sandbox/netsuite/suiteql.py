"""A small, strict SuiteQL: parsed by sqlglot (Oracle dialect), evaluated over the sandbox's records.

Supported: `SELECT [DISTINCT] <columns | * | expressions> FROM <table> [alias] [[LEFT] JOIN <table>
[alias] ON ...] [WHERE ...] [GROUP BY ...] [ORDER BY ... [ASC|DESC]]`; operators `= <> != < <= > >=`,
`LIKE`, `IN (list)`, `BETWEEN`, `IS [NOT] NULL`, `AND OR NOT`, `+ - * /`; functions `UPPER`,
`LOWER`, `NVL`/`COALESCE`, `TO_DATE(text, 'YYYY-MM-DD' | 'MM/DD/YYYY')`, `BUILTIN.DF(column)`,
and the aggregates `COUNT(*)`, `COUNT(col)`, `SUM`, `MIN`, `MAX`. Everything else (sub-queries,
HAVING, unions, window functions, FETCH/ROWNUM paging: page with `limit`/`offset` instead) is refused
with NetSuite's INVALID_PARAMETER error, never answered wrongly.

Values come back as strings (booleans `T`/`F`, dates `M/D/YYYY`), NULL columns are left out of the
item, keys are lower case (an alias, the column's name, else `expr1`, `expr2`, ...). As in NetSuite,
transaction lines of sales carry negative `quantity`, `netamount` and `foreignamount`; each
transaction has a main line (`mainline = 'T'`, `id` 0) holding the header amount.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from integration_hub.sandbox.netsuite import store
from integration_hub.sandbox.netsuite.errors import NsError
from integration_hub.sandbox.netsuite.models import NsRecord
from integration_hub.sandbox.netsuite.records import (
    COUNTRIES,
    ITEM_TYPES,
    RECORD_TYPES,
    STATUS_NAMES,
    TRANSACTION_TYPES,
    TYPE_NAMES,
    dec,
    display_name,
    invoice_remaining,
    status_code,
    transaction_total,
)

Row = dict[str, Any]
Value = Any
MAX_LIMIT = 1000
PREFIX = "Invalid search query. Detailed unprocessed description follows. "


def query_error(message: str) -> NsError:
    return NsError.one(400, "INVALID_PARAMETER", PREFIX + message, query_param="q")


def unsupported(what: str) -> NsError:
    return query_error(f"Search error occurred: Invalid or unsupported search. (The sandbox does not support {what}.)")


# -- tables ----------------------------------------------------------------------------------------
# column -> (type, how DF shows it: a record table whose refName to show, or a code map)
@dataclass(frozen=True)
class Table:
    name: str
    columns: dict[str, str]  # column -> int | num | text | bool | date | datetime
    build: Callable[[], list[Row]]
    display: dict[str, str | Callable[[Row], str]]  # BUILTIN.DF: a table name to look the id up in, or a function


def _b(value: Any) -> str:
    return "T" if value else "F"


def _d(value: Any) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _n(value: Any) -> Decimal | None:
    return dec(value) if value not in (None, "") else None


def _i(value: Any) -> Decimal | None:
    return Decimal(int(value)) if value not in (None, "") else None


def _customers() -> list[Row]:
    return [{
        "id": Decimal(r.internal_id), "entityid": r.data.get("entityId"), "companyname": r.data.get("companyName") or None,
        "altname": r.data.get("companyName") or f"{r.data.get('firstName', '')} {r.data.get('lastName', '')}".strip(),
        "isperson": _b(r.data.get("isPerson")), "firstname": r.data.get("firstName"), "lastname": r.data.get("lastName"),
        "email": r.data.get("email"), "phone": r.data.get("phone"), "vatregnumber": r.data.get("vatRegNumber") or None,
        "subsidiary": _i(r.data.get("subsidiary")), "currency": _i(r.data.get("currency")),
        "terms": _i(r.data.get("terms")), "pricelevel": _i(r.data.get("priceLevel")),
        "creditlimit": _n(r.data.get("creditLimit")), "isinactive": _b(r.data.get("isInactive")),
        "externalid": r.external_id, "datecreated": r.created_at.date(), "lastmodifieddate": r.updated_at.date(),
        "comments": r.data.get("comments"),
    } for r in store.rows(["customer"])]


def _address_books() -> list[Row]:
    result = []
    for r in store.rows(["customer"]):
        for entry in r.data.get("addressBook", []):
            result.append({"entity": Decimal(r.internal_id), "internalid": Decimal(entry.get("id", 0)),
                           "addressbookaddress": Decimal(r.internal_id * 1000 + int(entry.get("id", 0))),
                           "defaultbilling": _b(entry.get("defaultBilling")),
                           "defaultshipping": _b(entry.get("defaultShipping")), "label": entry.get("label")})
    return result


def _addresses() -> list[Row]:
    result = []
    for r in store.rows(["customer"]):
        for entry in r.data.get("addressBook", []):
            address = entry.get("addressBookAddress", {})
            row: Row = {"nkey": Decimal(r.internal_id * 1000 + int(entry.get("id", 0)))}
            for name in ("addressee", "attention", "addr1", "addr2", "addr3", "city", "state", "zip", "country"):
                row[name] = address.get(name) or None
            row["addrtext"] = "\n".join(str(address[k]) for k in ("addressee", "addr1", "addr2", "city", "state", "zip")
                                        if address.get(k)) or None
            result.append(row)
    return result


def _items() -> list[Row]:
    return [{
        "id": Decimal(r.internal_id), "itemid": r.data.get("itemId"), "displayname": r.data.get("displayName"),
        "description": r.data.get("salesDescription"), "itemtype": RECORD_TYPES[r.record_type].type_code,
        "isinactive": _b(r.data.get("isInactive")), "externalid": r.external_id, "subsidiary": _i(r.data.get("subsidiary")),
        "createddate": r.created_at.date(), "lastmodifieddate": r.updated_at.date(),
    } for r in store.rows(ITEM_TYPES)]


def _pricing() -> list[Row]:
    return [{"item": Decimal(r.internal_id), "pricelevel": _i(p.get("priceLevel")), "currency": _i(p.get("currencyPage")),
             "unitprice": _n(p.get("price")), "quantity": Decimal(0)}
            for r in store.rows(ITEM_TYPES) for p in r.data.get("price", [])]


def _header(r: NsRecord) -> Row:
    rtype = RECORD_TYPES[r.record_type]
    data = r.data
    total = transaction_total(data)
    row: Row = {
        "id": Decimal(r.internal_id), "tranid": data.get("tranId"), "trandate": _d(data.get("tranDate")),
        "type": rtype.type_code, "entity": _i(data.get("entity") or data.get("customer")),
        "status": status_code(r.record_type, data), "externalid": r.external_id, "currency": _i(data.get("currency")),
        "subsidiary": _i(data.get("subsidiary")), "terms": _i(data.get("terms")), "foreigntotal": total,
        "foreignamountpaid": None, "foreignamountunpaid": None, "duedate": _d(data.get("dueDate")),
        "memo": data.get("memo"), "otherrefnum": data.get("otherRefNum"), "createddate": r.created_at.date(),
        "lastmodifieddate": r.updated_at.date(),
    }
    if r.record_type == "invoice":
        row["foreignamountunpaid"] = invoice_remaining(data)
        row["foreignamountpaid"] = dec(data.get("_paid"))
    if r.record_type == "itemFulfillment":
        row["foreigntotal"] = None
    return row


def _transactions() -> list[Row]:
    return [_header(r) for r in store.rows(TRANSACTION_TYPES)]


def _lines() -> list[Row]:
    result = []
    for r in store.rows(TRANSACTION_TYPES):
        data = r.data
        entity = _i(data.get("entity") or data.get("customer"))
        created_from = _i(data.get("createdFrom"))
        total = transaction_total(data) if r.record_type != "itemFulfillment" else None
        result.append({"transaction": Decimal(r.internal_id), "id": Decimal(0), "linesequencenumber": Decimal(0),
                       "mainline": "T", "taxline": "F", "item": None, "quantity": None, "rate": None,
                       "netamount": total, "foreignamount": total, "entity": entity, "createdfrom": created_from,
                       "isclosed": "F", "quantitybilled": None, "quantityshiprecv": None, "memo": data.get("memo")})
        if r.record_type == "customerPayment":
            continue
        for line in data.get("item", []):
            quantity = dec(line.get("quantity"))
            amount = dec(line.get("amount")) if "amount" in line else None
            result.append({
                "transaction": Decimal(r.internal_id), "id": Decimal(int(line.get("line", 0))),
                "linesequencenumber": Decimal(int(line.get("line", 0))), "mainline": "F", "taxline": "F",
                "item": _i(line.get("item")), "quantity": -quantity, "rate": _n(line.get("rate")),
                "netamount": -amount if amount is not None else None,
                "foreignamount": -amount if amount is not None else None, "entity": entity,
                "createdfrom": created_from, "isclosed": _b(line.get("isClosed")),
                "quantitybilled": _n(line.get("quantityBilled")), "quantityshiprecv": _n(line.get("quantityFulfilled")),
                "memo": line.get("description") or None,
            })
    return result


def _simple(record_type: str, columns: dict[str, str]) -> Callable[[], list[Row]]:
    def build() -> list[Row]:
        rows = []
        for r in store.rows([record_type]):
            row: Row = {"id": Decimal(r.internal_id), "externalid": r.external_id}
            for column, source in columns.items():
                value = r.data.get(source)
                row[column] = _b(value) if isinstance(value, bool) else (
                    dec(value) if isinstance(value, int | float) or column in ("currency", "parent") and value else value)
            rows.append(row)
        return rows
    return build


def _status_text(row: Row) -> str:
    type_code = row.get("type", "")
    name = STATUS_NAMES.get(type_code, {}).get(row.get("status", ""), "")
    return f"{TYPE_NAMES.get(type_code, type_code)} : {name}" if name else ""


_TX_COLUMNS = {"id": "int", "tranid": "text", "trandate": "date", "type": "text", "entity": "int", "status": "text",
               "externalid": "text", "currency": "int", "subsidiary": "int", "terms": "int", "foreigntotal": "num",
               "foreignamountpaid": "num", "foreignamountunpaid": "num", "duedate": "date", "memo": "text",
               "otherrefnum": "text", "createddate": "date", "lastmodifieddate": "date"}
TABLES: dict[str, Table] = {t.name: t for t in (
    Table("customer", {"id": "int", "entityid": "text", "companyname": "text", "altname": "text", "isperson": "bool",
                       "firstname": "text", "lastname": "text", "email": "text", "phone": "text",
                       "vatregnumber": "text", "subsidiary": "int", "currency": "int", "terms": "int",
                       "pricelevel": "int", "creditlimit": "num", "isinactive": "bool", "externalid": "text",
                       "datecreated": "date", "lastmodifieddate": "date", "comments": "text"},
          _customers, {"subsidiary": "subsidiary", "currency": "currency", "terms": "term", "pricelevel": "priceLevel"}),
    Table("customeraddressbook", {"entity": "int", "internalid": "int", "addressbookaddress": "int",
                                  "defaultbilling": "bool", "defaultshipping": "bool", "label": "text"},
          _address_books, {"entity": "customer"}),
    Table("customeraddressbookentityaddress", {"nkey": "int", "addressee": "text", "attention": "text", "addr1": "text",
                                               "addr2": "text", "addr3": "text", "city": "text", "state": "text",
                                               "zip": "text", "country": "text", "addrtext": "text"},
          _addresses, {"country": lambda row: COUNTRIES.get(row.get("country") or "", row.get("country") or "")}),
    Table("item", {"id": "int", "itemid": "text", "displayname": "text", "description": "text", "itemtype": "text",
                   "isinactive": "bool", "externalid": "text", "subsidiary": "int", "createddate": "date",
                   "lastmodifieddate": "date"},
          _items, {"itemtype": lambda row: TYPE_NAMES.get(row.get("itemtype", ""), ""), "subsidiary": "subsidiary"}),
    Table("pricing", {"item": "int", "pricelevel": "int", "currency": "int", "unitprice": "num", "quantity": "num"},
          _pricing, {"item": "item", "pricelevel": "priceLevel", "currency": "currency"}),
    Table("transaction", _TX_COLUMNS, _transactions,
          {"entity": "customer", "currency": "currency", "subsidiary": "subsidiary", "terms": "term",
           "status": _status_text, "type": lambda row: TYPE_NAMES.get(row.get("type", ""), "")}),
    Table("transactionline", {"transaction": "int", "id": "int", "linesequencenumber": "int", "mainline": "bool",
                              "taxline": "bool", "item": "int", "quantity": "num", "rate": "num", "netamount": "num",
                              "foreignamount": "num", "entity": "int", "createdfrom": "int", "isclosed": "bool",
                              "quantitybilled": "num", "quantityshiprecv": "num", "memo": "text"},
          _lines, {"item": "item", "entity": "customer", "transaction": "transaction", "createdfrom": "transaction"}),
    Table("term", {"id": "int", "name": "text", "daysuntilnetdue": "int", "discountpercent": "num",
                   "daysuntilexpiry": "int", "isinactive": "bool", "externalid": "text"},
          _simple("term", {"name": "name", "daysuntilnetdue": "daysUntilNetDue", "discountpercent": "discountPercent",
                           "daysuntilexpiry": "daysUntilExpiry", "isinactive": "isInactive"}), {}),
    Table("currency", {"id": "int", "name": "text", "symbol": "text", "exchangerate": "num", "isbasecurrency": "bool",
                       "isinactive": "bool", "externalid": "text"},
          _simple("currency", {"name": "name", "symbol": "symbol", "exchangerate": "exchangeRate",
                               "isbasecurrency": "isBaseCurrency", "isinactive": "isInactive"}), {}),
    Table("subsidiary", {"id": "int", "name": "text", "country": "text", "currency": "int", "parent": "int",
                         "isinactive": "bool", "externalid": "text"},
          _simple("subsidiary", {"name": "name", "country": "country", "currency": "currency", "parent": "parent",
                                 "isinactive": "isInactive"}), {"currency": "currency", "parent": "subsidiary"}),
    Table("pricelevel", {"id": "int", "name": "text", "discountpct": "num", "isinactive": "bool", "externalid": "text"},
          _simple("priceLevel", {"name": "name", "discountpct": "discountPct", "isinactive": "isInactive"}), {}),
)}
_DF_TABLES = {"customer": ("customer",), "item": ITEM_TYPES, "transaction": TRANSACTION_TYPES, "term": ("term",),
              "currency": ("currency",), "subsidiary": ("subsidiary",), "priceLevel": ("priceLevel",)}


# -- evaluation ------------------------------------------------------------------------------------
@dataclass
class Source:
    alias: str
    table: Table


class Query:
    def __init__(self, text: str) -> None:
        try:
            parsed = sqlglot.parse(text, read="oracle")
        except (ParseError, TokenError):
            raise query_error("Search error occurred: Invalid or unsupported search.") from None
        if len(parsed) != 1 or not isinstance(parsed[0], exp.Select):
            raise unsupported("anything but one SELECT statement")
        self.select: exp.Select = parsed[0]
        self._check_shape()
        self.sources: list[Source] = []
        self.joins: list[tuple[Source, exp.Expression, bool]] = []
        from_ = self.select.args.get("from_") or self.select.args.get("from")
        if from_ is None:
            raise query_error("Search error occurred: Invalid or unsupported search.")
        self.sources.append(self._source(from_.this))
        for join in self.select.args.get("joins") or []:
            side = (join.side or "").upper()
            kind = (join.kind or "").upper()
            if side not in ("", "LEFT") or kind not in ("", "INNER", "OUTER") or join.args.get("on") is None:
                raise unsupported("this kind of join (INNER or LEFT JOIN ... ON only)")
            source = self._source(join.this)
            self.sources.append(source)
            self.joins.append((source, join.args["on"], side == "LEFT"))
        for node in self.select.walk():
            assert isinstance(node, exp.Expression)
            self._check_node(node)
        self.display_cache: dict[tuple[str, str], str] = {}

    def _check_shape(self) -> None:
        allowed = {"expressions", "from", "from_", "joins", "where", "group", "order", "distinct", "kind"}
        for key, value in self.select.args.items():
            if value not in (None, [], False) and key not in allowed:
                raise unsupported(f"{key.upper()} (page with the limit and offset parameters)"
                                  if key in ("limit", "offset", "fetch") else key.upper())

    def _source(self, node: exp.Expression) -> Source:
        if not isinstance(node, exp.Table) or node.args.get("db") or not isinstance(node.this, exp.Identifier):
            raise unsupported("sub-queries or qualified table names")
        name = node.name.lower()
        table = TABLES.get(name)
        if table is None:
            raise query_error(f"Invalid search type: {node.name}.")
        alias = (node.alias or name).lower()
        if any(s.alias == alias for s in getattr(self, "sources", [])):
            raise query_error(f"Search error occurred: Duplicate alias '{alias}'.")
        return Source(alias, table)

    _ALLOWED = (exp.Select, exp.From, exp.Join, exp.Table, exp.TableAlias, exp.Identifier, exp.Column, exp.Literal,
                exp.Null, exp.Boolean, exp.Paren, exp.And, exp.Or, exp.Not, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT,
                exp.LTE, exp.Like, exp.In, exp.Is, exp.Between, exp.Upper, exp.Lower, exp.Coalesce, exp.StrToDate,
                exp.Count, exp.Sum, exp.Min, exp.Max, exp.Star, exp.Alias, exp.Where, exp.Group, exp.Order,
                exp.Ordered, exp.Dot, exp.Anonymous, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Neg, exp.Distinct)

    def _check_node(self, node: exp.Expression) -> None:
        if not isinstance(node, self._ALLOWED):
            raise unsupported(type(node).__name__.upper())
        if isinstance(node, exp.Dot) and not _is_df(node):
            raise unsupported("this function")
        if isinstance(node, exp.Anonymous) and not isinstance(node.parent, exp.Dot):
            raise unsupported(f"the function {node.name}")
        if isinstance(node, exp.In) and (node.args.get("query") or node.args.get("unnest") or node.args.get("field")):
            raise unsupported("sub-queries")
        if isinstance(node, exp.Like) and node.args.get("escape"):
            raise unsupported("LIKE ... ESCAPE")
        if isinstance(node, exp.Distinct) and node.parent is not self.select:
            raise unsupported("DISTINCT inside a function")

    # -- resolution --
    def resolve(self, column: exp.Column) -> tuple[str, str, str]:
        name = column.name.lower()
        qualifier = column.table.lower() if column.table else ""
        if qualifier:
            source = next((s for s in self.sources if s.alias == qualifier), None)
            if source is None or name not in source.table.columns:
                raise self._unknown(column.sql())
            return source.alias, name, source.table.columns[name]
        found = [s for s in self.sources if name in s.table.columns]
        if not found:
            raise self._unknown(column.name)
        if len(found) > 1:
            raise query_error(f"Search error occurred: Column '{column.name}' is ambiguous.")
        return found[0].alias, name, found[0].table.columns[name]

    def _unknown(self, name: str) -> NsError:
        available = ", ".join(f"{s.alias}={s.table.name}" for s in self.sources)
        return query_error(f"Search error occurred: Unknown identifier '{name}'. Available identifiers are: "
                           f"{{{available}}}.")

    # -- expressions --
    def value(self, node: exp.Expression, row: dict[str, Row]) -> Value:  # noqa: C901 - one case per node type
        if isinstance(node, exp.Column):
            alias, name, _ = self.resolve(node)
            source_row = row.get(alias)
            return None if source_row is None else source_row.get(name)
        if isinstance(node, exp.Literal):
            if node.is_string:
                return node.this
            try:
                return Decimal(node.this)
            except InvalidOperation:
                raise query_error("Search error occurred: Invalid number.") from None
        if isinstance(node, exp.Null):
            return None
        if isinstance(node, exp.Paren):
            return self.value(node.this, row)
        if isinstance(node, exp.Neg):
            number = _number(self.value(node.this, row))
            return None if number is None else -number
        if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div):
            left, right = _number(self.value(node.this, row)), _number(self.value(node.expression, row))
            if left is None or right is None:
                return None
            if isinstance(node, exp.Add):
                return left + right
            if isinstance(node, exp.Sub):
                return left - right
            if isinstance(node, exp.Mul):
                return left * right
            if right == 0:
                raise query_error("Search error occurred: Division by zero.")
            return left / right
        if isinstance(node, exp.Upper | exp.Lower):
            text = self.value(node.this, row)
            if text is None:
                return None
            text = _text(text)
            return text.upper() if isinstance(node, exp.Upper) else text.lower()
        if isinstance(node, exp.Coalesce):
            for part in [node.this, *node.expressions]:
                found = self.value(part, row)
                if found is not None:
                    return found
            return None
        if isinstance(node, exp.StrToDate):
            text = self.value(node.this, row)
            fmt = node.args.get("format")
            fmt_text = fmt.this if isinstance(fmt, exp.Literal) else ""
            formats = {"%Y-%m-%d": "%Y-%m-%d", "%m/%d/%Y": "%m/%d/%Y"}
            if fmt_text not in formats or not isinstance(text, str):
                raise unsupported("this TO_DATE format (use 'YYYY-MM-DD' or 'MM/DD/YYYY')")
            try:
                return datetime.strptime(text, formats[fmt_text]).replace(tzinfo=UTC).date()
            except ValueError:
                raise query_error(f"Search error occurred: Invalid date {text}.") from None
        if isinstance(node, exp.Dot):
            return self.display(node, row)
        if isinstance(node, exp.Count | exp.Sum | exp.Min | exp.Max):
            raise query_error("Search error occurred: Invalid use of an aggregate function.")
        return self.condition(node, row)

    def display(self, node: exp.Dot, row: dict[str, Row]) -> Value:
        function = node.expression
        if len(function.expressions) != 1 or not isinstance(function.expressions[0], exp.Column):
            raise unsupported("BUILTIN.DF of anything but a column")
        column = function.expressions[0]
        alias, name, _ = self.resolve(column)
        source_row = row.get(alias)
        if source_row is None or source_row.get(name) is None:
            return None
        source = next(s for s in self.sources if s.alias == alias)
        how = source.table.display.get(name)
        raw = source_row[name]
        if how is None:
            return _out(raw, source.table.columns[name])
        if callable(how):
            return how(source_row) or None
        key = (how, str(raw))
        if key not in self.display_cache:
            rec = store.find(_DF_TABLES[how], _out(raw, "int") or "")
            self.display_cache[key] = display_name(rec) if rec else ""
        return self.display_cache[key] or None

    def condition(self, node: exp.Expression, row: dict[str, Row]) -> bool | None:  # noqa: C901
        if isinstance(node, exp.Paren):
            return self.condition(node.this, row)
        if isinstance(node, exp.And):
            left, right = self.condition(node.this, row), self.condition(node.expression, row)
            if left is False or right is False:
                return False
            return None if left is None or right is None else True
        if isinstance(node, exp.Or):
            left, right = self.condition(node.this, row), self.condition(node.expression, row)
            if left is True or right is True:
                return True
            return None if left is None or right is None else False
        if isinstance(node, exp.Not):
            inner = self.condition(node.this, row)
            return None if inner is None else not inner
        if isinstance(node, exp.Is):
            if not isinstance(node.expression, exp.Null):
                raise unsupported("IS with anything but NULL")
            return self.value(node.this, row) is None
        if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.GTE | exp.LT | exp.LTE):
            left, right = _coerce(self.value(node.this, row), self.value(node.expression, row))
            if left is None or right is None:
                return None
            if isinstance(node, exp.EQ):
                return bool(left == right)
            if isinstance(node, exp.NEQ):
                return bool(left != right)
            if isinstance(node, exp.GT):
                return bool(left > right)
            if isinstance(node, exp.GTE):
                return bool(left >= right)
            if isinstance(node, exp.LT):
                return bool(left < right)
            return bool(left <= right)
        if isinstance(node, exp.Between):
            value = self.value(node.this, row)
            low, high = node.args["low"], node.args["high"]
            lo, hi = _coerce(value, self.value(low, row)), _coerce(value, self.value(high, row))
            if None in (lo[0], lo[1], hi[1]):
                return None
            return bool(lo[1] <= lo[0] <= hi[1])
        if isinstance(node, exp.Like):
            value, pattern = self.value(node.this, row), self.value(node.expression, row)
            if value is None or pattern is None:
                return None
            return _like(_text(value), _text(pattern))
        if isinstance(node, exp.In):
            value = self.value(node.this, row)
            if value is None:
                return None
            unknown = False
            for option in node.expressions:
                left, right = _coerce(value, self.value(option, row))
                if right is None:
                    unknown = True
                elif left == right:
                    return True
            return None if unknown else False
        raise query_error("Search error occurred: Invalid or unsupported search.")

    # -- running --
    def rows(self) -> list[dict[str, Row]]:
        first = self.sources[0]
        result: list[dict[str, Row]] = [{first.alias: r} for r in first.table.build()]
        for source, on, left in self.joins:
            candidates = source.table.build()
            hashed = self._hash_join(source, on)
            joined: list[dict[str, Row]] = []
            if hashed is not None:
                own_column, other = hashed
                index: dict[Any, list[Row]] = {}
                for candidate in candidates:
                    key = candidate.get(own_column)
                    if key is not None:
                        index.setdefault(_key(key), []).append(candidate)
                for row in result:
                    other_value = self.value(other, row)
                    matches = index.get(_key(other_value), []) if other_value is not None else []
                    joined.extend({**row, source.alias: m} for m in matches)
                    if left and not matches:
                        joined.append({**row})
            else:
                for row in result:
                    matched = False
                    for candidate in candidates:
                        combined = {**row, source.alias: candidate}
                        if self.condition(on, combined):
                            joined.append(combined)
                            matched = True
                    if left and not matched:
                        joined.append({**row})
            result = joined
        where = self.select.args.get("where")
        if where is not None:
            result = [row for row in result if self.condition(where.this, row) is True]
        return result

    def _hash_join(self, source: Source, on: exp.Expression) -> tuple[str, exp.Expression] | None:
        if not isinstance(on, exp.EQ):
            return None
        for own, other in ((on.this, on.expression), (on.expression, on.this)):
            if isinstance(own, exp.Column) and own.table and own.table.lower() == source.alias:
                if own.name.lower() not in source.table.columns:
                    raise self._unknown(own.sql())
                return own.name.lower(), other
        return None

    def run(self) -> list[Row]:
        select = self.select
        outputs = self._outputs()
        rows = self.rows()
        group = select.args.get("group")
        aggregated = group is not None or any(o[1].find(exp.Count, exp.Sum, exp.Min, exp.Max) for o in outputs)
        records: list[tuple[Row, dict[str, Row] | None, list[dict[str, Row]]]] = []
        if aggregated:
            group_exprs = list(group.expressions) if group is not None else []
            group_sql = {g.sql().lower() for g in group_exprs}
            for _, node, _ in outputs:
                if not node.find(exp.Count, exp.Sum, exp.Min, exp.Max) and node.sql().lower() not in group_sql:
                    raise query_error(f"Search error occurred: {node.sql()} is not a GROUP BY expression.")
            groups: dict[tuple[Any, ...], list[dict[str, Row]]] = {}
            for row in rows:
                groups.setdefault(tuple(_key(self.value(g, row)) for g in group_exprs), []).append(row)
            if not group_exprs and not groups:
                groups[()] = []
            for members in groups.values():
                out = {key: self.aggregate(node, members) for key, node, _ in outputs}
                records.append((out, members[0] if members else None, members))
        else:
            for row in rows:
                records.append(({key: self.value(node, row) for key, node, _ in outputs}, row, [row]))
        if select.args.get("distinct"):
            seen, unique = set(), []
            for record in records:
                marker = tuple(_key(v) for v in record[0].values())
                if marker not in seen:
                    seen.add(marker)
                    unique.append(record)
            records = unique
        order = select.args.get("order")
        if order is not None:
            for ordered in reversed(order.expressions):
                desc = bool(ordered.args.get("desc"))
                keys = [self._order_value(ordered.this, out, row, outputs) for out, row, _ in records]
                decorated = list(zip(keys, records, strict=True))
                present = [d for d in decorated if d[0] is not None]
                missing = [d for d in decorated if d[0] is None]
                present.sort(key=lambda d: _sort_key(d[0]), reverse=desc)
                # Oracle: NULLs last ascending, first descending.
                records = [r for _, r in (missing + present if desc else present + missing)]
        types = {key: kind for key, _, kind in outputs}
        return [{key: _out(value, types[key]) for key, value in out.items()} for out, _, _ in records]

    def _order_value(self, node: exp.Expression, out: Row, row: dict[str, Row] | None,
                     outputs: list[tuple[str, exp.Expression, str]]) -> Value:
        if isinstance(node, exp.Column) and not node.table and node.name.lower() in out:
            return out[node.name.lower()]
        if isinstance(node, exp.Literal) and not node.is_string:
            position = int(node.this)
            if not 1 <= position <= len(outputs):
                raise query_error("Search error occurred: ORDER BY item must be the number of a SELECT-list expression.")
            return out[outputs[position - 1][0]]
        for key, expression, _ in outputs:
            if expression.sql().lower() == node.sql().lower():
                return out[key]
        if row is None:
            return None
        return self.value(node, row)

    def aggregate(self, node: exp.Expression, members: list[dict[str, Row]]) -> Value:
        if isinstance(node, exp.Count):
            inner = node.this
            if isinstance(inner, exp.Star):
                return Decimal(len(members))
            distinct = isinstance(inner, exp.Distinct)
            target = inner.expressions[0] if distinct else inner
            values = [self.value(target, m) for m in members]
            present = [_key(v) for v in values if v is not None]
            return Decimal(len(set(present)) if distinct else len(present))
        if isinstance(node, exp.Sum | exp.Min | exp.Max):
            values = [self.value(node.this, m) for m in members]
            present = [v for v in values if v is not None]
            if not present:
                return None
            if isinstance(node, exp.Sum):
                numbers = [_number(v) for v in present]
                return sum((n for n in numbers if n is not None), Decimal(0))
            return min(present, key=_sort_key) if isinstance(node, exp.Min) else max(present, key=_sort_key)
        if isinstance(node, exp.Paren):
            return self.aggregate(node.this, members)
        if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div):
            left, right = _number(self.aggregate(node.this, members)), _number(self.aggregate(node.expression, members))
            if left is None or right is None:
                return None
            if isinstance(node, exp.Div):
                return left / right if right else None
            return left + right if isinstance(node, exp.Add) else left - right if isinstance(node, exp.Sub) else left * right
        if isinstance(node, exp.Coalesce):
            for part in [node.this, *node.expressions]:
                value = self.aggregate(part, members)
                if value is not None:
                    return value
            return None
        return self.value(node, members[0]) if members else None

    def _outputs(self) -> list[tuple[str, exp.Expression, str]]:
        outputs: list[tuple[str, exp.Expression, str]] = []
        unnamed = 0
        for node in self.select.expressions:
            if isinstance(node, exp.Star):
                for source in self.sources:
                    for column, kind in source.table.columns.items():
                        outputs.append((column, exp.column(column, table=source.alias), kind))
                continue
            if isinstance(node, exp.Column) and isinstance(node.this, exp.Star):
                named = next((s for s in self.sources if s.alias == node.table.lower()), None)
                if named is None:
                    raise self._unknown(node.sql())
                for column, kind in named.table.columns.items():
                    outputs.append((column, exp.column(column, table=named.alias), kind))
                continue
            expression = node.this if isinstance(node, exp.Alias) else node
            kind = self._kind(expression)
            if isinstance(node, exp.Alias):
                key = node.alias.lower()
            elif isinstance(node, exp.Column):
                key = node.name.lower()
                self.resolve(node)
            else:
                unnamed += 1
                key = f"expr{unnamed}"
            outputs.append((key, expression, kind))
        return outputs

    def _kind(self, node: exp.Expression) -> str:
        if isinstance(node, exp.Column):
            return self.resolve(node)[2]
        if isinstance(node, exp.Min | exp.Max | exp.Paren | exp.Coalesce):
            return self._kind(node.this)
        if isinstance(node, exp.StrToDate):
            return "date"
        if isinstance(node, exp.Count | exp.Sum | exp.Add | exp.Sub | exp.Mul | exp.Div | exp.Neg):
            return "num"
        if isinstance(node, exp.Literal) and not node.is_string:
            return "num"
        return "text"


def _is_df(node: exp.Dot) -> bool:
    return (isinstance(node.this, exp.Identifier | exp.Column) and node.this.name.upper() == "BUILTIN"
            and isinstance(node.expression, exp.Anonymous) and node.expression.name.upper() == "DF")


def _number(value: Value) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    try:
        return Decimal(str(value).strip())
    except InvalidOperation:
        raise query_error(f"Search error occurred: Invalid number: {value}.") from None


def _text(value: Value) -> str:
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    if isinstance(value, Decimal):
        return _plain(value)
    return str(value)


def _parse_date(value: str) -> date:
    for fmt in ("%Y-%m-%d", "%m/%d/%Y"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC).date()
        except ValueError:
            continue
    raise query_error(f"Search error occurred: Invalid date: {value}.")


def _coerce(left: Value, right: Value) -> tuple[Value, Value]:
    """Oracle-style implicit conversion: text meets a number or a date as that number or date."""
    if left is None or right is None:
        return left, right
    if isinstance(left, Decimal) and not isinstance(right, Decimal):
        return left, _number(right)
    if isinstance(right, Decimal) and not isinstance(left, Decimal):
        return _number(left), right
    if isinstance(left, date) and isinstance(right, str):
        return left, _parse_date(right)
    if isinstance(right, date) and isinstance(left, str):
        return _parse_date(left), right
    return left, right


def _like(value: str, pattern: str) -> bool:
    """SQL LIKE (`%` any run, `_` one character), case-sensitive as in Oracle."""
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def _key(value: Value) -> Any:
    return value.normalize() if isinstance(value, Decimal) else value


def _sort_key(value: Value) -> tuple[int, Any]:
    if isinstance(value, Decimal):
        return (0, value)
    if isinstance(value, date):
        return (1, value)
    return (2, str(value))


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def _out(value: Value, kind: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return f"{value.month}/{value.day}/{value.year}"
    if isinstance(value, Decimal):
        return _plain(value)
    return str(value)


def execute(text: Any, *, limit: int, offset: int) -> tuple[list[Row], int]:
    """One page of a query's rows (NULL columns left out) and the total number of rows."""
    if not isinstance(text, str) or not text.strip():
        raise NsError.one(400, "INVALID_PARAMETER", "The request body must be a JSON object with the query in \"q\".",
                          path="q")
    rows = Query(text).run()
    page = rows[offset: offset + limit]
    return [{k: v for k, v in row.items() if v is not None} for row in page], len(rows)


def tables() -> Iterable[str]:
    return TABLES
