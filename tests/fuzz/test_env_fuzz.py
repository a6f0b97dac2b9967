"""Fuzzing ``ModelCompression-v0``: hostile options at construction, hostile actions during episodes.

Property: the env is built (and then plays an episode inside its budget), or it raises an error of
the project's hierarchy (:mod:`agmc_env.errors`) whose message names the offending option; an
action is taken, or refused with a ``ConfigError`` naming the action space, the episode unchanged.
Never another exception, never a hang (each case under ``CASE_LIMIT`` seconds).
"""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agmc_env.envs import ModelCompressionEnv
from agmc_env.envs.config import option_check, option_names
from agmc_env.errors import AgmcError, ConfigError
from tests.fuzz.harness import Tally, examples, time_limit
from tests.fuzz.strategies import FAST_MODELS, actions, hostile_values, modules

ENV_ID = "agmc_env:ModelCompression-v0"
# A random ResNet-20 on 16 random images: no file, about a tenth of a second an episode.
BASE = {"model": "resnet20", "pretrained": False, "dataset": "synthetic", "val_size": 16, "device": "cpu"}
UNKNOWN = ("valsize", "learning_rate", "")
# Options whose valid values set the work (they get small or invalid values only).
SMALL = {
    "val_size": st.sampled_from([0, -1, 1, 2, 16, 33, 10**9, 2**63, 1.5, math.nan, "16", None, True, np.int64(8)]),
    "input_size": st.sampled_from([
        (3, 32, 32), [3, 16, 16], (3, 2, 2), (3, 64, 64), (1, 32, 32), (3, 32, 16), (0, 32, 32), (-3, 32, 32),
        (3, 5000, 5000), (3.0, 32, 32), ("3", 32, 32), (3, 32), (3, 32, 32, 1), "3x32x32", None, (True, 32, 32),
        (np.int64(3), 32, 32), (3, math.nan, 32),
    ]),  # fmt: skip
}


def _paths(tmp: str) -> st.SearchStrategy[str]:
    # Only the case's own folder is ever written to (cache_dir); system paths are read-only options.
    return st.sampled_from(
        [f"{tmp}/new", f"{tmp}/a_file", f"{tmp}/a_file/below", f"{tmp}", "", "\x00", "/proc/definitely/not/here"]
    )


def option_values(name: str, tmp: str) -> st.SearchStrategy[Any]:
    """Valid and hostile values of env option ``name``."""
    if name in SMALL:
        return SMALL[name]
    if name == "model":
        return st.one_of(st.sampled_from(FAST_MODELS), modules(), hostile_values)
    if name in ("data_dir", "cache_dir", "weights_path"):
        return st.one_of(_paths(tmp), hostile_values) if name != "cache_dir" else _paths(tmp)
    if name == "reward":
        custom = [lambda r: 0.5, lambda r: math.nan, lambda r: "high", lambda r: None]
        return st.one_of(st.sampled_from(custom), st.sampled_from(option_check(name).choices), hostile_values)
    check = option_check(name) if name in option_names() else None
    choices = getattr(check, "choices", None)
    valid = st.sampled_from(choices) if choices else st.floats(0.05, 1.0)
    return st.one_of(valid, hostile_values)


def _names_offender(error: BaseException, options: dict[str, Any]) -> bool:
    """Whether ``error`` names one of the drawn options (by name, or by its value for a path or module)."""
    message = str(error)
    if getattr(error, "option", None) in options or any(name and name in message for name in options):
        return True
    for value in options.values():
        if isinstance(value, str) and value and value in message:
            return True
        if hasattr(value, "forward") and type(value).__name__ in message:  # a user module by class
            return True
    return False


def _make(options: dict[str, Any]) -> gym.Env:
    # gym.make reads render_mode itself before the env sees it (and fails on a non-string there, in
    # Gymnasium's code): such values go to the env's constructor directly.
    if isinstance(options.get("render_mode"), (str, type(None))):
        return gym.make(ENV_ID, **options, disable_env_checker=True)
    return ModelCompressionEnv(**options)


def _play(env: gym.Env) -> dict:
    env.reset(seed=0)
    terminated, steps = False, 0
    while not terminated:
        _, reward, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        assert not truncated and steps <= env.unwrapped.episode_length
    assert math.isfinite(reward)
    return info


@pytest.fixture(scope="module")
def case_dir(tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("env-fuzz")
    (folder / "a_file").write_text("not a folder")
    return str(folder)


@settings(max_examples=examples(25))
@given(data=st.data())
def test_hostile_options_build_a_working_env_or_name_the_option(data: st.DataObject, case_dir: str, tally: Tally) -> None:
    names = data.draw(st.lists(st.sampled_from((*option_names(), "preset", *UNKNOWN)), min_size=1, max_size=3, unique=True))
    options = {name: data.draw(option_values(name, case_dir), label=name) for name in names}
    with tally.case("env options") as outcome, time_limit():
        try:
            env = _make({**BASE, **options})
        except AgmcError as error:
            outcome[type(error).__name__] += 1
            assert _names_offender(error, options), f"{type(error).__name__} names none of {list(options)}: {error}"
            return
        try:
            info = _play(env)
        except AgmcError as error:  # what only a step can tell: a reward callable returning NaN
            outcome[f"{type(error).__name__} in an episode"] += 1
            assert _names_offender(error, options), f"{type(error).__name__} names none of {list(options)}: {error}"
            return
        finally:
            env.close()
        outcome["built and played"] += 1
        config = env.unwrapped.config
        kept = info["kept_flops_fraction"] if config.target == "flops" else info["kept_params_fraction"]
        assert kept <= config.preserve + 1e-6  # every episode ends inside the budget


@pytest.fixture(scope="module", params=["per_layer", "one_shot"])
def action_env(request: pytest.FixtureRequest) -> gym.Env:
    env = gym.make(ENV_ID, **BASE, action_mode=request.param, disable_env_checker=True)
    yield env
    env.close()


@settings(max_examples=examples(15))
@given(data=st.data())
def test_hostile_actions_are_taken_or_refused_without_harm(data: st.DataObject, action_env: gym.Env, tally: Tally) -> None:
    env = action_env.unwrapped
    width = env.action_space.shape[0]
    env.reset(seed=data.draw(st.integers(0, 2**32 - 1), label="seed"))
    terminated, draws = False, 0
    with tally.case("env actions") as outcome, time_limit():
        while not terminated and draws < 12:
            action = data.draw(actions(width), label=f"action {draws}")
            draws += 1
            before = env.policy()
            try:
                _, _, terminated, _, info = env.step(action)
            except ConfigError as error:
                outcome[type(error).__name__] += 1
                assert isinstance(error, (TypeError, ValueError)) and "action" in str(error)
                assert "action space" in str(error) and env.policy() == before
                continue
            outcome["taken"] += 1
            assert all(0.0 <= r <= env.budget_wall.max_ratio + 1e-9 for r in env.policy())
        while not terminated:  # the episode still ends well after any refused action
            _, _, terminated, _, info = env.step(np.zeros(width, np.float32))
        assert env.budget_wall.within_budget(info["ratios"])
