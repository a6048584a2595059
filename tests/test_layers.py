"""The packages depend one way: no import cycle between any two modules (imports inside functions included), no
lower layer importing a higher one, and the command line's light paths load no plotting library."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("common", "core", "analysis", "sweep")
# What each package may import of the project's packages (besides itself).
ALLOWED = {"common": set(), "core": set(), "analysis": {"common"}, "sweep": {"common", "core", "analysis"}}
# Within a package, the layers lowest first: a module may import only modules of its own layer or lower ones. A
# module belongs to the longest prefix listed; the package's __init__ is listed with what it re-exports.
LAYERS = {
    "analysis": ["analysis.stats", "analysis.tables", "analysis", "analysis.summaries", "analysis.figures",
                 "analysis.pages", "analysis.__main__"],
    "sweep": ["sweep", "sweep.spec", "sweep.plan", "sweep.compute", "sweep.store", "sweep.schedules",
              "sweep.cluster", "sweep.engine", "sweep.cli", "sweep.__main__", "sweep.bench"],
}  # fmt: skip


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = path
    return out


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The project modules ``name`` imports anywhere in its file: ``import a.b``, ``from a import b`` (the module
    ``a.b`` if there is one, else ``a``) and relative imports."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, one level up per extra dot
                parts = package.split(".")
                base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in MODULES:  # "import a.b.c" of an attribute: the module it is in
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle of the directed graph as a list of nodes (first repeated last), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def _layer(name: str) -> tuple[str, int]:
    package = name.split(".")[0]
    if package not in LAYERS:
        return package, 0
    best = max((p for p in LAYERS[package] if name == p or name.startswith(p + ".")), key=len)
    return package, LAYERS[package].index(best)


def test_the_graph_is_read_from_the_code():
    # The test's own reading: known edges are found, imports inside functions included.
    assert "sweep.spec.grid" in GRAPH["sweep.plan"]
    assert "analysis.pages.report" in GRAPH["sweep.engine"]  # imported inside _finish
    assert "analysis.stats.point" in GRAPH["sweep.schedules.halving"]  # "from analysis.stats import point as stats"
    assert len(MODULES) > 60


def test_no_module_imports_itself_through_others():
    assert _cycle(GRAPH) is None, " -> ".join(_cycle(GRAPH))


def test_the_cycle_finder_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_packages_and_layers_depend_one_way():
    wrong = []
    for name, targets in GRAPH.items():
        package, layer = _layer(name)
        for target in sorted(targets):
            other, other_layer = _layer(target)
            if other != package and other not in ALLOWED[package]:
                wrong.append(f"{name} imports {target} (package {package} may not import {other})")
            elif other == package and other_layer > layer:
                wrong.append(f"{name} imports {target}, a higher layer ({LAYERS[package][other_layer]})")
    assert not wrong, "\n".join(wrong)


def test_a_higher_import_is_caught():
    # The rule on a made-up edge: the spec importing the engine.
    package, layer = _layer("sweep.spec.grid")
    assert _layer("sweep.engine")[1] > layer and package == "sweep"
    assert _layer("analysis.figures.style")[1] > _layer("analysis.summaries.halving")[1]


def _loaded_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys; print(' '.join(sorted(sys.modules)))"],
        cwd=ROOT, capture_output=True, text=True, timeout=300, env={**os.environ, "JAX_PLATFORMS": "cpu"},
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return set(out.stdout.split())


PLOTTING = {"matplotlib", "seaborn"}


@pytest.mark.parametrize(
    ("code", "unwanted"),
    [
        ("import sweep", PLOTTING | {"jax", "analysis", "core"}),
        ("import analysis", PLOTTING | {"jax"}),
        ("import common", PLOTTING | {"jax"}),
        ("from sweep.cli import main; main(['list'])", PLOTTING),
    ],
    ids=["import sweep", "import analysis", "import common", "python -m sweep list"],
)
def test_light_paths_load_no_plotting(code, unwanted):
    loaded = _loaded_after(code)
    assert not {m.split(".")[0] for m in loaded} & unwanted
