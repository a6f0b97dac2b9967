"""``replay(ratios)`` rebuilds a logged episode exactly; ``kept_sizes`` names its pruned shape."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agmc_env.errors import ConfigError

ENV_ID = "agmc_env:ModelCompression-v0"
# Random weights on random images, with re-calibration: the whole episode pipeline, no file read.
NO_FILES = {"preset": "resnet20-synthetic-random", "val_size": 32, "device": "cpu", "bn_recalibration": True}


def _play(env: gym.Env, seed: int, values: np.ndarray) -> dict:
    env.reset(seed=seed)
    for value in values:
        *_, terminated, _, info = env.step(np.array([value], np.float32))
    assert terminated
    return info


@pytest.mark.parametrize("importance", ["l1", "random"])
def test_replay_in_a_fresh_env_rebuilds_the_episode(importance: str) -> None:
    played = gym.make(ENV_ID, **NO_FILES, importance=importance).unwrapped
    info = _play(played, 3, np.linspace(-0.5, 0.9, played.num_units))
    fresh = gym.make(ENV_ID, **NO_FILES, importance=importance).unwrapped
    fresh.reset(seed=11)  # another seed: replay must take the logged one, not the env's
    again = fresh.replay(info["ratios"], info["importance_seed"])
    for key in ("ratios", "kept_macs", "kept_params", "accuracy", "reward", "importance_seed"):
        assert again[key] == info[key], key
    assert fresh.kept_sizes(info["ratios"]) == played.kept_sizes(info["ratios"])
    assert fresh.last_info["accuracy"] == info["accuracy"] and fresh.policy() == info["ratios"]
    state, expected = fresh.pruned_model.state_dict(), played.pruned_model.state_dict()
    assert state.keys() == expected.keys()
    assert all(torch.equal(state[k], expected[k]) for k in state)  # same channels, same re-calibrated statistics


def test_replay_of_a_cached_shape_still_builds_its_model(tmp_path) -> None:
    env = gym.make(ENV_ID, **NO_FILES).unwrapped
    info = _play(env, 0, np.zeros(env.num_units))
    again = env.replay(info["ratios"])
    assert again["reward_cached"] and again["accuracy"] == info["accuracy"]
    env.save_pruned(tmp_path / "best")  # the model is rebuilt on demand
    assert (tmp_path / "best" / "weights.pt").is_file()


def test_replay_refuses_ratios_it_cannot_have_logged() -> None:
    env = gym.make(ENV_ID, **NO_FILES).unwrapped
    with pytest.raises(ConfigError, match="one per unit"):
        env.replay([0.5] * (env.num_units - 1))
    with pytest.raises(ConfigError, match="in \\[0, 1\\]"):
        env.replay([1.5] * env.num_units)
    with pytest.raises(ConfigError, match="exceed the budget"):
        env.replay([0.0] * env.num_units)  # the unpruned model keeps all of its FLOPs
    assert env.kept_sizes([0.0, 0.5]) == [env.units[0].channels, env.units[1].channels // 2]
