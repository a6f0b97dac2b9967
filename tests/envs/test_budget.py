"""Every action sequence, random or extreme, ends inside the budget (the action wall's promise)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agmc_env.cost import count_cost

ENV_ID = "agmc_env:ModelCompression-v0"
UNITS = 9  # ResNet-20's inner units
actions = st.lists(
    st.one_of(st.floats(-3.0, 3.0, allow_nan=False), st.sampled_from([-1.0, 1.0, 0.0])),
    min_size=UNITS,
    max_size=UNITS,
)
SETTINGS = settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _kept_fraction(info: dict, target: str) -> float:
    return info["kept_flops_fraction"] if target == "flops" else info["kept_params_fraction"]


@pytest.mark.parametrize("target, preserve", [("flops", 0.5), ("flops", 0.25), ("params", 0.4)])
@given(values=actions)
@SETTINGS
def test_per_layer_sequences_end_within_budget(values: list[float], target: str, preserve: float, fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, target=target, preserve=preserve, disable_env_checker=True)
    env.reset(seed=0)
    for value in values:
        _, _, terminated, _, info = env.step(np.array([value], np.float32))
    assert terminated
    assert _kept_fraction(info, target) <= preserve + 1e-9
    assert all(0.0 <= r <= 0.8 for r in info["ratios"])
    assert info["budget_met"] is True  # and by how much, in the target's terms
    assert info["budget_slack"] == pytest.approx(preserve - _kept_fraction(info, target), abs=1e-12)
    assert info["budget_slack"] >= 0.0


@given(values=actions)
@SETTINGS
def test_one_shot_vectors_end_within_budget(values: list[float], fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, action_mode="one_shot", disable_env_checker=True)
    env.reset(seed=0)
    _, _, terminated, _, info = env.step(np.array(values, np.float32))
    assert terminated and info["kept_flops_fraction"] <= 0.5 + 1e-9


@pytest.mark.data
@pytest.mark.parametrize("value", [-1.0, 1.0, 0.0])
def test_real_resnet20_extremes(value: float) -> None:
    """The real model and data: the reported cost is the counted cost of the pruned model."""
    env = gym.make(ENV_ID, val_size=100)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(np.array([value], np.float32))
    assert info["kept_flops_fraction"] <= 0.5 + 1e-9
    counted = count_cost(env.unwrapped.pruned_model.cpu(), (3, 32, 32))
    assert (counted.macs, counted.params) == (info["kept_macs"], info["kept_params"])


@pytest.mark.parametrize("fill_budget", ["give_back", "two_sided"])
def test_filled_episodes_end_near_the_budget(fill_budget: str, fast: dict) -> None:
    """Actions that over-prune: the one-sided wall ends far below the budget, both fills near it."""
    infos = {}
    for mode in ("none", fill_budget):
        env = gym.make(ENV_ID, **fast, fill_budget=mode, disable_env_checker=True)
        env.reset(seed=0)
        terminated = False
        while not terminated:
            _, _, terminated, _, infos[mode] = env.step(np.array([1.0], np.float32))
    assert infos["none"]["kept_flops_fraction"] < 0.4 and infos["none"]["budget_filled"] == 0.0
    filled = infos[fill_budget]
    assert 0.45 < filled["kept_flops_fraction"] <= 0.5
    assert infos["none"]["budget_slack"] > 0.1 and 0.0 <= filled["budget_slack"] < 0.05  # filling uses the slack
    if fill_budget == "give_back":
        assert filled["policy_ratios"] == infos["none"]["ratios"] != filled["ratios"]
        assert filled["budget_filled"] == pytest.approx(filled["kept_flops_fraction"] - infos["none"]["kept_flops_fraction"])


def test_observation_carries_rest(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, disable_env_checker=True)
    obs, _ = env.reset(seed=0)
    rests = [obs[-2]]
    terminated = False
    while not terminated:
        obs, _, terminated, _, _ = env.step(np.array([0.0], np.float32))
        rests.append(obs[-2])
    assert rests[0] > 0.3 and rests[-1] == rests[-2] == 0.0 and all(a >= b for a, b in zip(rests, rests[1:]))


@pytest.mark.parametrize("target, preserve", [("flops", 0.5), ("params", 0.4)])
def test_budget_slack_is_negative_over_budget(target: str, preserve: float, fast: dict) -> None:
    wall = gym.make(ENV_ID, **fast, target=target, preserve=preserve, disable_env_checker=True).unwrapped.budget_wall
    unpruned = [0.0] * UNITS
    assert not wall.within_budget(unpruned)
    assert wall.slack(unpruned) == pytest.approx(preserve - 1.0)  # the unpruned model keeps all of its cost
    assert wall.within_budget([0.8] * UNITS) and wall.slack([0.8] * UNITS) > 0.0
