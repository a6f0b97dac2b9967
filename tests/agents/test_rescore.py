"""Honest selection: the top-k re-score picks the policy with the best whole-split accuracy.

The fast tests run a randomly initialised ResNet-20 on random images (no file at all); one test
repeats on the real weights and CIFAR-10, where a small reward set really does misrank policies.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import gymnasium as gym
import pytest
from torch import nn

import agents.rescore
from agents.rescore import RESCORE_CSV, RESCORE_JSON, top_candidates
from agents.search import run_search
from agmc_env.cost import count_cost
from agmc_env.envs.model_compression import ModelCompressionEnv
from agmc_env.models import get_model
from agmc_env.pruning import load_pruned
from agmc_env.scoring import score_model

TINY_ENV = {"preset": "resnet20-synthetic-random", "val_size": 16, "device": "cpu"}
LABELLED = ("search_reward_accuracy", "search_split_accuracy", "report_split_accuracy", "test_accuracy")
# What a search without a re-score has always written.
OLD_KEYS = {
    "agent", "model", "episodes", "best_episode", "best_reward", "best_accuracy", "kept_flops_fraction",
    "kept_params_fraction", "ratios", "model_path", "out", "seconds", "precision", "batch_size",
}  # fmt: skip


def _records(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


def _params(model: nn.Module) -> int:
    return count_cost(model, (3, 32, 32)).params


def test_top_candidates_are_the_best_rewards_one_per_shape() -> None:
    records = [
        {"episode": 0, "reward": 0.5, "shape": "a"},
        {"episode": 1, "reward": 0.7, "shape": "b"},
        {"episode": 2, "reward": 0.7, "shape": "c"},
        {"episode": 3, "reward": 0.9, "shape": "b"},  # b again: the same model, counted once
        {"episode": 4, "reward": 0.6, "shape": "d"},
    ]
    chosen = top_candidates(records, 3, lambda r: r["shape"])
    assert [r["episode"] for r in chosen] == [3, 2, 4]
    assert [r["episode"] for r in top_candidates(records, 10, lambda r: r["shape"])] == [3, 2, 4, 0]


class _SmallestWins:
    """An evaluator whose "accuracy" is the share of parameters pruned: the smallest candidate wins,
    whatever the search's reward said (a case where the best reward is not the best on the split)."""

    def __init__(self, name: str, split: str, **kwargs: object) -> None:
        self.split, self.base = split, _params(get_model("resnet20", pretrained=False))

    def __len__(self) -> int:
        return 100

    def accuracy(self, model: nn.Module) -> float:
        return 100.0 * (1.0 - _params(model) / self.base)


def test_the_winner_is_the_best_on_the_split_not_the_best_reward(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agents.rescore, "split_evaluator", _SmallestWins)
    out = tmp_path / "run"
    summary = run_search(out, TINY_ENV, "random", episodes=8, seed=1, progress=False, rescore_top=4)
    # Expected, from the log alone: the four best rewards (distinct models), the one with fewest params.
    ranked = sorted(_records(out), key=lambda r: (-r["reward"], r["episode"]))[:4]
    assert len({r["kept_params"] for r in ranked}) == 4  # four different models
    expected = min(ranked, key=lambda r: r["kept_params"])
    assert expected["episode"] != ranked[0]["episode"]  # the re-score changes the choice here
    rows = summary["rescore"]
    assert [row["episode"] for row in rows] == [r["episode"] for r in ranked]
    assert [row["winner"] for row in rows] == [r is expected for r in ranked]
    assert summary["best_episode"] == expected["episode"] and summary["ratios"] == expected["ratios"]
    assert summary["best_reward"] == expected["reward"] and summary["search_reward_accuracy"] == expected["accuracy"]
    assert summary["search_split_accuracy"] == max(row["search_split_accuracy"] for row in rows)
    # best/ holds the winner's model, not the best reward's.
    model, spec = load_pruned(out / "best")
    assert _params(model) == expected["kept_params"] and spec["ratios"] == expected["ratios"]
    policy = json.loads((out / "best" / "policy.json").read_text())
    assert policy["episode"] == expected["episode"]
    assert policy["rescore"]["search_split_accuracy"] == summary["search_split_accuracy"]


def test_summary_labels_and_best_score_as_recorded(tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = run_search(out, TINY_ENV, "random", episodes=6, progress=False, rescore_top=3)
    assert OLD_KEYS <= set(summary) and summary["rescore_top"] == 3 and len(summary["rescore"]) == 3
    splits = summary["accuracy_splits"]
    assert list(splits) == list(LABELLED)
    # Synthetic splits: 256 search and report images, 512 test images; the reward saw the first 16.
    assert [(splits[k]["split"], splits[k]["images"]) for k in LABELLED] == [
        ("search", 16), ("search", 256), ("report", 256), ("test", 512)
    ]  # fmt: skip
    assert all(splits[k]["precision"] == "fp32" for k in LABELLED[1:])
    assert summary["search_reward_accuracy"] == summary["best_accuracy"]
    # The model in best/, loaded and scored afresh, has the accuracies the summary names.
    model, _ = load_pruned(out / "best")
    for key in LABELLED[1:]:
        score = score_model(
            model, "resnet20", splits[key]["split"], dataset="synthetic", device="cpu", batch_size=summary["batch_size"]
        )
        assert score.images == splits[key]["images"]
        assert score.accuracy == pytest.approx(summary[key], abs=100.0 / score.images + 1e-9)  # one image at most
    assert json.loads((out / "summary.json").read_text()) == summary
    stored = json.loads((out / RESCORE_JSON).read_text())
    assert stored["candidates"] == summary["rescore"] and stored["winner"]["episode"] == summary["best_episode"]
    with open(out / RESCORE_CSV) as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["episode"]) for row in rows] == [row["episode"] for row in summary["rescore"]]
    assert sum(row["winner"] == "True" for row in rows) == 1


