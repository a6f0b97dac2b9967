"""The scripts in ``examples/`` run as documented (they import only the public packages)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _load_example(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.mark.data
@pytest.mark.slow
def test_cem_example_main_runs_through_the_search_runner(tmp_path: Path) -> None:
    main = _load_example("cem_agent").main

    summary = main(["--episodes", "3", "--population", "2", "--val-size", "100", "--out", str(tmp_path)])
    assert summary["episodes"] == 3 and summary["agent"] == "make_agent"
    assert (tmp_path / "best" / "policy.json").is_file()
