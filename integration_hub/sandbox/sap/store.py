"""Reads and writes of `SapEntity` rows, navigation between them, and JSON serialisation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from django.db import transaction

from integration_hub.sandbox.sap.entities import SERVICES, EntityType, Nav, Service
from integration_hub.sandbox.sap.models import NumberRange, SapEntity
from integration_hub.sandbox.sap.odata_query import ExpandTree, etag_for, key_predicate, key_string, to_wire

Row = dict[str, Any]


def rows(service: str, set_name: str, **equals: Any) -> list[Row]:
    """All rows of a set whose properties equal `equals` (data__Field lookups), in key order."""
    qs = SapEntity.objects.filter(service=service, entity_set=set_name)
    for name, value in equals.items():
        if isinstance(value, list | tuple | set):
            qs = qs.filter(**{f"data__{name}__in": list(value)})
        else:
            qs = qs.filter(**{f"data__{name}": value})
    return list(qs.order_by("key").values_list("data", flat=True))


def get(service: str, etype: EntityType, key_values: Row) -> Row | None:
    found = SapEntity.objects.filter(
        service=service, entity_set=etype.set_name, key=key_string(etype, key_values)
    ).values_list("data", flat=True)
    return next(iter(found), None)


def exists(service: str, set_name: str, **equals: Any) -> bool:
    qs = SapEntity.objects.filter(service=service, entity_set=set_name)
    for name, value in equals.items():
        qs = qs.filter(**{f"data__{name}": value})
    return qs.exists()


def insert(service: str, set_name: str, items: Iterable[Row]) -> int:
    etype = SERVICES[service].entity_set(set_name)
    assert etype is not None
    objs = [SapEntity(service=service, entity_set=set_name, key=key_string(etype, data), data=data) for data in items]
    SapEntity.objects.bulk_create(objs, batch_size=1000)
    return len(objs)


def save(service: str, etype: EntityType, data: Row) -> None:
    SapEntity.objects.filter(service=service, entity_set=etype.set_name, key=key_string(etype, data)).update(data=data)


def delete(service: str, set_name: str, **equals: Any) -> int:
    qs = SapEntity.objects.filter(service=service, entity_set=set_name)
    for name, value in equals.items():
        qs = qs.filter(**{f"data__{name}": value})
    deleted, _ = qs.delete()
    return deleted


def next_number(name: str, start: int) -> int:
    """Draw the next number of an internal number range (row-locked, so processes never collide)."""
    with transaction.atomic():
        NumberRange.objects.get_or_create(name=name, defaults={"next_number": start})
        number_range = NumberRange.objects.select_for_update().get(name=name)
        number = number_range.next_number
        number_range.next_number = number + 1
        number_range.save(update_fields=["next_number"])
    return number


def related(service: str, etype: EntityType, nav: Nav, parents: list[Row]) -> list[list[Row]]:
    """The navigation targets of each parent, fetched in one query per navigation."""
    if not parents:
        return []
    first_source, first_target = nav.on[0]
    values: set[Any] = {parent.get(first_source) for parent in parents if parent.get(first_source) not in (None, "")}
    if not values:
        return [[] for _ in parents]
    candidates = rows(service, nav.target, **{first_target: sorted(values)})
    grouped: dict[tuple[Any, ...], list[Row]] = defaultdict(list)
    for candidate in candidates:
        grouped[tuple(candidate.get(target) for _, target in nav.on)].append(candidate)
    return [grouped.get(tuple(parent.get(source) for source, _ in nav.on), []) for parent in parents]


class Serializer:
    """OData V2 JSON for entities of one service: __metadata, deferred or expanded navigations."""

    def __init__(self, service: Service, base_url: str) -> None:
        self.service = service
        self.base_url = base_url  # ".../sap/opu/odata/sap/<SERVICE>/"

    def uri(self, etype: EntityType, data: Row) -> str:
        return f"{self.base_url}{etype.set_name}{key_predicate(etype, data)}"

    def etag(self, etype: EntityType, data: Row) -> str | None:
        if etype.etag and data.get(etype.etag):
            return etag_for(data[etype.etag])
        return None

    def many(self, etype: EntityType, items: list[Row], expand: ExpandTree | None = None,
             select: set[str] | None = None) -> list[dict[str, Any]]:
        expand = expand or {}
        children: dict[str, list[list[Row]]] = {}
        for nav_name in expand:
            nav = etype.nav_map.get(nav_name)
            if nav is None:
                continue
            if etype.stored:
                children[nav_name] = related(self.service.name, etype, nav, items)
        result = []
        for index, data in enumerate(items):
            fetched = {name: lists[index] for name, lists in children.items()}
            result.append(self.one(etype, data, expand, select, fetched))
        return result

    def one(self, etype: EntityType, data: Row, expand: ExpandTree | None = None, select: set[str] | None = None,
            fetched: dict[str, list[Row]] | None = None) -> dict[str, Any]:
        expand = expand or {}
        uri = self.uri(etype, data)
        meta: dict[str, Any] = {"id": uri, "uri": uri, "type": f"{self.service.name}.{etype.name}"}
        etag = self.etag(etype, data)
        if etag:
            meta["etag"] = etag
        out: dict[str, Any] = {"__metadata": meta}
        for prop in etype.props:
            if select is None or prop.name in select:
                out[prop.name] = to_wire(prop, data.get(prop.name))
        for nav in etype.navs:
            if select is not None and nav.name not in select and nav.name not in expand:
                continue
            target = self.service.entity_set(nav.target)
            assert target is not None
            sub = expand.get(nav.name)
            if nav.name in data and isinstance(data[nav.name], list | dict):
                inline = data[nav.name]
                if nav.many:
                    out[nav.name] = {"results": self.many(target, list(inline), sub or {})}
                else:
                    out[nav.name] = self.one(target, inline, sub or {}) if inline else None
            elif sub is not None:
                if fetched is not None and nav.name in fetched:
                    targets = fetched[nav.name]
                else:
                    targets = related(self.service.name, etype, nav, [data])[0] if etype.stored else []
                if nav.many:
                    out[nav.name] = {"results": self.many(target, targets, sub)}
                else:
                    out[nav.name] = self.one(target, targets[0], sub) if targets else None
            else:
                out[nav.name] = {"__deferred": {"uri": f"{uri}/{nav.name}"}}
        return out
