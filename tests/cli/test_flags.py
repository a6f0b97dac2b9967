"""Flags checked at parse time (exit 2 naming the flag and what it accepts) and output paths checked
before any work: ``agmc_cli.flags`` and its use by every command."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from agmc_cli.flags import add_flag, add_output, check_output_folder
from agmc_env.checks import Integer, Number
from agmc_env.errors import ConfigError
from tests.pruned_folder import save_random_pruned_resnet20

NO_FILES = ["--dataset", "synthetic", "--no-pretrained", "--val-size", "16", "--device", "cpu", "--threads", "1"]


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pruned model folder (random ResNet-20, synthetic images): what ``agmc export`` reads."""
    folder = tmp_path_factory.mktemp("pruned") / "best"
    save_random_pruned_resnet20(folder)
    return folder


def test_a_declared_flag_parses_checks_and_documents_itself(capsys) -> None:
    parser = argparse.ArgumentParser(prog="agmc new")
    add_flag(parser, "--tolerance", Number(0.0), 1e-3, "largest difference")
    add_flag(parser, "--count", Integer(1, 9), 3, "how many")
    add_output(parser, "--report", False, "report file")
    assert parser.parse_args(["--tolerance", "0", "--count", "9"]).count == 9
    assert "a number >= 0 (default: 0.001)" in parser.format_help()
    for argv, message in [
        (["--tolerance", "nan"], "argument --tolerance: must be a number >= 0, got nan"),
        (["--tolerance=-1e-9"], "argument --tolerance: must be a number >= 0, got -1e-09"),
        (["--tolerance", "1e999"], "argument --tolerance: must be a number >= 0, got inf"),
        (["--tolerance", "tiny"], "argument --tolerance: must be a number >= 0, got 'tiny'"),
        (["--count", "10"], "argument --count: must be an integer in [1, 9], got 10"),
        (["--report", "/"], "argument --report: / is an existing directory; give a file name"),
    ]:
        with pytest.raises(SystemExit) as exit_:
            parser.parse_args(argv)
        assert exit_.value.code == 2 and message in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tolerance", "nan"], "argument --tolerance: must be a number >= 0, got nan"),
        (["--tolerance", "-0.1"], "argument --tolerance: must be a number >= 0, got -0.1"),
        (["--opset", "0"], "argument --opset: must be an integer in [7, 20], got 0"),
        (["--opset", "99"], "argument --opset: must be an integer in [7, 20], got 99"),
    ],
)
def test_export_refuses_bad_numbers_while_parsing(agmc, tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    assert agmc("export", "--pruned", str(tmp_path / "nothing"), "--onnx", str(tmp_path / "m.onnx"), *argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "m.onnx").exists()


def test_output_files_are_checked_before_any_work(agmc, pruned: Path, tmp_path: Path, capsys) -> None:
    a_file = tmp_path / "file"
    a_file.write_text("x")
    # The parent is a file; the path names an existing folder: refused while parsing, nothing read.
    assert agmc("export", "--pruned", str(pruned), "--onnx", str(a_file / "m.onnx")) == 2
    assert f"argument --onnx: {a_file} is a file, so {a_file / 'm.onnx'} cannot be created" in capsys.readouterr().err
    assert agmc("export", "--pruned", str(pruned), "--onnx", str(tmp_path)) == 2
    assert f"argument --onnx: {tmp_path} is an existing directory" in capsys.readouterr().err
    assert agmc("graph", "--plot", str(a_file / "deeper" / "g.png"), "--epochs", "1") == 2
    err = capsys.readouterr().err
    assert "argument --plot:" in err and "tracing" not in err
    # A missing parent that can be created is fine: the file lands there.
    assert agmc("export", "--pruned", str(pruned), "--onnx", str(tmp_path / "new" / "m.onnx"), "--json") == 0
    assert json.loads(capsys.readouterr().out)["bytes"] > 0


def test_an_opset_the_model_needs_more_than_is_one_line_and_exit_1(agmc, pruned: Path, tmp_path: Path, capfd) -> None:
    # The option-A shortcut slices with a step, which opsets below 10 cannot express.
    assert agmc("export", "--pruned", str(pruned), "--onnx", str(tmp_path / "m.onnx"), "--opset", "9") == 1
    out, err = capfd.readouterr()
    assert "could not write" in err and "at opset 9" in err and "a higher opset" in err
    assert "Traceback" not in err and "graph(" not in out + err and len((out + err).splitlines()) <= 2
    assert not (tmp_path / "m.onnx").exists() and list(tmp_path.iterdir()) == []  # no temporary left


def test_search_refuses_a_non_empty_folder_without_force(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    argv = ["search", "--agent", "uniform", "--episodes", "1", "--out", str(out), "--no-progress", *NO_FILES]
    assert agmc(*argv) == 2
    assert f"argument --out: {out} is a non-empty folder; pass --resume" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    assert agmc(*argv, "--force") == 0
    assert (out / "best").is_dir() and (out / "notes.txt").read_text() == "mine"
    # --force replaces a previous search (its files only); without it the search is refused.
    (out / "rewards.png").write_bytes(b"stale")
    assert agmc(*argv) == 2
    assert agmc(*argv, "--force") == 0
    assert len((out / "episodes.jsonl").read_text().splitlines()) == 1 and (out / "notes.txt").exists()
    assert (out / "rewards.png").read_bytes().startswith(b"\x89PNG")
    a_file = tmp_path / "file"
    a_file.write_text("x")
    assert agmc("search", "--out", str(a_file), *NO_FILES) == 2
    assert f"argument --out: {a_file} exists and is not a directory" in capsys.readouterr().err


def test_finetune_refuses_a_non_empty_output_folder(agmc, pruned: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "tuned"
    out.mkdir()
    (out / "x").write_text("x")
    assert agmc("finetune", "--pruned", str(pruned), "--out", str(out), "--epochs", "1") == 2
    assert "argument --out:" in capsys.readouterr().err and sorted(p.name for p in out.iterdir()) == ["x"]


def test_check_output_folder_words() -> None:
    with pytest.raises(ConfigError, match=r"^argument --out: .* pass --force to write into it anyway"):
        check_output_folder("--out", Path(__file__).parent, force=False)
    check_output_folder("--out", Path(__file__).parent, force=True)
    check_output_folder("--out", Path(__file__).parent, force=False, resume=True)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--latency-batch", "0"], "argument --latency-batch: must be an integer in [1, 4096], got 0"),
        (["--latency-batch", "-2"], "argument --latency-batch: must be an integer in [1, 4096], got -2"),
        (["--target", "speed"], "argument --target: invalid choice: 'speed'"),
    ],
)
def test_search_refuses_bad_latency_flags_while_parsing(agmc, tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    assert agmc("search", "--out", str(tmp_path / "run"), *NO_FILES, "--target", "latency", *argv) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
