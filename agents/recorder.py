"""A wrapper that hands every finished episode to the search runner before anything resets the env.

SB3 drives its env through a ``VecEnv`` that resets an env the moment its episode ends, which
would drop the pruned model the runner wants to save. :class:`EpisodeRecorder` sits inside the
``VecEnv`` and calls ``on_episode_end(info, env)`` at the last step, while ``env.unwrapped`` still
holds the episode's pruned model. It also remembers the env's random state before each reset, so a
resumed search can replay the reset exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import gymnasium as gym
from gymnasium.utils import seeding

EpisodeHook = Callable[[dict[str, Any], gym.Env], None]


class EpisodeRecorder(gym.Wrapper):
    """Call ``on_episode_end(info, env)`` when an episode terminates or is truncated.

    Args:
        env: the env to record.
        on_episode_end: called with the final ``info`` and this wrapper. (default: ``None``)

    Attributes:
        rng_state: the state of ``env.unwrapped.np_random`` just before the latest reset drew from
            it (with a seed: the state that seed gives).
    """

    def __init__(self, env: gym.Env, on_episode_end: EpisodeHook | None = None) -> None:
        super().__init__(env)
        self.on_episode_end = on_episode_end
        self.rng_state: dict[str, Any] | None = None

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        generator = seeding.np_random(seed)[0] if seed is not None else self.env.unwrapped.np_random
        self.rng_state = copy.deepcopy(generator.bit_generator.state)
        return self.env.reset(seed=seed, options=options)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        observation, reward, terminated, truncated, info = self.env.step(action)
        if (terminated or truncated) and self.on_episode_end is not None:
            self.on_episode_end(info, self)
        return observation, reward, terminated, truncated, info

    def set_rng_state(self, state: dict[str, Any]) -> None:
        """Put ``env.unwrapped.np_random`` into ``state`` (one :attr:`rng_state` recorded earlier)."""
        generator = seeding.np_random(0)[0]
        generator.bit_generator.state = copy.deepcopy(state)
        self.env.unwrapped.np_random = generator