def test_rescore_top_0_keeps_the_best_reward_and_the_old_summary(tmp_path: Path) -> None:
    out = tmp_path / "run"
    summary = run_search(out, TINY_ENV, "random", episodes=4, progress=False, rescore_top=0)
    assert set(summary) == OLD_KEYS
    assert not (out / RESCORE_JSON).exists() and not (out / RESCORE_CSV).exists()
    records = _records(out)
    policy = json.loads((out / "best" / "policy.json").read_text())
    assert policy["reward"] == summary["best_reward"] == max(r["reward"] for r in records)
    first_best = min(r["episode"] for r in records if r["reward"] == policy["reward"])
    assert policy["episode"] == summary["best_episode"] == first_best


def _no_scoring(*args: object, **kwargs: object) -> None:
    raise AssertionError("re-scored again")


def test_resume_reuses_a_finished_rescore_and_redoes_a_stale_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agents.rescore, "split_evaluator", _SmallestWins)
    out = tmp_path / "run"
    first = run_search(out, TINY_ENV, "random", episodes=6, seed=1, progress=False, rescore_top=3)
    with monkeypatch.context() as patched:  # a finished search, resumed: nothing is scored again
        patched.setattr(agents.rescore, "split_evaluator", _no_scoring)
        patched.setattr(ModelCompressionEnv, "replay", _no_scoring)
        again = run_search(out, TINY_ENV, "random", episodes=6, seed=1, progress=False, rescore_top=3, resume=True)
    assert {k: v for k, v in again.items() if k != "seconds"} == {k: v for k, v in first.items() if k != "seconds"}
    # More episodes: the top 3 may change, so they are re-scored over the whole log.
    longer = run_search(out, TINY_ENV, "random", episodes=10, seed=1, progress=False, rescore_top=3, resume=True)
    assert longer["episodes"] == 10 and json.loads((out / RESCORE_JSON).read_text())["episodes"] == 10
    ranked = sorted(_records(out), key=lambda r: (-r["reward"], r["episode"]))[:3]
    assert longer["best_episode"] == min(ranked, key=lambda r: r["kept_params"])["episode"]
    # Switched off on resume: best/ goes back to the best reward and the stale re-score is removed.
    plain = run_search(out, TINY_ENV, "random", episodes=10, seed=1, progress=False, rescore_top=0, resume=True)
    assert plain["best_episode"] == ranked[0]["episode"] and set(plain) == OLD_KEYS
    assert json.loads((out / "best" / "policy.json").read_text())["episode"] == ranked[0]["episode"]
    assert _params(load_pruned(out / "best")[0]) == ranked[0]["kept_params"]
    assert not (out / RESCORE_JSON).exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"rescore_top": -1}, "rescore_top must be an integer >= 0"),
        ({"rescore_top": 2.5}, "rescore_top must be an integer >= 0"),
        ({"rescore_size": 0}, "rescore_size must be None"),
        pytest.param(
            {"rescore_size": 5001, "env": {**TINY_ENV, "dataset": "cifar10"}}, "rescore_size is too large: size must be at most 5000",
            marks=pytest.mark.data,
        ),  # the CIFAR-10 splits hold 5,000 images
    ],
)
def test_bad_rescore_options_fail_before_the_search(tmp_path: Path, options: dict, message: str) -> None:
    env = options.pop("env", TINY_ENV)
    with pytest.raises(ValueError, match=message):
        run_search(tmp_path / "run", env, "random", episodes=2, progress=False, **options)
    assert not (tmp_path / "run").exists()


@pytest.mark.data
@pytest.mark.slow
def test_real_data_rescore_agrees_with_each_candidate_scored_on_its_own(tmp_path: Path) -> None:
    # 10 reward images rank policies poorly; on 500 search images the second-best reward wins here.
    env_options = {"preset": "agmc-search", "val_size": 10, "precision": "fp32"}
    out = tmp_path / "run"
    summary = run_search(out, env_options, "random", episodes=6, seed=0, progress=False, rescore_top=3, rescore_size=500)
    rows = summary["rescore"]
    assert not rows[0]["winner"]
    # Each candidate rebuilt in a fresh env, saved, loaded and scored by agmc_env.scoring on its own.
    fresh = gym.make("agmc_env:ModelCompression-v0", **env_options).unwrapped
    records = {r["episode"]: r for r in _records(out)}
    accuracies = {}
    for row in rows:
        record = records[row["episode"]]
        fresh.replay(record["ratios"], record["importance_seed"])
        fresh.save_pruned(tmp_path / f"episode{row['episode']}")
        model, _ = load_pruned(tmp_path / f"episode{row['episode']}")
        accuracies[row["episode"]] = score_model(model, "resnet20", "search", size=500, device="cpu").accuracy
        assert accuracies[row["episode"]] == pytest.approx(row["search_split_accuracy"], abs=0.2 + 1e-9)  # one image
    assert summary["best_episode"] == max(accuracies, key=accuracies.get)
    best, _ = load_pruned(out / "best")
    best_score = score_model(best, "resnet20", "search", size=500, device="cpu")
    assert best_score.accuracy == pytest.approx(accuracies[summary["best_episode"]])
