"""Every import runs one way, down the pipeline; each module imports alone, with no circle.

The stages, from the bottom: declarations and plain helpers, readers, counts,
metric definitions, result types, statistics, outcome kinds, the config, gates,
the engine, reporters, and the command line. A module may import its own stage
and those below it, never one above (docs/design.md).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "fairaudit"

STAGES: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("version", "errors", "collector", "arrays", "numbers", "rangespec", "text")),
    ("readers", ("remote", "sources", "csvstream", "readers", "decode", "outputs")),
    ("counts", ("counts",)),
    ("metrics", ("metrics", "comparisons", "inequality")),
    ("result", ("result",)),
    ("statistics", ("stats", "stats.*")),
    ("kinds", ("reference_group", "kinds", "kinds.*")),
    ("config", ("config", "report_settings")),
    ("gates", ("gates",)),
    ("engine", ("counting", "comparing", "backends", "backends.*", "engine", "reference")),
    ("history", ("history", "history.*", "batch")),
    ("reporters", ("report", "report.*")),
    ("interface", ("cli", "docgen", "schedule", "__main__", "")),
]


def _modules() -> list[str]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out.append(".".join(parts))
    return out


def _stage(module: str) -> int:
    for rank, (_, patterns) in enumerate(STAGES):
        for p in patterns:
            if module == p or (p.endswith(".*") and module.startswith(p[:-1])):
                return rank
    raise AssertionError(f"fairaudit.{module} is in no stage; add it to STAGES")


def _imports(module: str) -> set[str]:
    """Every fairaudit module ``module`` imports, at any depth of its code."""
    path = PACKAGE / (module.replace(".", "/") or ".")
    path = path / "__init__.py" if path.is_dir() else path.with_suffix(".py")
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".") if package else []
                base = base[: len(base) - (node.level - 1)] if node.level > 1 else base
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif node.module and node.module.split(".")[0] == "fairaudit":
                target = node.module.partition(".")[2]
            else:
                continue
            names = [f"{target}.{a.name}".strip(".") for a in node.names]
            known = set(_modules())
            found |= {n for n in names if n in known} or {target}
        elif isinstance(node, ast.Import):
            found |= {a.name.partition(".")[2] for a in node.names
                      if a.name.split(".")[0] == "fairaudit"}
    found.discard(module)
    return found


def _upward(graph: dict[str, set[str]]) -> list[str]:
    wrong = []
    for module, targets in graph.items():
        for target in sorted(targets):
            if _stage(target) > _stage(module):
                wrong.append(f"fairaudit.{module} ({STAGES[_stage(module)][0]}) imports "
                             f"fairaudit.{target} ({STAGES[_stage(target)][0]})")
    return wrong


def _circle(graph: dict[str, set[str]]) -> None:
    seen: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        if seen.get(m) == 1:
            raise AssertionError("import circle: " + " -> ".join([*path, m]))
        if seen.get(m) == 2:
            return
        seen[m] = 1
        for t in sorted(graph.get(m, ())):
            visit(t, [*path, m])
        seen[m] = 2

    for m in graph:
        visit(m, [])


def test_every_import_points_down_the_pipeline():
    assert _upward({m: _imports(m) for m in _modules()}) == []


def test_no_module_imports_back_into_itself():
    _circle({m: _imports(m) for m in _modules()})


@pytest.mark.parametrize("module", [m for m in _modules() if m != "__main__"])
def test_each_module_imports_alone(module):
    name = f"fairaudit.{module}".rstrip(".")
    proc = subprocess.run([sys.executable, "-c", f"import {name}"], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr


def test_the_checks_find_what_they_look_for():
    # imports are read at every depth: the engine's, and the lazy ones inside functions
    assert {"counts", "kinds", "gates"} <= _imports("engine")
    assert "stats" in _imports("kinds.base")  # imported inside a method
    assert {"kinds.binary", "kinds.ranges"} <= _imports("kinds")
    assert _upward({"errors": {"engine"}, "engine": {"errors"}}) == [
        "fairaudit.errors (foundation) imports fairaudit.engine (engine)"]
    with pytest.raises(AssertionError, match="import circle: config -> gates -> config"):
        _circle({"config": {"gates"}, "gates": {"config"}})
