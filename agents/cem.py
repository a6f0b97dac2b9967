"""A cross-entropy-method agent on the plain Gymnasium API (``agmc search --agent cem``).

The compression env visits the same units in the same order every episode, so an open-loop policy
(one action per step, whatever the observation) is enough: CEM keeps a Gaussian over the episode's
action sequence, samples ``population`` sequences, and refits the Gaussian to the best
``elite_fraction`` of them. The agent follows :mod:`agents.protocol` (``act`` / ``observe_episode``,
plus ``state_dict`` / ``load_state_dict`` for resumable searches) and imports nothing but NumPy,
Gymnasium and the option checks of ``agmc_env``. ``examples/cem_agent.py`` runs it as a stand-alone script.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agmc_env.checks import Fraction, Integer


class CEMAgent:
    """Cross-entropy method over open-loop action sequences.

    Args:
        action_space: the env's ``Box`` action space (values are clipped into it).
        seed: seed of the agent's generator. (default: ``0``)
        population: sequences per generation. (default: ``8``)
        elite_fraction: fraction kept to refit the Gaussian. (default: ``0.25``)
        initial_std: initial standard deviation, in action units. (default: ``0.5``)
        min_std: floor of the standard deviation, to keep exploring. (default: ``0.05``)
    """

    max_episodes = None

    def __init__(
        self,
        action_space: gym.spaces.Box,
        seed: int | None = 0,
        population: int = 8,
        elite_fraction: float = 0.25,
        initial_std: float = 0.5,
        min_std: float = 0.05,
    ) -> None:
        population = Integer(2)("population", population)
        elite_fraction = Fraction(0.0, 1.0, include_high=True)("elite_fraction", elite_fraction)
        self.low, self.high = action_space.low, action_space.high
        self.population, self.initial_std, self.min_std = population, initial_std, min_std
        self.elites = max(1, round(elite_fraction * population))
        self.rng = np.random.default_rng(seed)
        self.mean: list[np.ndarray] = []  # per step, grown on the first episode
        self.std: list[np.ndarray] = []
        self.step = 0
        self.generation: list[tuple[float, np.ndarray]] = []  # (return, action sequence)

    def act(self, observation: np.ndarray) -> np.ndarray:
        if self.step == len(self.mean):  # first visit of this step: start at the middle of the range
            self.mean.append((self.low + self.high) / 2.0)
            self.std.append(np.full_like(self.low, self.initial_std))
        action = self.rng.normal(self.mean[self.step], self.std[self.step])
        self.step += 1
        return np.clip(action, self.low, self.high).astype(np.float32)

    def plan_episode(self, steps: int) -> list[np.ndarray]:
        """The actions of a whole episode, the draws ``act`` would make (open loop: see :mod:`agents.parallel`)."""
        actions = [self.act(None) for _ in range(steps)]
        self.step = 0
        return actions

    def episodes_to_plan(self) -> int | None:
        """Episodes left in this generation: the Gaussian is refitted after them."""
        return self.population - len(self.generation)

    def observe_episode(self, episode: Any) -> None:
        self.step = 0
        self.generation.append((episode.total_reward, np.stack(episode.actions)))
        if len(self.generation) < self.population:
            return
        self.generation.sort(key=lambda item: item[0], reverse=True)
        elite = np.stack([actions for _, actions in self.generation[: self.elites]])
        self.mean = list(elite.mean(axis=0))
        self.std = list(np.maximum(elite.std(axis=0), self.min_std))
        self.generation = []

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "mean": self.mean, "std": self.std, "generation": self.generation}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.mean, self.std, self.generation = state["mean"], state["std"], state["generation"]
        self.step = 0


def make_agent(env: gym.Env, seed: int, **options: Any) -> CEMAgent:
    """What the search runner calls to build the agent once the env exists."""
    return CEMAgent(env.action_space, seed=seed, **options)
