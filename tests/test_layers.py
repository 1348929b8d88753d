"""The layers of docs/architecture.md, read off the imports: arrows point one way, and the floor never prints.

Every `import` and `from ... import` in src/roost counts, those inside functions too.
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"

# Longest prefix wins. A module may import its own layer and those with a lower number.
LAYERS = {
    "roost": 0,
    "roost.formats": 1,
    "roost.prep": 2,
    "roost.algorithm": 2,
    "roost.inference": 2,
    "roost.platform": 3,
    "roost.api": 4,
    "roost.console": 4,
    "roost.cli": 4,
    "roost.__main__": 4,
}
# Packages of one layer that stay apart: (importer, imported). Inference may use the algorithm's network.
APART = {
    ("roost.prep", "roost.algorithm"),
    ("roost.prep", "roost.inference"),
    ("roost.algorithm", "roost.prep"),
    ("roost.algorithm", "roost.inference"),
    ("roost.inference", "roost.prep"),
}
# The platform knows the algorithm through its entry point, its job directory and its schema only.
PLATFORM_SEES = ("roost.algorithm.hyperparameters", "roost.algorithm.job_directory")
# Layers below the front doors never draw to the terminal.
QUIET_BELOW = 4


def _package(module: str) -> str:
    return max((p for p in LAYERS if module == p or module.startswith(p + ".")), key=len)


def _modules() -> dict[str, ast.Module]:
    found = {}
    for path in sorted((SRC / "roost").rglob("*.py")):
        parts = path.relative_to(SRC).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = ast.parse(path.read_text(), str(path))
    return found


MODULES = _modules()


def _imports(tree: ast.Module) -> list[str]:
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_point_down(module):
    here = _package(module)
    wrong = []
    for imported in _imports(MODULES[module]):
        if not imported.startswith("roost"):
            continue
        there = _package(imported)
        into_algorithm = here == "roost.platform" and there == "roost.algorithm"
        if (
            LAYERS[there] > LAYERS[here]
            or (here, there) in APART
            or (into_algorithm and imported not in PLATFORM_SEES)
        ):
            wrong.append(imported)
    assert not wrong, f"{module} ({here}) must not import {wrong}: see docs/architecture.md, Layers"


@pytest.mark.parametrize("module", sorted(m for m in MODULES if LAYERS[_package(m)] < QUIET_BELOW))
def test_only_front_doors_draw_to_the_terminal(module):
    tree = MODULES[module]
    prints = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"
    ]
    rich = [name for name in _imports(tree) if name.split(".")[0] == "rich"]
    assert not prints and not rich, f"{module} prints (lines {prints}) or imports {rich}"


def test_the_table_knows_every_package():
    top = {p.name for p in (SRC / "roost").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert {f"roost.{name}" for name in top} <= set(LAYERS)
