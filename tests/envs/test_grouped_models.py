"""Random action sequences on the grouped-conv models (ResNeXt-50, RegNet-Y-400MF): every episode
ends inside the budget, and the cost the env reports is the counted cost of the model it pruned."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agmc_env.cost import count_cost

ENV_ID = "agmc_env:ModelCompression-v0"
SIZE = (3, 64, 64)
# Random weights on random images at 64x64, AMC's rule features (no embedding to train): seconds.
OPTIONS = {"pretrained": False, "dataset": "synthetic", "input_size": SIZE, "val_size": 8, "embedding": "rule",
           "device": "cpu", "precision": "fp32"}  # fmt: skip
_ENVS: dict[str, gym.Env] = {}


def _env(model: str) -> gym.Env:
    if model not in _ENVS:  # one env per model for every example (hypothesis reruns the test body)
        _ENVS[model] = gym.make(ENV_ID, model=model, **OPTIONS, disable_env_checker=True)
    return _ENVS[model]


@pytest.mark.parametrize("model", ["tv_resnext50_32x4d", "tv_regnet_y_400mf"])
@settings(max_examples=10, deadline=None)
@given(data=st.data())
def test_random_episodes_end_within_budget_and_cost_what_is_counted(model: str, data: st.DataObject) -> None:
    env = _env(model)
    units = env.unwrapped.num_units
    # Any action in [-1, 1], the extremes included: the wall must hold for all of them.
    action = st.one_of(st.floats(-1.0, 1.0), st.sampled_from([-1.0, 1.0]))
    actions = data.draw(st.lists(action, min_size=units, max_size=units), label="actions")
    env.reset(seed=0)
    wall = env.unwrapped.budget_wall
    terminated, info = False, {}
    for action in actions:
        _, _, terminated, _, info = env.step(np.array([action], np.float32))
    assert terminated
    assert info["kept_flops_fraction"] <= wall.preserve + 1e-9
    counted = count_cost(env.unwrapped.pruned_model.cpu(), SIZE)
    assert (counted.macs, counted.params) == (info["kept_macs"], info["kept_params"])
    assert env.unwrapped.cost_model.cost(info["ratios"]) == counted
    grouped = [u for u in env.unwrapped.units if getattr(u, "channel_groups", 1) > 1]
    assert grouped  # the grouped convs are units of their own
