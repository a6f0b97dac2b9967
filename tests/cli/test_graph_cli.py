"""`agmc graph`: summary, JSON output and the PNG (through a local parser until the dispatcher lists it)."""

from __future__ import annotations

import argparse
import json

import pytest

from agmc_cli import graph as graph_command


def _run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="agmc")
    graph_command.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["graph", *argv])
    return args.run(args)


def test_graph_json_and_plot(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    png = tmp_path / "graph.png"
    argv = ["--model", "resnet20", "--epochs", "20", "--cache-dir", str(tmp_path), "--plot", str(png), "--json"]
    assert _run(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["nodes"], result["edges"], result["prunable_layers"]) == (71, 79, 20)
    assert result["ops"]["conv"] == 19 and 0.0 <= result["gae_auc"] <= 1.0
    assert png.read_bytes().startswith(b"\x89PNG")
    assert _run(argv[:-3]) == 0  # text output, second run hits the cache
    assert "from_cache         True" in capsys.readouterr().out


def test_unknown_model(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        _run(["--model", "resnet57"])
    assert exit_.value.code == 2 and "argument --model: must be one of (" in capsys.readouterr().err
