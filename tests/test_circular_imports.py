"""The package's import structure.

Every module of requestx imports on its own, first thing in a fresh
interpreter (a cycle that only works in one import order fails here).  Read
statically, the import graph has no cycle at all, counting the imports inside
functions that the package makes lazily (those cycles work today only because
of when the functions run).  And the httpx transports are built on a shared
core, not on the sessions' private plumbing: they import no private name
from requestx.sessions, requestx.async_sessions or requestx.exceptions.
"""

from __future__ import annotations

import ast
import os
import pkgutil
import subprocess
import sys

import pytest

import requestx

PACKAGE = requestx.__name__
PACKAGE_DIR = os.path.dirname(requestx.__file__)
ROOT = os.path.dirname(PACKAGE_DIR)

# what the transports must not reach into, and where they live
SESSION_PLUMBING = ("requestx.sessions", "requestx.async_sessions", "requestx.exceptions")
TRANSPORTS = "requestx.transports"


def _module_names() -> list[str]:
    found = [m.name for m in pkgutil.walk_packages(requestx.__path__, PACKAGE + ".")]
    return [PACKAGE] + sorted(found)


def _sources() -> dict[str, str]:
    """Module name -> path of its source, for the package's Python modules."""
    sources = {}
    for dir_path, dir_names, file_names in os.walk(PACKAGE_DIR):
        dir_names[:] = [d for d in dir_names if d != "__pycache__"]
        rel = os.path.relpath(dir_path, PACKAGE_DIR)
        package = PACKAGE if rel == "." else ".".join([PACKAGE, *rel.split(os.sep)])
        for file_name in file_names:
            if not file_name.endswith(".py"):
                continue
            stem = file_name[: -len(".py")]
            name = package if stem == "__init__" else f"{package}.{stem}"
            sources[name] = os.path.join(dir_path, file_name)
    return sources


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _executed_nodes(tree: ast.AST):
    """Every node that can run: all of the tree but ``if TYPE_CHECKING:`` bodies."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _is_package(name: str, sources: dict) -> bool:
    return sources.get(name, "").endswith("__init__.py")


class _Imports:
    """The package-internal imports of one module, at any depth."""

    def __init__(self, name: str, sources: dict) -> None:
        self.name = name
        self.modules: set[str] = set()  # modules of the package it imports
        self.names: list[tuple[str, str, int]] = []  # (module, name, line) of from-imports
        self.bound: dict[str, str] = {}  # local name -> package module it is bound to
        self.attributes: list[tuple[str, str, int]] = []  # (module, attribute, line)
        with open(sources[name], encoding="utf-8") as f:
            tree = ast.parse(f.read(), sources[name])
        here = name if _is_package(name, sources) else name.rpartition(".")[0]
        nodes = list(_executed_nodes(tree))
        for node in nodes:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if self._ours(alias.name):
                        self.modules.add(alias.name)
                        if alias.asname:
                            self.bound[alias.asname] = alias.name
            elif isinstance(node, ast.ImportFrom):
                base = self._resolve(node, here)
                if not self._ours(base):
                    continue
                for alias in node.names:
                    child = f"{base}.{alias.name}"
                    if child in sources or child == f"{PACKAGE}._engine":
                        self.modules.add(child)
                        self.bound[alias.asname or alias.name] = child
                    else:
                        self.modules.add(base)
                        self.names.append((base, alias.name, node.lineno))
        for node in nodes:
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in self.bound
            ):
                self.attributes.append((self.bound[node.value.id], node.attr, node.lineno))
        self.modules.discard(name)

    @staticmethod
    def _ours(name: str) -> bool:
        return name == PACKAGE or name.startswith(PACKAGE + ".")

    @staticmethod
    def _resolve(node: ast.ImportFrom, here: str) -> str:
        if not node.level:
            return node.module or ""
        parts = here.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1])
        return f"{base}.{node.module}" if node.module else base


def _import_graph() -> dict[str, _Imports]:
    sources = _sources()
    return {name: _Imports(name, sources) for name in sorted(sources)}


def _tangles(graph: dict[str, set]) -> list[list[str]]:
    """The strongly connected parts of ``graph`` with more than one module
    (Tarjan), each sorted: every module of one is on a cycle with the others."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    parts: list[set] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            part = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                part.add(w)
                if w == v:
                    break
            if len(part) > 1:
                parts.append(part)

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return sorted(sorted(part) for part in parts)


def _cycles(graph: dict[str, set]) -> list[list[str]]:
    """A shortest cycle through each module that is on one, as the list of
    its modules with the first repeated at the end; a cycle found from two of
    its modules is listed once."""
    cycles: list[list[str]] = []
    seen: set[frozenset] = set()
    for part in _tangles(graph):
        for start in part:
            cycle = _cycle_through(start, set(part), graph)
            key = frozenset(zip(cycle, cycle[1:]))
            if key not in seen:
                seen.add(key)
                cycles.append(cycle)
    return cycles


def _cycle_through(start: str, part: set, graph: dict[str, set]) -> list[str]:
    paths = {start: [start]}
    todo = [start]
    while todo:
        v = todo.pop(0)
        for w in sorted(graph.get(v, ())):
            if w == start:
                return paths[v] + [start]
            if w in part and w not in paths:
                paths[w] = paths[v] + [w]
                todo.append(w)
    raise AssertionError(f"no cycle in {sorted(part)}")


# ---------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("module", _module_names())
def test_module_imports_first_in_a_fresh_interpreter(module):
    code = f"import sys; sys.path.insert(0, {ROOT!r}); import {module}"
    done = subprocess.run(
        [sys.executable, "-I", "-W", "error", "-c", code],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, f"import {module} failed:\n{done.stderr}"


def test_the_helpers_see_cycles_and_private_names():
    """The graph and cycle finder used below, on a graph whose answer is known."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a", "d"}, "d": set(), "e": {"e2"}, "e2": {"e"}}
    assert _tangles(graph) == [["a", "b", "c"], ["e", "e2"]]
    assert _cycles(graph) == [["a", "b", "c", "a"], ["e", "e2", "e"]]
    assert _cycles({"a": {"b", "c"}, "b": {"a"}, "c": {"a"}}) == [["a", "b", "a"], ["c", "a", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
    imports = _import_graph()
    assert "requestx.models" in imports["requestx.sessions"].modules
    assert "requestx._engine" in imports["requestx.api"].modules
    # a lazy import, inside a function, is counted
    assert "requestx.sse" in imports["requestx.models"].modules


def test_import_graph_has_no_cycle():
    graph = {name: imports.modules for name, imports in _import_graph().items()}
    tangles = _tangles(graph)
    assert not tangles, (
        "import cycles (counting imports inside functions) among "
        + "; ".join(", ".join(part) for part in tangles)
        + ":\n"
        + "\n".join("  " + " -> ".join(cycle) for cycle in _cycles(graph))
    )


def test_transports_import_no_private_name_of_the_sessions_or_exceptions():
    found = []
    for name, imports in _import_graph().items():
        if not (name == TRANSPORTS or name.startswith(TRANSPORTS + ".")):
            continue
        uses = imports.names + imports.attributes
        for module, used, line in uses:
            if module in SESSION_PLUMBING and used.startswith("_"):
                found.append(f"  {name}:{line} uses {module}.{used}")
    assert not found, "the transports reach into private names:\n" + "\n".join(found)
