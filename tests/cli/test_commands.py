"""``agmc search --json``, ``agmc finetune`` and ``agmc export`` end to end on ResNet-20 (real data)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytestmark = [pytest.mark.data, pytest.mark.slow]


@pytest.fixture(scope="module")
def searched(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from agents.search import run_search

    out = tmp_path_factory.mktemp("search")
    run_search(out, {"model": "resnet20", "val_size": 100}, "uniform", episodes=1, progress=False, rescore_top=0)
    return out


def test_search_json_summary(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    code = agmc(
        "search", "--agent", "random", "--episodes", "2", "--val-size", "100", "--out", str(out), "--json", "--no-progress",
        "--tensorboard", "--rescore-size", "500",
    )  # fmt: skip
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["episodes"] == 2 and summary["model_path"] == str(out / "best")
    splits = summary["accuracy_splits"]  # the chosen policy's accuracies, each named by its split
    expected = [("search", 100), ("search", 500), ("report", 500), ("test", 500)]
    assert [(s["split"], s["images"]) for s in splits.values()] == expected
    assert all(0 < summary[key] <= 100 for key in splits)
    assert 0 < summary["kept_flops_fraction"] <= 0.5 and len(summary["ratios"]) == 9
    assert any((out / "tensorboard" / "search").iterdir())
    argv = ["--val-size", "100", "--out", str(out), "--resume", "--json", "--no-progress", "--rescore-size", "500"]
    assert agmc("search", "--agent", "random", "--episodes", "3", *argv) == 0
    assert json.loads(capsys.readouterr().out)["episodes"] == 3


def test_finetune_trains_scores_and_saves(agmc, searched: Path, tmp_path: Path, capsys) -> None:
    out = tmp_path / "tuned"
    argv = ["finetune", "--pruned", str(searched / "best"), "--epochs", "1", "--train-size", "64", "--report-size", "100", "--test-size", "100"]
    assert agmc(*argv, "--batch-size", "32", "--out", str(out), "--json", "--no-progress") == 0
    result = json.loads(capsys.readouterr().out)
    assert 0 <= result["test_accuracy"] <= 100 and result["test_images"] == 100
    from agmc_env.pruning import load_pruned

    _, spec = load_pruned(out)
    assert spec["finetune"]["epochs"] == 1


def test_export_onnx_matches_torch(agmc, searched: Path, tmp_path: Path, capsys) -> None:
    pytest.importorskip("onnxruntime")
    path = tmp_path / "model.onnx"
    assert agmc("export", "--pruned", str(searched / "best"), "--onnx", str(path), "--json") == 0
    result = json.loads(capsys.readouterr().out)
    assert path.is_file() and result["checked"] and result["max_abs_difference"] < 1e-3
