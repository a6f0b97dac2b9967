"""A first run of ``agmc``: a quick start (no torch for ``--version``/``--help``) and no dependency warning noise.

Each case runs in a fresh interpreter, since this test process has long imported torch and its
warnings are filtered by pytest's own settings.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
HEAVY = ("torch", "torchvision", "torch_pruning", "torch_geometric", "stable_baselines3")


def _python(code: str, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``code`` run by a fresh interpreter that imports this checkout, with Python's default warning filters."""
    environ = {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", **(env or {})}
    environ.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code), *argv], capture_output=True, text=True, env=environ, timeout=300
    )


def test_import_and_parser_do_not_import_heavy_libraries() -> None:
    result = _python(
        """
        import contextlib, io, json, sys
        import agmc_cli
        parser = agmc_cli.build_parser()
        for argv in (["--version"], ["--help"]):
            with contextlib.suppress(SystemExit), contextlib.redirect_stdout(io.StringIO()):
                parser.parse_args(argv)
        print(json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in sys.argv[1:])))
        """,
        *HEAVY,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []


def test_a_command_is_declared_when_parsed() -> None:
    import agmc_cli

    args = agmc_cli.build_parser().parse_args(["evaluate", "--model", "resnet20", "--size", "8", "--offline"])
    assert args.command == "evaluate" and args.size == 8 and args.offline and callable(args.run)
    with pytest.raises(SystemExit) as exit_:  # an unknown command is still argparse's usage error
        agmc_cli.build_parser().parse_args(["evaluat"])
    assert exit_.value.code == 2


def test_help_lists_every_command_with_its_line(capsys) -> None:
    import agmc_cli

    with pytest.raises(SystemExit):
        agmc_cli.build_parser().parse_args(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert all(f"{name} {' '.join(line.split())}" in out for name, line in agmc_cli.COMMANDS.items())
    loaded = agmc_cli.build_parser(load=agmc_cli.COMMANDS).format_help()  # each command listed once
    assert all(loaded.count(f"    {name} ") == 1 for name in agmc_cli.COMMANDS), loaded


_MAIN = """
import sys, agmc_cli
try:
    code = agmc_cli.main(sys.argv[1:])
except SystemExit as exit_:
    code = exit_.code
print("loaded:", "torch_geometric" in sys.modules, file=sys.stderr)
sys.exit(code)
"""


def test_no_dependency_warning_on_a_command_that_imports_pyg() -> None:
    result = _python(_MAIN, "graph", "--help")  # `agmc graph` imports PyG, which warns at import
    assert result.returncode == 0, result.stderr
    assert "loaded: True" in result.stderr  # so the warning was raised, and filtered
    assert "Warning" not in result.stderr, result.stderr


def test_an_unrelated_warning_still_shows() -> None:
    result = _python(
        """
        import warnings, agmc_cli
        agmc_cli.quiet_known_warnings()
        warnings.warn_explicit("`torch.jit.script` is deprecated. Please switch", FutureWarning, "_script.py", 1,
                               module="torch.jit._script")  # the known one: quiet
        warnings.warn_explicit("something else changed", FutureWarning, "_script.py", 2, module="torch.jit._script")
        warnings.warn("`torch.jit.script` is deprecated in your code", FutureWarning)  # another module: shown
        warnings.warn("a real problem", UserWarning)
        """
    )
    assert result.returncode == 0, result.stderr
    err = result.stderr
    assert "Please switch" not in err
    assert "something else changed" in err and "in your code" in err and "a real problem" in err


@pytest.mark.data
@pytest.mark.slow
def test_a_tiny_evaluate_prints_no_warning() -> None:
    result = _python(_MAIN, "evaluate", "--model", "resnet20", "--size", "8", "--device", "cpu", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["images"] == 8
    assert "Warning" not in result.stderr, result.stderr
