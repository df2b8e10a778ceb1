"""`$metadata` (EDMX, OData V2 with SAP annotations) generated from the entity definitions."""

from __future__ import annotations

from functools import cache
from xml.sax.saxutils import quoteattr

from integration_hub.sandbox.sap.entities import (
    SERVICES,
    ComplexType,
    EntityType,
    FunctionImport,
    Nav,
    Prop,
    Service,
)


def _bool(value: bool) -> str:
    return "true" if value else "false"


def _prop_xml(prop: Prop, etag: bool) -> str:
    attrs = [f"Name={quoteattr(prop.name)}", f"Type={quoteattr(prop.type)}"]
    if prop.type == "Edm.Decimal":
        attrs.append(f'Precision="{prop.precision}" Scale="{prop.scale}"')
    elif prop.type in ("Edm.DateTime", "Edm.DateTimeOffset"):
        attrs.append(f'Precision="{prop.precision or 0}"')
    if prop.max_length is not None:
        attrs.append(f'MaxLength="{prop.max_length}"')
    if not prop.nullable:
        attrs.append('Nullable="false"')
    if etag:
        attrs.append('ConcurrencyMode="Fixed"')
    if prop.type == "Edm.DateTime":
        attrs.append('sap:display-format="Date"')
    attrs.append(f"sap:label={quoteattr(prop.label or prop.name)}")
    if not prop.creatable:
        attrs.append('sap:creatable="false"')
    if not prop.updatable:
        attrs.append('sap:updatable="false"')
    return f"<Property {' '.join(attrs)}/>"


def _assoc_name(etype: EntityType, nav: Nav) -> str:
    return f"assoc_{etype.name}_{nav.name}"


def _multiplicity(nav: Nav) -> str:
    if nav.many:
        return "*"
    return "1" if nav.required else "0..1"


def _entity_type_xml(service: Service, etype: EntityType) -> str:
    lines = [f'<EntityType Name="{etype.name}" sap:content-version="1">', "<Key>"]
    lines += [f'<PropertyRef Name="{key}"/>' for key in etype.keys]
    lines.append("</Key>")
    lines += [_prop_xml(prop, prop.name == etype.etag) for prop in etype.props]
    for nav in etype.navs:
        lines.append(
            f'<NavigationProperty Name="{nav.name}" Relationship="{service.name}.{_assoc_name(etype, nav)}" '
            f'FromRole="FromRole_{_assoc_name(etype, nav)}" ToRole="ToRole_{_assoc_name(etype, nav)}"/>'
        )
    lines.append("</EntityType>")
    return "\n".join(lines)


def _association_xml(service: Service, etype: EntityType, nav: Nav) -> str:
    name = _assoc_name(etype, nav)
    target = service.entity_set(nav.target)
    assert target is not None, f"{service.name}: {nav.target} is not defined"
    return (
        f'<Association Name="{name}" sap:content-version="1">'
        f'<End Type="{service.name}.{etype.name}" Multiplicity="1" Role="FromRole_{name}"/>'
        f'<End Type="{service.name}.{target.name}" Multiplicity="{_multiplicity(nav)}" Role="ToRole_{name}"/>'
        "</Association>"
    )


def _association_set_xml(service: Service, etype: EntityType, nav: Nav) -> str:
    name = _assoc_name(etype, nav)
    return (
        f'<AssociationSet Name="{name}_set" Association="{service.name}.{name}" '
        'sap:creatable="false" sap:updatable="false" sap:deletable="false" sap:content-version="1">'
        f'<End EntitySet="{etype.set_name}" Role="FromRole_{name}"/>'
        f'<End EntitySet="{nav.target}" Role="ToRole_{name}"/>'
        "</AssociationSet>"
    )


def _entity_set_xml(service: Service, etype: EntityType) -> str:
    return (
        f'<EntitySet Name="{etype.set_name}" EntityType="{service.name}.{etype.name}" '
        f'sap:creatable="{_bool(etype.creatable)}" sap:updatable="{_bool(etype.updatable)}" '
        f'sap:deletable="{_bool(etype.deletable)}" sap:content-version="1"/>'
    )


def _complex_type_xml(ctype: ComplexType) -> str:
    lines = [f'<ComplexType Name="{ctype.name}">']
    lines += [_prop_xml(prop, False) for prop in ctype.props]
    lines.append("</ComplexType>")
    return "\n".join(lines)


def _function_import_xml(service: Service, function: FunctionImport) -> str:
    lines = [f'<FunctionImport Name="{function.name}" ReturnType="{service.name}.{function.return_type}" '
             f'm:HttpMethod="{function.http_method}">']
    for param in function.params:
        attrs = f'Name="{param.name}" Type="{param.type}" Mode="In"'
        if param.max_length is not None:
            attrs += f' MaxLength="{param.max_length}"'
        if param.label:
            attrs += f" sap:label={quoteattr(param.label)}"
        lines.append(f"<Parameter {attrs}/>")
    lines.append("</FunctionImport>")
    return "\n".join(lines)


@cache
def metadata_xml(service_name: str) -> str:
    service = SERVICES[service_name]
    parts = [
        '<?xml version="1.0" encoding="utf-8"?>',
        '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata" '
        'xmlns:sap="http://www.sap.com/Protocols/SAPData">',
        '<edmx:DataServices m:DataServiceVersion="2.0">',
        f'<Schema Namespace="{service.name}" xml:lang="en" sap:schema-version="1" '
        'xmlns="http://schemas.microsoft.com/ado/2008/09/edm">',
    ]
    parts += [_entity_type_xml(service, etype) for etype in service.types]
    parts += [_complex_type_xml(ctype) for ctype in service.complex_types]
    parts += [_association_xml(service, etype, nav) for etype in service.types for nav in etype.navs]
    parts.append(
        f'<EntityContainer Name="{service.name}_Entities" m:IsDefaultEntityContainer="true" '
        'sap:supported-formats="atom json xlsx">'
    )
    parts += [_entity_set_xml(service, etype) for etype in service.types]
    parts += [_association_set_xml(service, etype, nav) for etype in service.types for nav in etype.navs]
    parts += [_function_import_xml(service, function) for function in service.functions]
    parts += ["</EntityContainer>", "</Schema>", "</edmx:DataServices>", "</edmx:Edmx>"]
    return "\n".join(parts)
