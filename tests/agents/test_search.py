"""Short searches of every agent on ResNet-20: files, budget, resume, determinism (real data)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.registry import AGENTS
from agents.search import run_search
from agmc_env.cost import count_cost
from agmc_env.models import get_model
from agmc_env.pruning import load_pruned

# ResNet-20 on 100 search images: an episode costs well under a second on 2 cores.
TINY_ENV = {"model": "resnet20", "val_size": 100}

pytestmark = [pytest.mark.data, pytest.mark.slow]

LEARNING = ("ddpg", "td3", "sac", "amc", "agmc")
SUMMARY_KEYS = {"best_accuracy", "best_reward", "kept_flops_fraction", "kept_params_fraction", "ratios", "episodes", "model_path"}


def _options(agent: str) -> dict:
    return {"warmup_episodes": 1} if agent in LEARNING else {}


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


def _without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize("agent", sorted(AGENTS))
def test_every_agent_completes_and_writes_every_file(tmp_path: Path, agent: str) -> None:
    out = tmp_path / agent
    summary = run_search(out, TINY_ENV, agent, episodes=3, agent_options=_options(agent), progress=False)
    expected = 1 if agent in ("uniform", "handcrafted") else 3  # deterministic baselines need one episode
    assert summary["episodes"] == expected and SUMMARY_KEYS <= set(summary)
    for name in ("config.json", "summary.json", "rewards.png", "best_policy.png", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    records = _lines(out)
    assert [r["episode"] for r in records] == list(range(expected))
    assert all(r["kept_flops_fraction"] <= 0.5 + 1e-9 for r in records)  # the budget wall holds
    policy = json.loads((out / "best" / "policy.json").read_text())
    assert policy["reward"] == summary["best_reward"] == max(r["reward"] for r in records)
    model, _ = load_pruned(summary["model_path"])
    base = count_cost(get_model("resnet20"), (3, 32, 32)).macs
    assert count_cost(model, (3, 32, 32)).macs / base == pytest.approx(summary["kept_flops_fraction"])


@pytest.mark.parametrize("agent", ["random", "ddpg", "ppo"])
def test_resume_gives_the_same_episodes_as_an_uninterrupted_search(tmp_path: Path, agent: str) -> None:
    options = _options(agent)
    whole = run_search(tmp_path / "whole", TINY_ENV, agent, episodes=4, agent_options=options, progress=False)
    run_search(tmp_path / "split", TINY_ENV, agent, episodes=2, agent_options=options, progress=False)
    with open(tmp_path / "split" / "episodes.jsonl", "a") as log:  # an episode after the checkpoint, torn
        log.write('{"episode": 2, "ratios": []}\n{"episo')
    resumed = run_search(tmp_path / "split", TINY_ENV, agent, episodes=4, agent_options=options, progress=False, resume=True)
    assert resumed["episodes"] == whole["episodes"] == 4
    split = _lines(tmp_path / "split")
    assert [r["episode"] for r in split] == [0, 1, 2, 3]
    assert _without_time(split) == _without_time(_lines(tmp_path / "whole"))  # RNG states resume exactly


@pytest.mark.parametrize("agent", ["random", "uniform", "handcrafted", "cem"])
def test_same_seed_same_result(tmp_path: Path, agent: str) -> None:
    first = run_search(tmp_path / "a", TINY_ENV, agent, episodes=3, seed=7, progress=False)
    second = run_search(tmp_path / "b", TINY_ENV, agent, episodes=3, seed=7, progress=False)
    assert {k: first[k] for k in SUMMARY_KEYS - {"model_path"}} == {k: second[k] for k in SUMMARY_KEYS - {"model_path"}}
    assert _without_time(_lines(tmp_path / "a")) == _without_time(_lines(tmp_path / "b"))


def test_existing_search_needs_resume_with_the_same_config(tmp_path: Path) -> None:
    run_search(tmp_path, TINY_ENV, "random", episodes=1, progress=False)
    with pytest.raises(ValueError, match="--resume"):
        run_search(tmp_path, TINY_ENV, "random", episodes=2, progress=False)
    with pytest.raises(ValueError, match="different agent"):
        run_search(tmp_path, TINY_ENV, "cem", episodes=2, progress=False, resume=True)


def test_kill_9_then_resume_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    out = tmp_path / "run"
    script = (
        "from agents.search import run_search\n"
        f"run_search({str(out)!r}, {TINY_ENV!r}, 'ddpg', episodes=40, agent_options={{'warmup_episodes': 2}}, progress=False)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", script], env={**os.environ, "PYTHONWARNINGS": "ignore"})
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            log = out / "episodes.jsonl"
            if log.exists() and log.read_text().count("\n") >= 4:
                break
            time.sleep(0.05)
        else:
            pytest.fail("the search never logged 4 episodes")
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    summary = run_search(out, TINY_ENV, "ddpg", episodes=6, agent_options={"warmup_episodes": 2}, progress=False, resume=True)
    records = _lines(out)
    assert [r["episode"] for r in records] == list(range(6)) and summary["episodes"] == 6
    assert json.loads((out / "best" / "policy.json").read_text())["reward"] == max(r["reward"] for r in records)
