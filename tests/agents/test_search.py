"""Short searches of every agent on ResNet-20: files, budget, resume, determinism.

The fast suite runs them on a randomly initialised ResNet-20 and random images (no file at all);
one test per feature repeats on the real weights and CIFAR-10 (marked ``data`` and ``slow``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agents.registry import AGENTS, agent_options
from agents.search import run_search
from agmc_env.cost import count_cost
from agmc_env.models import get_model
from agmc_env.pruning import load_pruned

# A random ResNet-20 on 16 random images: an episode costs about a tenth of a second.
TINY_ENV = {"preset": "resnet20-synthetic-random", "val_size": 16, "device": "cpu"}
# The real weights on 100 CIFAR-10 search images: well under a second per episode on 2 cores.
REAL_ENV = {"model": "resnet20", "val_size": 100}
REAL = pytest.param(REAL_ENV, marks=[pytest.mark.data, pytest.mark.slow], id="real")
# Where the choice of the best policy is not the point: no re-score after the last episode
# (tests/agents/test_rescore.py covers it).
NO_RESCORE = {"rescore_top": 0}
# Elsewhere the default re-score, on a few images of each split (the whole splits cost seconds).
SMALL_RESCORE = {"rescore_size": 32}
SUMMARY_KEYS = {"best_accuracy", "best_reward", "kept_flops_fraction", "kept_params_fraction", "ratios", "episodes", "model_path"}


def _options(agent: str) -> dict:
    return agent_options(agent, warmup_episodes=1, population=2)


def _lines(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


def _without_time(records: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


@pytest.mark.parametrize(
    "env_options, agent", [*((TINY_ENV, name) for name in sorted(AGENTS)), pytest.param(REAL_ENV, "agmc", marks=REAL.marks)]
)
def test_every_agent_completes_and_writes_every_file(tmp_path: Path, env_options: dict, agent: str) -> None:
    out = tmp_path / agent
    summary = run_search(out, env_options, agent, episodes=3, agent_options=_options(agent), progress=False, **SMALL_RESCORE)
    expected = 1 if AGENTS[agent].deterministic else 3  # deterministic baselines need one episode
    assert summary["episodes"] == expected and SUMMARY_KEYS <= set(summary)
    for name in ("config.json", "summary.json", "rewards.png", "best_policy.png", "checkpoint/state.json"):
        assert (out / name).is_file(), name
    records = _lines(out)
    assert [r["episode"] for r in records] == list(range(expected))
    assert all(r["kept_flops_fraction"] <= 0.5 + 1e-9 for r in records)  # the budget wall holds
    policy = json.loads((out / "best" / "policy.json").read_text())
    # best/ holds the re-score's winner: the best on the whole search split of the top rewards.
    winner = max(summary["rescore"], key=lambda row: (row["search_split_reward"], -row["rank"]))
    assert policy["episode"] == summary["best_episode"] == winner["episode"] and policy["reward"] == summary["best_reward"]
    assert summary["rescore"][0]["reward"] == max(r["reward"] for r in records)
    model, _ = load_pruned(summary["model_path"])
    base = count_cost(get_model("resnet20", pretrained=False), (3, 32, 32)).macs
    assert count_cost(model, (3, 32, 32)).macs / base == pytest.approx(summary["kept_flops_fraction"])


@pytest.mark.parametrize(
    "env_options, agent",
    [(TINY_ENV, "random"), (TINY_ENV, "ddpg"), (TINY_ENV, "ppo"), pytest.param(REAL_ENV, "ddpg", marks=REAL.marks)],
)
def test_resume_gives_the_same_episodes_as_an_uninterrupted_search(tmp_path: Path, env_options: dict, agent: str) -> None:
    options = _options(agent)
    whole = run_search(tmp_path / "whole", env_options, agent, episodes=4, agent_options=options, progress=False, **NO_RESCORE)
    run_search(tmp_path / "split", env_options, agent, episodes=2, agent_options=options, progress=False, **NO_RESCORE)
    with open(tmp_path / "split" / "episodes.jsonl", "a") as log:  # an episode after the checkpoint, torn
        log.write('{"episode": 2, "ratios": []}\n{"episo')
    resumed = run_search(
        tmp_path / "split", env_options, agent, episodes=4, agent_options=options, progress=False, resume=True, **NO_RESCORE
    )
    assert resumed["episodes"] == whole["episodes"] == 4
    split = _lines(tmp_path / "split")
    assert [r["episode"] for r in split] == [0, 1, 2, 3]
    assert _without_time(split) == _without_time(_lines(tmp_path / "whole"))  # RNG states resume exactly


@pytest.mark.parametrize(
    "env_options, agent", [*((TINY_ENV, name) for name in ("random", "uniform", "handcrafted", "cem")), pytest.param(REAL_ENV, "cem", marks=REAL.marks)]
)
def test_same_seed_same_result(tmp_path: Path, env_options: dict, agent: str) -> None:
    first = run_search(tmp_path / "a", env_options, agent, episodes=3, seed=7, progress=False, **SMALL_RESCORE)
    second = run_search(tmp_path / "b", env_options, agent, episodes=3, seed=7, progress=False, **SMALL_RESCORE)
    assert {k: first[k] for k in SUMMARY_KEYS - {"model_path"}} == {k: second[k] for k in SUMMARY_KEYS - {"model_path"}}
    assert _without_time(_lines(tmp_path / "a")) == _without_time(_lines(tmp_path / "b"))


def test_existing_search_needs_resume_with_the_same_config(tmp_path: Path) -> None:
    run_search(tmp_path, TINY_ENV, "random", episodes=1, progress=False, **NO_RESCORE)
    with pytest.raises(ValueError, match="--resume"):
        run_search(tmp_path, TINY_ENV, "random", episodes=2, progress=False)
    with pytest.raises(ValueError, match="different agent"):
        run_search(tmp_path, TINY_ENV, "cem", episodes=2, progress=False, resume=True)


@pytest.mark.parametrize("env_options", [TINY_ENV, REAL])
def test_kill_9_then_resume_loses_and_duplicates_nothing(tmp_path: Path, env_options: dict) -> None:
    out = tmp_path / "run"
    script = (
        "from agents.search import run_search\n"
        f"run_search({str(out)!r}, {env_options!r}, 'ddpg', episodes=400, agent_options={{'warmup_episodes': 2}}, progress=False)\n"
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
    # Fast episodes may have gone on past 4 before the kill: continue 2 beyond what was logged.
    total = (out / "episodes.jsonl").read_text().count("\n") + 2
    summary = run_search(
        out, env_options, "ddpg", episodes=total, agent_options={"warmup_episodes": 2}, progress=False, resume=True, **NO_RESCORE
    )
    records = _lines(out)
    assert [r["episode"] for r in records] == list(range(total)) and summary["episodes"] == total
    assert json.loads((out / "best" / "policy.json").read_text())["reward"] == max(r["reward"] for r in records)


@pytest.mark.parametrize("stop", [KeyboardInterrupt, RuntimeError])
def test_a_search_stopped_while_saving_leaves_no_temporary_files(tmp_path: Path, monkeypatch, stop: type) -> None:
    # Ctrl-C (or an error) while the best model is being written: its half-written best.tmp/ goes,
    # and nothing appears in the system's temporary directory (an SB3 agent included).
    import tempfile

    from agmc_env.envs.model_compression import ModelCompressionEnv

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    save = ModelCompressionEnv.save_pruned

    def save_then_stop(self, path) -> None:
        save(self, path)
        raise stop("stopped while saving")

    monkeypatch.setattr(ModelCompressionEnv, "save_pruned", save_then_stop)
    out = tmp_path / "run"
    with pytest.raises(stop):
        run_search(out, TINY_ENV, "ddpg", episodes=2, agent_options=_options("ddpg"), progress=False)
    assert not (out / "best.tmp").exists() and not [p for p in out.rglob("*") if ".tmp" in p.name]
    assert list(temp.iterdir()) == []
