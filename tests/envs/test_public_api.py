"""The env's documented public surface, and zoo models with random weights (no file at all)."""

from __future__ import annotations

import re
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

import agmc_env.models
from agmc_env.envs.model_compression import ModelCompressionEnv
from agmc_env.envs.resources import clear_caches
from agmc_env.models import get_model
from agmc_env.pruning import load_pruned

ENV_ID = "agmc_env:ModelCompression-v0"
ROOT = Path(__file__).resolve().parents[2]
# A zoo model with random weights on random images: nothing is read from disk.
NO_FILES = {"model": "resnet20", "dataset": "synthetic", "pretrained": False, "val_size": 32, "device": "cpu"}


def _documented_members() -> set[str]:
    section = ModelCompressionEnv.__doc__.split("## Public API")[1].split("## Arguments")[0]
    return {name.removesuffix("(path)").removesuffix("()") for name in re.findall(r"^\s*\| `([^`]+)`", section, re.M)}


def _play(env: gym.Env, value: float = 0.3) -> dict:
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(np.full(env.action_space.shape, value, np.float32))
    return info


def test_every_documented_member_exists_and_properties_are_read_only(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast).unwrapped
    for name in _documented_members():
        assert hasattr(env, name), name
    for name in ("config", "units", "unit_names", "num_units", "episode_length", "budget_wall", "cost_model"):
        with pytest.raises(AttributeError):
            setattr(env, name, None)


def test_public_members_describe_the_episode(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast).unwrapped
    assert env.num_units == len(env.units) == len(env.unit_names) == env.episode_length == 9
    assert env.unit_names == [unit.name for unit in env.units]
    env.reset(seed=0)
    assert env.policy() == []
    env.step(np.zeros(1, np.float32))
    assert len(env.policy()) == 1
    info = _play(env)
    assert env.policy() == info["ratios"] and env.budget_wall.within_budget(env.policy())
    one_shot = gym.make(ENV_ID, **fast, action_mode="one_shot").unwrapped
    assert one_shot.episode_length == 1 and one_shot.action_space.shape == (one_shot.num_units,)


def test_agents_and_benchmarks_use_only_the_public_surface() -> None:
    # Gymnasium's own members are public too; anything else of env.unwrapped must be documented.
    public = _documented_members() | {"np_random", "action_space", "observation_space", "spec", "render_mode"}
    for path in [*ROOT.glob("agents/*.py"), *ROOT.glob("benchmarks/**/*.py"), *ROOT.glob("examples/*.py")]:
        used = set(re.findall(r"unwrapped\.(\w+)", path.read_text()))
        assert used <= public, f"{path.relative_to(ROOT)} uses {sorted(used - public)} of the env"


def test_zoo_model_without_weights_needs_no_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    def no_files(*args, **kwargs):
        raise AssertionError("a file was looked for")

    monkeypatch.setattr(agmc_env.models, "locate", no_files)  # finds or downloads weights
    clear_caches()  # build the model here, not from an earlier test's cache
    env = gym.make(ENV_ID, **NO_FILES)
    info = _play(env)
    assert 0.0 <= info["accuracy"] <= 100.0
    env.unwrapped.save_pruned(tmp_path / "pruned")
    model, spec = load_pruned(tmp_path / "pruned")
    assert spec["env"]["pretrained"] is False and spec["ratios"] == info["ratios"]
    images = torch.randn(4, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(model(images), env.unwrapped.pruned_model.cpu()(images))


def test_random_weights_are_the_same_in_every_process() -> None:
    state = torch.random.get_rng_state()
    first = get_model("resnet20", pretrained=False, init_seed=0).state_dict()
    second = get_model("resnet20", pretrained=False, init_seed=0).state_dict()
    assert torch.equal(state, torch.random.get_rng_state())  # the caller's stream is left alone
    assert all(torch.equal(first[key], second[key]) for key in first)
