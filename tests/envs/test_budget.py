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
