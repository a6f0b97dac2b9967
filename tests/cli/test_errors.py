"""Bad ``agmc search/finetune/export`` input: a clear message and exit code 2, before any work."""

from __future__ import annotations

import pytest

NO_FILES = ["--dataset", "synthetic", "--no-pretrained", "--val-size", "16", "--device", "cpu"]


@pytest.mark.parametrize(
    "argv, message",
    [
        # Checked while the arguments are parsed, by the check the flag was declared with.
        (["--agent", "dqn"], "argument --agent: must be one of ("),
        (["--model", "resnet9000"], "argument --model: must be one of ("),
        (["--preserve", "0"], "argument --preserve: must be a number in (0, 1], got 0.0"),
        (["--preserve", "1.5"], "argument --preserve: must be a number in (0, 1], got 1.5"),
        (["--preserve", "nan"], "argument --preserve: must be a number in (0, 1], got nan"),
        (["--max-ratio", "1"], "argument --max-ratio: must be a number in (0, 1), got 1.0"),
        (["--val-size", "0"], "argument --val-size: must be an integer >= 1, got 0"),
        (["--val-size", "1.5"], "argument --val-size: must be an integer >= 1, got '1.5'"),
        (["--episodes", "0"], "argument --episodes: must be an integer >= 1, got 0"),
        (["--threads", "0"], "argument --threads: must be an integer in [1, 1024], got 0"),
        (["--warmup", "-1"], "argument --warmup: must be an integer >= 0, got -1"),
        (["--seed", "-1"], "argument --seed: must be an integer in [0, 4294967295], got -1"),
        (["--data-dir", "/nonexistent/agmc-data"], "is not a directory"),
        (["--target", "speed"], "invalid choice: 'speed'"),
        # Checked once the env is built: synthetic images and random weights keep that fast.
        (["--agent", "agmc", "--embedding", "rule", *NO_FILES], "--embedding must be 'gnn' for agent 'agmc', got 'rule'"),
    ],
)
def test_bad_search_input_exits_2(agmc, tmp_path, capsys, argv: list[str], message: str) -> None:
    code = agmc("search", "--out", str(tmp_path / "run"), "--no-progress", *argv)
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_missing_pruned_model_exits_1_and_names_the_file(agmc, tmp_path, capsys) -> None:
    # A missing file is a failure (1), not bad usage (2): the command line itself was well-formed.
    assert agmc("finetune", "--pruned", str(tmp_path / "nothing"), "--epochs", "1") == 1
    err = capsys.readouterr().err
    assert "not found" in err and str(tmp_path / "nothing") in err and "Traceback" not in err
    assert agmc("export", "--pruned", str(tmp_path / "nothing"), "--onnx", str(tmp_path / "m.onnx")) == 1


def test_corrupt_pruned_spec_exits_1_and_names_the_file(agmc, tmp_path, capsys) -> None:
    folder = tmp_path / "pruned"
    folder.mkdir()
    (folder / "pruned.json").write_text('{"format_version": 999}')
    (folder / "weights.pt").write_bytes(b"")
    assert agmc("export", "--pruned", str(folder), "--onnx", str(tmp_path / "m.onnx")) == 1
    err = capsys.readouterr().err
    assert str(folder / "pruned.json") in err and "format_version" in err


def test_bad_finetune_settings_exit_2_naming_the_flag(agmc, tmp_path, capsys) -> None:
    assert agmc("finetune", "--pruned", str(tmp_path / "nothing"), "--epochs", "0") == 2
    assert "argument --epochs: must be an integer >= 1, got 0" in capsys.readouterr().err
    assert agmc("finetune", "--pruned", str(tmp_path / "nothing"), "--batch-size", "0") == 2
    assert "argument --batch-size: must be an integer >= 1, got 0" in capsys.readouterr().err
    assert agmc("finetune", "--pruned", str(tmp_path / "nothing"), "--lr", "inf") == 2
    assert "argument --lr: must be a number > 0, got inf" in capsys.readouterr().err
