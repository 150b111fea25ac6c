"""The layering of ARCHITECTURE.md, read from the source: which top-level package may import
which, and no import cycle between them. Imports inside functions count too — they are how
the old ``from server import container`` cycle hid."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# who may import whom (besides itself and third-party libraries)
ALLOWED = {
    "bot": set(),
    "cards": {"bot"},
    "web": {"bot"},
    "webhooks": {"bot", "cards", "web"},
    "h5": {"bot", "cards", "web"},
    "admin": {"bot", "cards", "web"},
    "nlu": {"bot", "cards"},
    "server": {"bot", "cards", "web", "webhooks", "h5", "admin", "nlu"},
    "devtools": {"bot", "cards"},
}


def imported_packages(path: Path, package: str) -> set[str]:
    """Top-level packages of the product that ``path`` imports anywhere in its body."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            found.add(package if node.level else (node.module or "").split(".")[0])
    return found & set(ALLOWED)


def package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {p: set() for p in ALLOWED}
    for package in ALLOWED:
        for path in (ROOT / package).rglob("*.py"):
            graph[package] |= imported_packages(path, package) - {package}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every elementary cycle found by a depth-first search (enough to name one)."""
    found: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph[node]):
            if nxt == path[0]:
                found.append([*path, nxt])
            elif nxt not in path and nxt > path[0]:
                visit(nxt, [*path, nxt])

    for start in sorted(graph):
        visit(start, [start])
    return found


def test_no_import_cycle_between_the_top_level_packages():
    assert cycles(package_graph()) == []


def test_each_package_imports_only_the_layers_below_it():
    wrong = {
        package: sorted(used - ALLOWED[package])
        for package, used in package_graph().items()
        if used - ALLOWED[package]
    }
    assert wrong == {}


def test_the_cycle_check_finds_a_cycle_when_there_is_one():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_imports_inside_functions_are_seen(tmp_path):
    module = tmp_path / "views.py"
    module.write_text("def view():\n    from server import container\n    return container()\n")
    assert imported_packages(module, "admin") == {"server"}
