"""``finetune_pruned``: the whole job on a synthetic pruned model, and on the real data (slow)."""

from __future__ import annotations

import json
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from agmc_env.errors import ConfigError, FolderInUseError
from agmc_env.evaluate import Evaluator
from agmc_env.finetune import FinetuneConfig, finetune_pruned
from agmc_env.finetune.pipeline import CHECKPOINT_DIR, PLOT_FILE, RECORD_FILE
from agmc_env.folder_lock import FolderLock
from agmc_env.data import load_split
from agmc_env.models import get_spec
from agmc_env.pruning import load_pruned

SIZES = {"train_size": 64, "report_size": 32, "test_size": 48, "device": "cpu", "progress": False}


def _searched(path: Path, **env_options: object) -> Path:
    """A pruned model saved the way a search saves its best one."""
    env = gym.make("agmc_env:ModelCompression-v0", val_size=16, device="cpu", **env_options)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        *_, terminated, _, _ = env.step(np.full(env.action_space.shape, 0.5, np.float32))
    env.unwrapped.save_pruned(path)
    env.close()
    return path


@pytest.fixture(scope="module")
def synthetic_best(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _searched(tmp_path_factory.mktemp("search") / "best", preset="resnet20-synthetic-random")


def test_trains_scores_saves_and_the_saved_model_scores_the_same(synthetic_best: Path, tmp_path: Path) -> None:
    out = tmp_path / "tuned"
    result = finetune_pruned(synthetic_best, out, FinetuneConfig(epochs=2, batch_size=64), **SIZES)
    assert result.model_path == out and result.train_images == 64 and result.train_split == "train"
    assert result.report_images == 32 and result.test_images == 48 and len(result.curve) == 2
    assert result.teacher.startswith("none (resnet20 was pruned from randomly initialised weights")
    assert result.report_accuracy == result.curve[-1].accuracy and result.final_loss > 0
    model, spec = load_pruned(out)
    assert spec["finetune"]["test_accuracy"] == result.test_accuracy and spec["finetune"]["epochs"] == 2
    test = load_split("test", "synthetic", size=48)
    zoo = get_spec("resnet20")
    assert Evaluator(test, zoo.mean, zoo.std, "cpu").accuracy(model) == result.test_accuracy
    record = json.loads((out / RECORD_FILE).read_text())
    assert record["complete"] and [p["epoch"] for p in record["curve"]] == [1, 2]
    assert record["curve_accuracy"] == "report split" and record["test"]["accuracy"] == result.test_accuracy
    assert record["report"]["images"] == 32 and record["train"]["split"] == "train"
    assert record["config"]["precision"] == "fp32" and record["training_precision"] == "fp32"
    assert (out / PLOT_FILE).read_bytes()[:4] == b"\x89PNG" and (out / CHECKPOINT_DIR / "state.pt").is_file()


def test_resume_of_a_finished_run_trains_nothing_and_reports_the_same(synthetic_best: Path, tmp_path: Path) -> None:
    config = FinetuneConfig(epochs=1, batch_size=64)
    first = finetune_pruned(synthetic_best, tmp_path / "tuned", config, **SIZES)
    again = finetune_pruned(synthetic_best, tmp_path / "tuned", config, resume=True, **SIZES)
    assert again.curve == first.curve and again.test_accuracy == first.test_accuracy


def test_bad_requests_raise_config_errors(synthetic_best: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="split must be one of"):
        finetune_pruned(synthetic_best, split="test")
    with pytest.raises(ConfigError, match="^distill is on but there is no teacher"):
        finetune_pruned(synthetic_best, tmp_path / "x", FinetuneConfig(epochs=1), distill=True, **SIZES)


def test_a_second_finetune_into_a_busy_folder_refuses_and_touches_nothing(synthetic_best: Path, tmp_path: Path) -> None:
    out = tmp_path / "tuned"
    out.mkdir()
    with FolderLock(out, job="finetune"):  # what a running `agmc finetune --out tuned` holds
        with pytest.raises(FolderInUseError, match=f"{out} is in use by another finetune .*finetune.lock"):
            finetune_pruned(synthetic_best, out, FinetuneConfig(epochs=1, batch_size=64), **SIZES)
        assert sorted(p.name for p in out.iterdir()) == ["finetune.lock"]
    result = finetune_pruned(synthetic_best, out, FinetuneConfig(epochs=1, batch_size=64), **SIZES)
    assert result.model_path == out and not (out / "finetune.lock").exists()


@pytest.mark.data
@pytest.mark.slow
def test_a_short_distilled_finetune_recovers_accuracy_on_the_real_data(tmp_path: Path) -> None:
    best = _searched(tmp_path / "best", model="resnet20", bn_recalibration=False)
    config = FinetuneConfig(epochs=1, batch_size=128, lr=0.02, warmup_epochs=0.2)
    result = finetune_pruned(best, None, config, train_size=2000, report_size=1000, test_size=1000, device="cpu", progress=False)
    assert result.teacher == "resnet20 (shipped weights)"
    assert result.report_accuracy > result.report_accuracy_before + 5, result
    assert result.test_accuracy > result.test_accuracy_before + 5, result
