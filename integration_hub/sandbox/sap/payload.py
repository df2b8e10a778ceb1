"""Request bodies: SAP business errors and validation of (deep) payloads against the entity model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from integration_hub.sandbox.sap.entities import EntityType, Service
from integration_hub.sandbox.sap.odata_query import to_internal

Row = dict[str, Any]


@dataclass
class Detail:
    code: str
    message: str
    target: str = ""
    propertyref: str = ""
    severity: str = "error"


@dataclass
class SapBusinessError(Exception):
    """A business error the view renders as SAP's error JSON (400 unless told otherwise)."""

    code: str
    message: str
    status: int = 400
    details: list[Detail] = field(default_factory=list)
    target: str = ""
    propertyref: str = ""

    def __post_init__(self) -> None:
        super().__init__(self.message)
        if not self.details:
            self.details = [Detail(self.code, self.message, self.target, self.propertyref)]


@dataclass
class Parsed:
    """One entity of a request body: its properties (internal form) and its nested navigations."""

    data: Row
    children: dict[str, list[Parsed]] = field(default_factory=dict)
    single: dict[str, Parsed | None] = field(default_factory=dict)
    present: set[str] = field(default_factory=set)  # navigation names sent, even empty

    def items(self, nav: str) -> list[Parsed]:
        return self.children.get(nav, [])


def parse(service: Service, etype: EntityType, body: Any, *, path: str = "", for_update: bool = False) -> Parsed:
    """Validate a JSON object against `etype`; nested arrays may be plain or `{"results": [...]}`.

    Unknown properties are rejected as Gateway does; read-only properties are ignored, because
    clients often send back what they read.
    """
    if not isinstance(body, dict):
        raise SapBusinessError("/IWBEP/CM_MGW_RT/004", f"Malformed request body for '{etype.name}'", target=path)
    props = etype.prop_map
    navs = etype.nav_map
    parsed = Parsed(data={})
    for name, value in body.items():
        if name == "__metadata":
            continue
        prop = props.get(name)
        if prop is not None:
            allowed = prop.updatable if for_update else prop.creatable
            if not allowed and name not in etype.keys:
                continue
            try:
                parsed.data[name] = to_internal(prop, value)
            except ValueError as exc:
                raise SapBusinessError(
                    "/IWBEP/CM_MGW_RT/022", str(exc), target=f"{path}{name}", propertyref=name
                ) from exc
            continue
        nav = navs.get(name)
        if nav is None or for_update:
            raise SapBusinessError(
                "/IWBEP/CM_MGW_RT/021",
                f"Property '{name}' is invalid for entity type '{etype.name}'",
                target=f"{path}{name}",
                propertyref=name,
            )
        target = service.entity_set(nav.target)
        assert target is not None
        parsed.present.add(name)
        if nav.many:
            entries = value.get("results", []) if isinstance(value, dict) else value
            if entries is None:
                entries = []
            if not isinstance(entries, list):
                raise SapBusinessError("/IWBEP/CM_MGW_RT/004", f"Navigation '{name}' expects a collection", target=name)
            parsed.children[name] = [
                parse(service, target, entry, path=f"{path}{name}({index + 1})/") for index, entry in enumerate(entries)
            ]
        else:
            parsed.single[name] = parse(service, target, value, path=f"{path}{name}/") if value else None
    return parsed
