"""AMC exploration noise: truncated normal, decay after warm-up, checkpointable state."""

from __future__ import annotations

import json

import numpy as np
import pytest

from agents.noise import AMCNoise


def _episode(noise: AMCNoise) -> None:
    noise.perturb(np.zeros(1))
    noise.reset()


def test_sigma_decays_only_after_warmup() -> None:
    noise = AMCNoise(sigma=0.5, decay=0.95, warmup_episodes=3)
    for _ in range(3):
        _episode(noise)
    assert noise.sigma == pytest.approx(0.5)
    _episode(noise)
    noise.reset()  # no draw since the last reset (SB3 resets at every learn()): not an episode
    _episode(noise)
    assert noise.sigma == pytest.approx(0.5 * 0.95**2)
    assert noise.scale == pytest.approx(noise.sigma * 2.0)  # range of [-1, 1]


def test_perturb_stays_in_bounds_and_centres_on_action() -> None:
    noise = AMCNoise(action_dim=1, sigma=0.05, seed=0)
    samples = np.array([noise.perturb(np.array([0.9]))[0] for _ in range(2000)])
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    assert not np.any(samples == 1.0)  # truncated, not clipped onto the bound
    assert abs(np.median(samples) - 0.9) < 0.05
    wide = np.array([noise.perturb(np.array([-1.0])) for _ in range(200)])
    assert wide.min() >= -1.0


def test_call_gives_zero_mean_noise_of_the_action_shape() -> None:
    noise = AMCNoise(action_dim=3, sigma=0.1, seed=1)
    draws = np.stack([noise() for _ in range(500)])
    assert draws.shape == (500, 3) and draws.dtype == np.float32
    assert np.abs(draws.mean(axis=0)).max() < 0.05


def test_state_round_trip_is_json_safe_and_replays_the_stream() -> None:
    noise = AMCNoise(sigma=0.5, warmup_episodes=1, seed=3)
    _episode(noise)
    _episode(noise)
    state = json.loads(json.dumps(noise.state_dict()))
    expected = [noise.perturb(np.zeros(1)) for _ in range(5)]
    other = AMCNoise(sigma=0.5, warmup_episodes=1, seed=99)
    other.load_state_dict(state)
    assert other.episodes == 2 and other.sigma == noise.sigma
    np.testing.assert_array_equal(np.stack(expected), np.stack([other.perturb(np.zeros(1)) for _ in range(5)]))


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"sigma": 0}, "sigma"), ({"decay": 1.5}, "decay"), ({"warmup_episodes": -1}, "warmup"), ({"low": 1}, "low"),
        ({"total_episodes": 0}, "total_episodes"), ({"total_episodes": 10, "final_sigma": 0.9}, "final_sigma"),
    ],  # fmt: skip
)
def test_bad_arguments_name_the_parameter(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        AMCNoise(**kwargs)


@pytest.mark.parametrize("total, warmup", [(30, 10), (300, 20), (12, 10)])
def test_decay_reaches_the_floor_at_the_last_episode(total: int, warmup: int) -> None:
    noise = AMCNoise(sigma=0.5, warmup_episodes=warmup, total_episodes=total, final_sigma=0.05, seed=0)
    widths = []
    for episode in range(total + 5):
        noise.episodes = episode  # SB3's episode counter, as the agents set it
        widths.append(noise.sigma)
    assert widths[warmup] == pytest.approx(0.5)
    assert widths[total - 1] == pytest.approx(0.05)
    assert all(a >= b for a, b in zip(widths, widths[1:])) and min(widths) == pytest.approx(0.05)


def test_decay_survives_a_resume() -> None:
    """The decay comes from the constructor and the episode count from the checkpointed state."""
    noise = AMCNoise(warmup_episodes=2, total_episodes=40, seed=1)
    for _ in range(12):
        _episode(noise)
    resumed = AMCNoise(warmup_episodes=2, total_episodes=40, seed=5)
    resumed.load_state_dict(json.loads(json.dumps(noise.state_dict())))
    assert resumed.sigma == noise.sigma < 0.5
