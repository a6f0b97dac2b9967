"""``target="latency"`` in the env, the search summary and the CLI (made-up tables: no clock in the budget)."""

from __future__ import annotations

import json
import pickle
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence

import agmc_env.latency.cache as latency_cache
from agents.plots import plot_latency_policy
from agmc_env.envs.config import EnvConfig
from agmc_env.errors import ConfigError
from tests.envs.test_model_compression import CHECK_ENV_IGNORE_WARNINGS
from tests.latency.fake import fake_table

ENV_ID = "agmc_env:ModelCompression-v0"


@pytest.fixture
def latency_options(fast: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    """Fast env options with target="latency", a fresh cache and the made-up table instead of timing."""
    monkeypatch.setattr(latency_cache, "measure_table", lambda method, *a, **k: fake_table(method))
    return {**fast, "target": "latency", "cache_dir": str(tmp_path / "cache"), "embedding": "rule"}


def test_episodes_stay_within_the_predicted_latency_budget(latency_options: dict) -> None:
    env = gym.make(ENV_ID, **latency_options, preserve=0.6, reward="amc_latency")
    latency = env.unwrapped.latency_model
    assert latency is not None
    for seed in range(3):
        obs, _ = env.reset(seed=seed)
        env.action_space.seed(seed)
        terminated = False
        while not terminated:
            assert env.observation_space.contains(obs)
            obs, reward, terminated, _, info = env.step(env.action_space.sample())
        assert info["budget_met"] and info["latency_predicted_ms"] <= 0.6 * info["base_latency_ms"] + 1e-9
        assert info["kept_latency_fraction"] == pytest.approx(info["latency_predicted_ms"] / info["base_latency_ms"])
        assert info["speedup_predicted"] >= 1 / 0.6 - 1e-9
        assert info["latency_batch"] == 1 and "kept_flops_fraction" in info and "kept_params_fraction" in info
        assert reward == pytest.approx(info["reward_error_log_latency"])
    env.close()


def test_env_checker_and_pickle_round_trip(latency_options: dict) -> None:
    env = gym.make(ENV_ID, **latency_options, preserve=0.7)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
    unexpected = [str(w.message) for w in caught if not any(a in str(w.message) for a in CHECK_ENV_IGNORE_WARNINGS)]
    assert not unexpected, unexpected
    env.reset(seed=3)
    env.step(np.array([0.5], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    # The clone's model is a copy: its latency model is read back from the disk cache, not measured.
    assert clone.unwrapped.latency_model.table == env.unwrapped.latency_model.table
    for action in np.full((env.unwrapped.num_units - 1, 1), -0.3, np.float32):
        assert data_equivalence(env.step(action), clone.step(action))


def test_other_targets_have_no_latency_model_or_keys(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, embedding="rule")
    env.reset(seed=0)
    info = env.step(np.zeros(1, np.float32))[4]
    while "ratios" not in info:
        info = env.step(np.zeros(1, np.float32))[4]
    assert env.unwrapped.latency_model is None and "latency_predicted_ms" not in info


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"latency_batch": 0}, "latency_batch"),
        ({"latency_batch": -4}, "latency_batch"),
        ({"latency_batch": 2.5}, "latency_batch"),
        ({"device": "tpu"}, "device"),
        ({"pruning": "fine_grained"}, "target"),
        ({"target": "flops", "reward": "amc_latency"}, "reward"),
    ],
)
def test_bad_latency_options_name_the_option(options: dict, option: str) -> None:
    with pytest.raises(ConfigError) as caught:
        EnvConfig.create(**{"target": "latency", **options})
    assert caught.value.option == option


def test_unreachable_latency_target(latency_options: dict) -> None:
    with pytest.raises(ConfigError, match="unreachable") as caught:
        gym.make(ENV_ID, **latency_options, preserve=0.05)
    assert caught.value.option == "preserve"


def test_latency_report_measures_and_predicts(latency_options: dict) -> None:
    env = gym.make(ENV_ID, **latency_options, preserve=0.7)
    report = env.unwrapped.latency_report([0.5] * env.unwrapped.num_units)
    for key in ("latency_ms", "base_latency_ms", "speedup", "latency_predicted_ms", "speedup_predicted", "kept_macs", "kept_params"):
        assert report[key] > 0, key
    assert report["latency_device"] == "cpu" and report["kept_flops_fraction"] < 1


def test_policy_plot(tmp_path: Path) -> None:
    path = tmp_path / "policy.png"
    plot_latency_policy(["a", "b"], [0.2, 0.6], [0.3, 0.5], [0.4, 0.3], path, "t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_search_summary_has_measured_and_predicted_latency(latency_options: dict, tmp_path: Path) -> None:
    from agents.search import run_search

    options = {k: v for k, v in latency_options.items() if k != "model"}
    options.update(model="resnet20", pretrained=False, preserve=0.7)
    summary = run_search(tmp_path / "run", options, agent="uniform", episodes=1, progress=False, rescore_top=0)
    written = json.loads((tmp_path / "run" / "summary.json").read_text())
    for key in ("latency_ms", "latency_predicted_ms", "speedup", "speedup_predicted", "kept_flops_fraction", "kept_params_fraction"):
        assert key in summary and key in written, key
    assert (tmp_path / "run" / "best_latency.png").is_file()
