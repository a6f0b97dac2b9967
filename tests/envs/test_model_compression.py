"""ModelCompression-v0 against the Gymnasium and SB3 contracts (shaped like Gymnasium's test_envs.py)."""

from __future__ import annotations

import pickle
import warnings

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env, data_equivalence
from stable_baselines3.common.env_checker import check_env as sb3_check_env

ENV_ID = "agmc_env:ModelCompression-v0"

# Warnings the checkers may raise for this env, with why they are expected.
CHECK_ENV_IGNORE_WARNINGS = [
    # check_env(env.unwrapped) is called on the bare env, which has no spec.
    "Not able to test alternative render modes due to the environment not having a spec.",
    # SB3 on observation="graph": node features and edge_index are 2-D by design (a GNN agent's input).
    "has an unconventional shape (neither an image, nor a 1D vector)",
]

VARIANTS = {
    "default": {},
    "rule": {"embedding": "rule"},
    "one_shot": {"action_mode": "one_shot"},
    "params": {"target": "params"},
}


def _run_checkers(env: gym.Env) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env.unwrapped, skip_render_check=True)
        sb3_check_env(env.unwrapped, warn=True)
    unexpected = [str(w.message) for w in caught if not any(a in str(w.message) for a in CHECK_ENV_IGNORE_WARNINGS)]
    assert not unexpected, unexpected


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("variant", VARIANTS, ids=list(VARIANTS))
def test_env_checkers_real(variant: str) -> None:
    """Both checkers on the real default env (ResNet-20, CIFAR-10) and its main variants."""
    env = gym.make(ENV_ID, val_size=200, **VARIANTS[variant])
    _run_checkers(env)
    env.close()


@pytest.mark.parametrize("variant", [*VARIANTS, "graph"])
def test_env_checkers_fast(variant: str, fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, **VARIANTS.get(variant, {"observation": "graph"}))
    _run_checkers(env)
    env.close()


def _rollout(env: gym.Env, seed: int, actions: np.ndarray) -> list:
    trajectory = [env.reset(seed=seed)]
    for action in actions:
        obs, reward, terminated, truncated, info = env.step(action)
        trajectory.append((obs, reward, terminated, truncated, info))
        if terminated:
            break
    return trajectory


@pytest.mark.parametrize("importance", ["l1", "random"])
def test_seeded_determinism(importance: str, fast: dict) -> None:
    env_a = gym.make(ENV_ID, **fast, importance=importance)
    env_b = gym.make(ENV_ID, **fast, importance=importance)
    actions = np.random.default_rng(1).uniform(-1, 1, (len(env_a.unwrapped.units), 1)).astype(np.float32)
    first, second = _rollout(env_a, 7, actions), _rollout(env_b, 7, actions)
    assert data_equivalence(first, second)
    assert first[-1][2], "the episode must end after one step per unit"
    assert all(step[1] == 0.0 for step in first[1:-1]), "reward is 0 until the last step"
    # Same env, same seed, again: same trajectory (nothing leaks between episodes).
    assert data_equivalence(first, _rollout(env_a, 7, actions))
    env_a.close()
    env_b.close()


def test_pickle_round_trip(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, importance="random")
    env.reset(seed=3)
    env.step(np.array([0.5], np.float32))
    clone = pickle.loads(pickle.dumps(env))
    actions = np.full((len(env.unwrapped.units) - 1, 1), -0.3, np.float32)
    for action in actions:
        assert data_equivalence(env.step(action), clone.step(action))
    env.close()
    clone.close()
    clone.close()  # close is safe to call twice


def test_final_info_and_pruned_model(tmp_path, fast: dict) -> None:
    env = gym.make(ENV_ID, **fast)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, reward, terminated, truncated, info = env.step(np.array([0.4], np.float32))
        assert not truncated
    for key in ("ratios", "kept_macs", "kept_flops", "kept_flops_fraction", "kept_params",
                "kept_params_fraction", "accuracy", "reward", "reward_accuracy"):
        assert key in info, key
    assert info["reward"] == reward == pytest.approx(info["accuracy"] / 100)
    assert info["kept_flops"] == 2 * info["kept_macs"]
    assert info["kept_flops_fraction"] <= 0.5 + 1e-9
    from agmc_env.cost import count_cost

    pruned = env.unwrapped.pruned_model
    assert count_cost(pruned.cpu(), (3, 32, 32)).macs == info["kept_macs"]
    with pytest.raises(ValueError, match="user nn.Module"):
        env.unwrapped.save_pruned(tmp_path / "pruned")


@pytest.mark.data
@pytest.mark.parametrize("pruning", ["channel", "fine_grained"])
def test_save_pruned_round_trip(pruning: str, tmp_path) -> None:
    import torch

    from agmc_env.pruning import load_pruned

    env = gym.make(ENV_ID, val_size=100, pruning=pruning, target="params" if pruning == "fine_grained" else "flops")
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(np.array([0.1], np.float32))
    env.unwrapped.save_pruned(tmp_path / "pruned")
    model, spec = load_pruned(tmp_path / "pruned")
    assert spec["ratios"] == info["ratios"] and spec["env"]["pruning"] == pruning
    images = torch.randn(4, 3, 32, 32)
    original = env.unwrapped.pruned_model.cpu().to(memory_format=torch.contiguous_format)
    torch.testing.assert_close(model(images), original(images))


def test_render_modes(fast: dict) -> None:
    ansi = gym.make(ENV_ID, **fast, render_mode="ansi")
    ansi.reset(seed=0)
    ansi.step(np.array([0.0], np.float32))
    text = ansi.render()
    assert "layer1.0.conv1" in text and "decided 1/9" in text
    rgb = gym.make(ENV_ID, **fast, render_mode="rgb_array")
    rgb.reset(seed=0)
    frame = rgb.render()
    assert frame.dtype == np.uint8 and frame.ndim == 3 and frame.shape[2] == 3
    for env in (ansi, rgb):
        env.close()


@pytest.mark.parametrize("mode", ["sync", "async"])
def test_vector_envs(mode: str, fast: dict) -> None:
    fns = [lambda: gym.make(ENV_ID, **fast) for _ in range(2)]
    envs = gym.vector.SyncVectorEnv(fns) if mode == "sync" else gym.vector.AsyncVectorEnv(fns)
    envs.reset(seed=[0, 1])
    steps = len(RESNET20_UNITS)
    for t in range(steps):
        _, rewards, terminated, truncated, infos = envs.step(envs.action_space.sample())
        assert terminated.all() == (t == steps - 1)
    assert np.all(rewards >= 0) and "accuracy" in infos
    envs.close()


RESNET20_UNITS = [f"layer{s}.{b}.conv1" for s in (1, 2, 3) for b in range(3)]


def test_units_of_resnet20(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast)
    assert [u.name for u in env.unwrapped.units] == RESNET20_UNITS
    env.close()
