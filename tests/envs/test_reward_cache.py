"""The reward cache: a cached reward equals a fresh evaluation of the same pruned shape."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from agmc_env.envs.reward_cache import RewardCache

ENV_ID = "agmc_env:ModelCompression-v0"


def _episode(env: gym.Env, actions: list[float]) -> dict:
    env.reset()
    for action in actions:
        *_, terminated, _, info = env.step(np.array([action], dtype=np.float32))
    assert terminated
    return info


def test_same_shape_is_served_from_the_cache(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, preserve=1.0)
    env.reset(seed=0)
    actions = [0.1 * (i % 3) - 0.2 for i in range(len(env.unwrapped.units))]
    first = _episode(env, actions)
    # A nudge far below one channel of rounding: other ratios, the same kept channels.
    again = _episode(env, [a + 1e-6 for a in actions])
    assert not first["reward_cached"] and again["reward_cached"]
    assert again["ratios"] != first["ratios"]
    assert again["accuracy"] == first["accuracy"] and again["reward"] == first["reward"]
    assert env.unwrapped.last_timings["eval_seconds"] == 0.0
    fresh = gym.make(ENV_ID, **fast, preserve=1.0)
    fresh.reset(seed=0)
    assert _episode(fresh, [a + 1e-6 for a in actions])["accuracy"] == again["accuracy"]
    # The pruned model of a cached episode is built on demand and is the one that was scored.
    model = env.unwrapped.pruned_model
    assert model is not None
    assert env.unwrapped._resources.evaluator.accuracy(model) == again["accuracy"]


def test_info_names_the_resolved_evaluation(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast)
    env.reset(seed=0)
    info = _episode(env, [0.0] * len(env.unwrapped.units))
    assert info["precision"] == env.unwrapped.precision in ("fp32", "bf16", "fp16")
    assert info["batch_size"] == env.unwrapped.batch_size >= 1


def test_random_importance_is_not_shared_between_seeds(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, importance="random")
    env.reset(seed=0)
    actions = [0.5] * len(env.unwrapped.units)
    _episode(env, actions)
    assert not _episode(env, actions)["reward_cached"]  # a new reset draws a new channel choice


def test_lru_bound() -> None:
    cache = RewardCache(max_entries=2)
    keys = [RewardCache.key([k]) for k in range(3)]
    for index, key in enumerate(keys):
        cache.put(key, float(index))
    assert cache.get(keys[0]) is None and cache.get(keys[2]) == 2.0 and len(cache) == 2
    assert (cache.hits, cache.misses) == (1, 1)


@pytest.mark.parametrize("seeded", [True, False])
def test_seeded_reset_empties_the_cache(fast: dict, seeded: bool) -> None:
    env = gym.make(ENV_ID, **fast)
    env.reset(seed=0)
    actions = [0.0] * len(env.unwrapped.units)
    _episode(env, actions)
    env.reset(seed=0 if seeded else None)
    for action in actions:
        *_, info = env.step(np.array([action], dtype=np.float32))
    assert info["reward_cached"] is not seeded


def test_early_stopping_only_when_asked(fast: dict) -> None:
    env = gym.make(ENV_ID, **{**fast, "val_size": 64})
    env.unwrapped._resources.evaluator.batch_size = 8  # several batches, so a quarter can be scored alone
    env.reset(seed=0)
    actions = [0.0] * len(env.unwrapped.units)
    full = _episode(env, actions)
    assert not full["early_stopped"]
    env.reset(seed=0, options={"stop_below_accuracy": 100.0})
    for action in actions:
        *_, info = env.step(np.array([action], dtype=np.float32))
    assert info["early_stopped"] and not info["reward_cached"]
    env.reset(options={"stop_below_accuracy": 100.0})
    assert not _episode(env, actions)["reward_cached"]  # an estimate is never served as exact
    with pytest.raises(ValueError, match="stop_below_accuracy"):
        env.reset(options={"stop_below_accuracy": "high"})
