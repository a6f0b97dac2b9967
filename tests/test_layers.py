"""The import graph has three layers with arrows pointing down only: ``agmc_cli`` -> ``agents`` ->
``agmc_env`` (benchmarks and examples may use all three), and no package imports itself in a cycle.

Imports are read from the source with :mod:`ast` (deferred imports inside functions included), so the
test needs neither torch nor the data.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("agmc_env", "agents", "agmc_cli")  # each may import only the ones before it


def _modules(package: str) -> dict[str, Path]:
    found = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(path: Path, module: str) -> set[str]:
    """Every absolute name ``module`` imports (relative imports resolved)."""
    names: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


ALL_MODULES = {name: path for layer in LAYERS for name, path in _modules(layer).items()}


@pytest.mark.parametrize("module", sorted(ALL_MODULES))
def test_imports_point_down(module: str) -> None:
    layer = LAYERS.index(module.split(".")[0])
    above = LAYERS[layer + 1 :]
    wrong = sorted(name for name in _imports(ALL_MODULES[module], module) if name.split(".")[0] in above)
    assert not wrong, f"{module} imports {wrong} from a layer above it"


def test_no_import_cycles_between_modules() -> None:
    graph = {
        module: {name for name in _imports(path, module) if name in ALL_MODULES and name != module}
        for module, path in ALL_MODULES.items()
    }
    # A package's __init__ re-exporting its submodules is not a cycle worth reporting: drop the edges
    # from a module to the packages that contain it.
    graph = {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(module: str, trail: list[str]) -> None:
        state[module] = 1
        for dependency in sorted(graph[module]):
            if state.get(dependency) == 1:
                cycle = trail[trail.index(dependency) :] + [dependency]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if dependency not in state:
                visit(dependency, [*trail, dependency])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_only_agents_import_stable_baselines3() -> None:
    offenders = sorted(
        module
        for module, path in ALL_MODULES.items()
        if not module.startswith("agents")
        and any(name.split(".")[0] == "stable_baselines3" for name in _imports(path, module))
    )
    assert not offenders
