"""The package's layering: import-linter's contracts, no import circles, light lower layers."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent


def test_import_contracts_hold() -> None:
    lint = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(lint)], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert "0 broken" in done.stdout


def strongly_connected(edges: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module (or a module importing itself)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in edges.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1 or node in edges.get(node, ()):
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_no_import_circles_counting_function_level_and_type_only_imports() -> None:
    graph = grimp.build_graph("opus_magic", include_external_packages=False)
    edges = {module: {m for m in graph.find_modules_directly_imported_by(module)
                      if m.startswith("opus_magic")}
             for module in graph.modules if module.startswith("opus_magic")}
    assert strongly_connected(edges) == []


def test_strongly_connected_finds_a_circle() -> None:
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_every_module_imports_and_lower_layers_load_no_notebook_code() -> None:
    code = """
import importlib, json, pkgutil, sys
import opus_magic
loaded = {}
for layer in ("core", "cost", "wire", "store"):
    importlib.import_module("opus_magic." + layer)
    for info in pkgutil.walk_packages(importlib.import_module("opus_magic." + layer).__path__,
                                      "opus_magic." + layer + "."):
        importlib.import_module(info.name)
loaded["lower"] = sorted(m for m in sys.modules if m.split(".")[0] in ("IPython", "ipywidgets"))
for info in pkgutil.walk_packages(opus_magic.__path__, "opus_magic."):
    importlib.import_module(info.name)
loaded["count"] = sum(1 for m in sys.modules if m.startswith("opus_magic."))
print(json.dumps(loaded))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    loaded = json.loads(done.stdout)
    assert loaded["lower"] == []
    assert loaded["count"] > 40


def test_modules_and_functions_stay_small() -> None:
    """Modules under 300 lines; functions under 40, unless a `# Long…` comment says why."""
    import ast

    too_big = []
    for path in sorted((ROOT / "opus_magic").rglob("*.py")):
        source = path.read_text()
        lines = source.splitlines()
        if len(lines) > 300:
            too_big.append(f"{path.name}: {len(lines)} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                said = any(line.strip().startswith("# Long")
                           for line in lines[node.lineno:node.lineno + 5])
                if length > 40 and not said:
                    too_big.append(f"{path.name}:{node.lineno} {node.name}: {length} lines")
    assert too_big == []
