"""SB3 factories: tiny learn of every algorithm (like SB3's tests/test_run.py), AMC defaults."""

from __future__ import annotations

import gymnasium as gym
import pytest

from agents.noise import AMCNoise
from agents.reward_sharing import SharedRewardReplayBuffer
from agents.sb3_agents import make_ddpg, make_ppo, make_sac, make_td3, steps_per_episode

EPISODE = 10


@pytest.fixture
def env() -> gym.Env:
    return gym.make("Pendulum-v1", max_episode_steps=EPISODE)


@pytest.mark.parametrize("factory", [make_ddpg, make_td3, make_sac, make_ppo])
def test_tiny_learn(env: gym.Env, factory) -> None:
    extra = {"episodes_per_update": 2} if factory is make_ppo else {"warmup_episodes": 1}
    model = factory(env, seed=0, policy_kwargs={"net_arch": [16]}, **extra)
    model.learn(4 * EPISODE)
    assert model.num_timesteps == 4 * EPISODE


@pytest.mark.parametrize("factory", [make_ddpg, make_td3])
def test_amc_defaults_and_separate_learning_rates(env: gym.Env, factory) -> None:
    model = factory(env, seed=0, warmup_episodes=2)
    assert model.learning_starts == 2 * EPISODE
    assert model.buffer_size == 100 * EPISODE
    assert (model.batch_size, model.tau, model.gamma) == (64, 0.01, 1.0)
    assert (model.train_freq.frequency, model.train_freq.unit.value) == (1, "episode")
    assert isinstance(model.replay_buffer, SharedRewardReplayBuffer)
    assert isinstance(model.action_noise, AMCNoise) and model.action_noise.warmup_episodes == 2
    assert [layer.out_features for layer in model.actor.mu if hasattr(layer, "out_features")][:2] == [300, 300]
    model.learn(2 * EPISODE)
    model.learn(EPISODE, reset_num_timesteps=False)  # the search runner learns episode by episode
    model.learn(EPISODE, reset_num_timesteps=False)
    assert model.action_noise.episodes == model._episode_num == 4  # learn() restarts do not count
    assert model.actor.optimizer.param_groups[0]["lr"] == pytest.approx(1e-4)
    assert model.critic.optimizer.param_groups[0]["lr"] == pytest.approx(1e-3)


def test_every_default_is_overridable(env: gym.Env) -> None:
    model = make_ddpg(env, seed=0, warmup_episodes=0, batch_size=8, gamma=0.9, critic_learning_rate=None, action_noise=None)
    assert (model.batch_size, model.gamma, model.action_noise, model.learning_starts) == (8, 0.9, None, 0)
    model.learn(EPISODE)


def test_bad_warmup_and_unknown_length() -> None:
    with pytest.raises(ValueError, match="warmup_episodes"):
        make_ddpg(gym.make("Pendulum-v1", max_episode_steps=5), warmup_episodes=-1)
    with pytest.raises(ValueError, match="episode length"):
        steps_per_episode(gym.make("Pendulum-v1", max_episode_steps=None).unwrapped)
