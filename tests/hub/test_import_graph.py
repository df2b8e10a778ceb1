"""The import graph of the four apps: no circle, no import inside a function, arrows only down.

Three floors (STYLE.md): the engine's core at the bottom (models, services, errors, dispatch,
the ports and their adapters over the connectors), the domain apps in the middle, and
orchestration on top (pipeline, validation, tasks, triggers, views, API, admin, commands). An
import may point down or sideways within a floor, never up; `if TYPE_CHECKING:` imports are
for types only and do not count.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("integration_hub", "exceptions", "crosswalks", "approvals")

# Orchestration: everything that may use the domain apps, and nothing below may import.
TOP_MODULES = {
    "integration_hub.pipeline", "integration_hub.validation", "integration_hub.tasks", "integration_hub.triggers",
    "integration_hub.views", "integration_hub.api", "integration_hub.api_urls", "integration_hub.urls",
    "integration_hub.webhooks", "integration_hub.admin", "integration_hub.selectors", "integration_hub.demo",
    "integration_hub.wsgi", "integration_hub.asgi", "integration_hub.backflow", "integration_hub.reconciliation",
    "integration_hub.trace",
    "integration_hub.dashboard", "integration_hub.dashboard_views", "integration_hub.dashboard_api",
    "integration_hub.dashboard_urls", "integration_hub.metrics",
}
TOP_PREFIXES = ("integration_hub.management", "integration_hub.templatetags")
# Domains that live as packages inside integration_hub (accounts payable) sit on the middle floor.
HUB_DOMAIN_PACKAGES = ("integration_hub.ap",)
DOMAIN_TOP_LEAVES = {"views", "api", "admin", "urls", "tasks"}  # and any *_views / *_api module


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                found[module_name(path)] = path
    return found


def floor(name: str) -> int:
    """0 bottom (engine core), 1 middle (domain apps), 2 top (orchestration); 0 for the sandboxes' own code."""
    package, _, rest = name.partition(".")
    if any(name == p or name.startswith(f"{p}.") for p in HUB_DOMAIN_PACKAGES):
        # A domain of its own inside integration_hub (STYLE.md): a middle-floor app like the others.
        package, _, rest = name.partition(".")[2].partition(".")
    if package == "integration_hub":
        if name in TOP_MODULES or name.startswith(TOP_PREFIXES) or name.startswith("integration_hub.sandbox.management"):
            return 2
        return 0
    leaf = rest.split(".")[-1] if rest else ""
    if leaf in DOMAIN_TOP_LEAVES or leaf.endswith(("_views", "_api")) or ".management" in name:
        return 2
    return 1


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def imports(name: str, path: Path, known: dict[str, Path]) -> Iterator[tuple[str, int, bool]]:
    """(imported module, line, inside a function) for every import of one of our modules."""
    is_package = path.name == "__init__.py"

    def resolve(node: ast.ImportFrom) -> str:
        if not node.level:
            return node.module or ""
        base = name.split(".") if is_package else name.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        return ".".join([*base, *([node.module] if node.module else [])])

    def walk(node: ast.AST, in_function: bool) -> Iterator[tuple[str, int, bool]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and _is_type_checking(child):
                continue
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Import):
                for alias in child.names:
                    if alias.name.split(".")[0] in PACKAGES:
                        yield alias.name, child.lineno, inner
            elif isinstance(child, ast.ImportFrom):
                target = resolve(child)
                if target.split(".")[0] in PACKAGES:
                    yield target, child.lineno, inner
                    for alias in child.names:
                        if f"{target}.{alias.name}" in known:
                            yield f"{target}.{alias.name}", child.lineno, inner
            elif isinstance(child, ast.Call) and ast.unparse(child.func) in ("importlib.import_module", "import_module",
                                                                             "__import__"):
                yield "<importlib>", child.lineno, True
            yield from walk(child, inner)

    yield from walk(ast.parse(path.read_text()), False)


def graph() -> tuple[dict[str, set[str]], list[str], list[str]]:
    known = modules()
    edges: dict[str, set[str]] = {name: set() for name in known}
    local, upward = [], []
    for name, path in known.items():
        for target, line, in_function in imports(name, path, known):
            where = f"{path.relative_to(ROOT)}:{line} imports {target}"
            if in_function:
                local.append(where)
                continue
            if target not in known or target == name:
                continue
            edges[name].add(target)
            if floor(target) > floor(name):
                upward.append(f"{where} (floor {floor(name)} → {floor(target)})")
    return edges, local, upward


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in edges:
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_it_finds_no_import_circle_among_the_apps():
    edges, _, _ = graph()
    assert cycles(edges) == []


def test_it_finds_no_import_inside_a_function():
    _, local, _ = graph()
    assert local == []


def test_it_finds_no_import_pointing_up_a_floor():
    _, _, upward = graph()
    assert upward == []


def test_it_would_see_a_circle_and_a_local_import(tmp_path):
    """The checker itself: a two-module circle and a function-local import are caught."""
    edges = {"a": {"b"}, "b": {"a"}, "c": set()}
    assert cycles(edges) == [["a", "b"]]
    source = tmp_path / "mod.py"
    source.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import exceptions.models\n"
                      "def f():\n    from exceptions import services\n")
    found = list(imports("integration_hub.mod", source, {"exceptions.services": source}))
    assert [(target, line, inside) for target, line, inside in found] == [
        ("exceptions", 5, True), ("exceptions.services", 5, True)]


# The engine's modules outside the adapters: none may name a wire detail of SAP or Salesforce.
ENGINE = ("integration_hub/pipeline.py", "integration_hub/validation.py", "integration_hub/orders.py",
          "integration_hub/backflow.py", "integration_hub/reconciliation.py", "integration_hub/trace.py",
          "integration_hub/triggers.py", "integration_hub/services.py", "approvals/risk.py", "approvals/services.py")
WIRE = re.compile(r"\bA_[A-Z]\w+|\w+__c\b|\bto_(Item|Partner|PricingElement)\b|ConditionType|DeliveryBlockReason|"
                  r"PurchaseOrderByCustomer|SoldToParty|\bSELECT\b|\bOpportunityLineItem")


def test_it_keeps_every_wire_name_inside_the_adapters():
    leaks = [f"{name}:{number}: {line.strip()}" for name in ENGINE
             for number, line in enumerate((ROOT / name).read_text().splitlines(), 1) if WIRE.search(line)]
    assert leaks == []
