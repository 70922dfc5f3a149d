"""The package's imports point down its layers and form no circles (read from the source, not by importing it).

Layers, bottom up: shared leaves (constants, files, distributed, usage, resolvers, conf, report: pictures any
layer draws) → data → models → training and eval (training may use eval's predictor and metrics, never the
reverse) → the tools built on them (inference, analysis, cache_features, convert) → the command line (commands,
__main__). Imports under ``if TYPE_CHECKING:`` are annotations only and are not edges.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "fvl"

LAYERS = {
    "fvl.constants": 0,
    "fvl.files": 0,
    "fvl.distributed": 0,
    "fvl.usage": 0,
    "fvl.registry": 0,
    "fvl.resolvers": 0,
    "fvl.conf": 0,
    "fvl.report": 1,
    "fvl.data": 2,
    "fvl.models": 3,
    "fvl.eval": 4,
    "fvl.training": 5,
    "fvl.inference": 6,
    "fvl.analysis": 6,
    "fvl.cache_features": 6,
    "fvl.convert": 6,
    "fvl.commands": 7,
    "fvl.__main__": 8,
}
ROOT_PACKAGE = "fvl"  # its __init__ only registers the config resolvers; every module imports it implicitly


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(tree: ast.AST) -> list[ast.AST]:
    """Import nodes outside ``if TYPE_CHECKING:`` blocks."""
    found, stack = [], [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.If) and getattr(node.test, "id", getattr(node.test, "attr", "")) == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
        stack.extend(ast.iter_child_nodes(node))
    return found


def import_graph() -> dict[str, set[str]]:
    modules = {module_name(path): path for path in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        for node in runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                if node.level or not (node.module or "").startswith("fvl"):
                    continue
                for alias in node.names:  # `from fvl.x import y` is an edge to fvl.x.y when y is a module
                    target = f"{node.module}.{alias.name}"
                    graph[name].add(target if target in modules else node.module)
            else:
                graph[name].update(alias.name for alias in node.names if alias.name.startswith("fvl"))
    return {name: {t for t in targets if t in modules and t != name} for name, targets in graph.items()}


def layer(module: str) -> tuple[str, int]:
    unit = ".".join(module.split(".")[:2])
    assert unit in LAYERS, f"{module}: a new top-level unit; give {unit} a layer in {__file__}"
    return unit, LAYERS[unit]


def test_every_import_points_down_the_layers():
    wrong = []
    for source, targets in import_graph().items():
        if source == ROOT_PACKAGE:
            continue
        unit, level = layer(source)
        for target in targets - {ROOT_PACKAGE}:
            target_unit, target_level = layer(target)
            if target_unit != unit and target_level >= level:
                wrong.append(f"{source} → {target}")
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(sorted(wrong))


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk meets (a module importing its own package's ``__init__`` is not one)."""
    state: dict[str, int] = {}
    circles: list[list[str]] = []

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if module.startswith(target + "."):
                continue
            if state.get(target) == 1:
                circles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target, [*path, target])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    return circles


def test_no_modules_import_each_other_in_a_circle():
    circles = find_circles(import_graph())
    assert not circles, "\n".join(" → ".join(circle) for circle in circles)


def test_the_checks_see_a_planted_circle_and_skip_annotation_imports():
    assert find_circles({"fvl.a": {"fvl.b"}, "fvl.b": {"fvl.c"}, "fvl.c": {"fvl.a"}}) == [
        ["fvl.a", "fvl.b", "fvl.c", "fvl.a"]
    ]
    assert find_circles({"fvl.a.x": {"fvl.a"}, "fvl.a": {"fvl.a.x"}}) == []
    tree = ast.parse("from fvl.b import x\nif TYPE_CHECKING:\n    from fvl.c import y\n")
    assert {node.module for node in runtime_imports(tree)} == {"fvl.b"}
