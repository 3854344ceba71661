"""No import cycles inside the `logwarden` package (read statically: every `import` and
`from ... import`, at module level or inside functions, `TYPE_CHECKING` blocks included).

A cycle hidden behind a function-level import is still a cycle: the modules cannot be
understood, tested or reused apart. The test names the cycle it finds.
"""

from __future__ import annotations

import ast
from pathlib import Path

import logwarden

PACKAGE_ROOT = Path(logwarden.__file__).resolve().parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE_ROOT.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, known: set[str]) -> set[str]:
    """The `logwarden` modules `path` imports (a `from pkg import name` counts `pkg.name` when
    that is a module, else `pkg`)."""
    this = module_name(path)
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base_parts = this.split(".")
                if not is_package:
                    base_parts = base_parts[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join(base_parts + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != this}


def import_graph() -> dict[str, set[str]]:
    files = [p for p in PACKAGE_ROOT.rglob("*.py") if ".venv" not in p.parts]
    known = {module_name(p) for p in files}
    return {module_name(p): imported_modules(p, known) for p in files}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, ..., a], or None (iterative depth-first search, three colours)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in sorted(graph):
        if state.get(start):
            continue
        path = [start]
        stack = [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
                continue
            if state.get(nxt) == 1:
                return path[path.index(nxt):] + [nxt]
            if not state.get(nxt):
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def test_finder_sees_a_function_level_cycle(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_function_level_imports_are_read() -> None:
    known = {"logwarden.detection.engine", "logwarden.detection.compiler", "logwarden.detection"}
    src = PACKAGE_ROOT / "detection" / "compiler.py"
    # sanity: the parser resolves relative imports of a real module to module names
    assert imported_modules(src, known) <= known


def test_no_import_cycle_in_logwarden() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])
