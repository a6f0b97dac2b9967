"""The reward-sharing replay buffer: episodes written at their end with the shared return."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from agents.reward_sharing import SharedRewardReplayBuffer

OBS = spaces.Box(-1, 1, (2,), np.float32)
ACT = spaces.Box(-1, 1, (1,), np.float32)


def _add_episode(buffer: SharedRewardReplayBuffer, final_reward: float, length: int = 3, n_envs: int = 1) -> None:
    for t in range(length):
        done = np.full(n_envs, t == length - 1)
        reward = np.full(n_envs, final_reward if t == length - 1 else 0.0, dtype=np.float32)
        obs = np.full((n_envs, 2), t, dtype=np.float32)
        buffer.add(obs, obs + 1, np.zeros((n_envs, 1), np.float32), reward, done, [{}] * n_envs)


def test_transitions_wait_for_the_end_and_share_its_reward() -> None:
    buffer = SharedRewardReplayBuffer(100, OBS, ACT, device="cpu", baseline_alpha=0.0)
    buffer.add(np.zeros((1, 2)), np.ones((1, 2)), np.zeros((1, 1)), np.zeros(1), np.zeros(1), [{}])
    assert buffer.size() == 0 and len(buffer.pending) == 1
    buffer.reset()
    _add_episode(buffer, 0.7)
    assert buffer.size() == 3 and not buffer.pending
    np.testing.assert_allclose(buffer.rewards[:3, 0], 0.7)
    np.testing.assert_array_equal(buffer.dones[:3, 0], [0, 0, 1])


def test_sample_subtracts_a_moving_average_baseline() -> None:
    buffer = SharedRewardReplayBuffer(100, OBS, ACT, device="cpu", baseline_alpha=0.5)
    _add_episode(buffer, 1.0)
    first = buffer.sample(8)
    np.testing.assert_allclose(first.rewards.numpy(), 0.0, atol=1e-6)  # the baseline starts at the batch mean
    _add_episode(buffer, 3.0)
    buffer.sample(64)
    assert 1.0 < buffer.baseline < 3.0


def test_parallel_episodes_must_end_together() -> None:
    buffer = SharedRewardReplayBuffer(100, OBS, ACT, device="cpu", n_envs=2)
    _add_episode(buffer, 0.5, n_envs=2)
    assert buffer.size() == 3
    with pytest.raises(ValueError, match="same step"):
        buffer.add(np.zeros((2, 2)), np.zeros((2, 2)), np.zeros((2, 1)), np.zeros(2), np.array([True, False]), [{}, {}])


def test_bad_alpha() -> None:
    with pytest.raises(ValueError, match="baseline_alpha"):
        SharedRewardReplayBuffer(10, OBS, ACT, baseline_alpha=2.0)
