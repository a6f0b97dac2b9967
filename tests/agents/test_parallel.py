"""``run_search(workers=N)``: open-loop agents' episodes on N env copies, the same episodes as serially."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.search import run_search
from agmc_env.errors import ConfigError

TINY_ENV = {"preset": "resnet20-synthetic-random", "val_size": 16, "device": "cpu"}


def _episodes(out: Path) -> list[dict]:
    # Only the time and the cache flag may differ: each copy has its own reward cache.
    lines = (out / "episodes.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k not in ("seconds", "reward_cached")} for line in lines]


@pytest.mark.parametrize("agent, options", [("random", {}), pytest.param("cem", {"population": 3}, marks=pytest.mark.slow)])
def test_parallel_episodes_are_the_serial_ones(tmp_path: Path, agent: str, options: dict) -> None:
    kwargs = {"episodes": 7, "seed": 3, "agent_options": options, "progress": False, "rescore_top": 0}
    serial = run_search(tmp_path / "serial", TINY_ENV, agent, **kwargs)
    parallel = run_search(tmp_path / "parallel", TINY_ENV, agent, workers=2, **kwargs)
    assert _episodes(tmp_path / "parallel") == _episodes(tmp_path / "serial")
    assert len({tuple(e["ratios"]) for e in _episodes(tmp_path / "serial")}) > 1  # not one policy seven times
    for key in ("best_episode", "best_reward", "ratios", "kept_flops_fraction"):
        assert parallel[key] == serial[key], key
    policies = [json.loads((tmp_path / run / "best" / "policy.json").read_text()) for run in ("serial", "parallel")]
    assert policies[0]["ratios"] == policies[1]["ratios"]
    assert json.loads((tmp_path / "parallel" / "config.json").read_text())["workers"] == 2


@pytest.mark.slow
def test_a_parallel_search_resumes_as_the_serial_one(tmp_path: Path) -> None:
    kwargs = {"seed": 5, "agent_options": {"population": 2}, "progress": False, "rescore_top": 0}
    run_search(tmp_path / "serial", TINY_ENV, "cem", episodes=6, **kwargs)
    run_search(tmp_path / "parallel", TINY_ENV, "cem", episodes=3, workers=2, **kwargs)
    run_search(tmp_path / "parallel", TINY_ENV, "cem", episodes=6, workers=2, resume=True, **kwargs)
    assert _episodes(tmp_path / "parallel") == _episodes(tmp_path / "serial")


def test_workers_need_an_open_loop_agent(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="workers needs an open-loop agent"):
        run_search(tmp_path / "run", TINY_ENV, "ddpg", episodes=2, workers=2, progress=False, rescore_top=0)
    with pytest.raises(ConfigError, match="workers must be an integer >= 1"):
        run_search(tmp_path / "run", TINY_ENV, "random", episodes=2, workers=0, progress=False, rescore_top=0)
    assert not (tmp_path / "run").exists()
