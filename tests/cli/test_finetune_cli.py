"""``agmc finetune`` and ``agmc search --finetune-epochs`` end to end, on synthetic images and
random weights (no data files, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agmc_env.pruning import load_pruned

NO_FILES = ["--dataset", "synthetic", "--no-pretrained", "--val-size", "16", "--device", "cpu", "--threads", "1"]
TINY = ["--epochs", "1", "--batch-size", "64", "--train-size", "64", "--report-size", "32", "--test-size", "32",
        "--device", "cpu", "--threads", "1", "--no-progress"]  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def _restore_threads():
    # --threads sets torch's process-wide thread count: give the next tests theirs back.
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    import agmc_cli

    out = tmp_path_factory.mktemp("search") / "run"
    assert agmc_cli.main(["search", "--agent", "uniform", "--episodes", "1", "--out", str(out), "--no-progress", *NO_FILES]) == 0
    return out


def test_finetune_saves_a_loadable_model_and_resume_reports_the_same(agmc, searched: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "tuned"
    assert agmc("finetune", "--pruned", str(searched / "best"), *TINY, "--out", str(out), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert result["model_path"] == str(out) and result["report_images"] == 32 and result["test_images"] == 32
    assert result["teacher"].startswith("none (") and result["train_split"] == "train"
    _, spec = load_pruned(out)
    assert spec["finetune"]["epochs"] == 1 and (out / "finetune.json").is_file() and (out / "accuracy.png").is_file()
    assert agmc("finetune", "--pruned", str(searched / "best"), *TINY, "--out", str(out), "--json", "--resume") == 0
    again = json.loads(capsys.readouterr().out)
    assert again["test_accuracy"] == result["test_accuracy"] and again["final_loss"] == result["final_loss"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--distill"], "--distill is on but there is no teacher: none (resnet20 was pruned from randomly"),
        (["--ema-decay", "1.5"], "argument --ema-decay: must be a number in (0, 1) or None, got 1.5"),
        (["--label-smoothing", "-0.1"], "argument --label-smoothing: must be a number in [0, 1), got -0.1"),
        (["--warmup-epochs", "5", "--epochs", "1"], "--warmup-epochs must be in [0, epochs=1], got 5.0"),
    ],
)
def test_bad_finetune_input_exits_2_naming_the_flag(agmc, searched: Path, tmp_path: Path, capsys, argv, message) -> None:
    assert agmc("finetune", "--pruned", str(searched / "best"), *TINY, "--out", str(tmp_path / "x"), *argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_search_hands_its_best_model_to_finetuning(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    argv = ["search", "--agent", "uniform", "--episodes", "1", "--out", str(out), "--no-progress", "--json", *NO_FILES]
    assert agmc(*argv, "--finetune-epochs", "1", "--finetune-size", "64") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["finetuned_model_path"] == str(out / "best-finetuned") and summary["finetune_epochs"] == 1
    for key in ("report_accuracy_before_finetune", "report_accuracy_finetuned", "test_accuracy_finetuned"):
        assert 0 <= summary[key] <= 100
    assert json.loads((out / "summary.json").read_text()) == summary
    load_pruned(out / "best-finetuned")


def test_bad_finetune_epochs_fail_before_the_search(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert agmc("search", "--out", str(out), "--no-progress", "--finetune-epochs", "-1", *NO_FILES) == 2
    assert "argument --finetune-epochs: must be an integer >= 0, got -1" in capsys.readouterr().err
    assert not out.exists()
