"""Non-learning baselines, written against the agent protocol (:mod:`agents.protocol`).

* :class:`UniformAgent`: one pruning ratio for every unit, the smallest that meets the budget,
  solved by bisection on the env's exact cost model (so the budget is hit as closely as channel
  rounding allows). With L1 channel selection it is the paper's "handcrafted" baseline.
* :class:`RandomSearchAgent`: uniform random actions, pushed through the env's budget wall; the
  search runner keeps the best of its episodes.

The learning agents ``amc`` (DDPG on AMC's rule-based features) and ``agmc`` (DDPG on the learned
graph embedding) are SB3 agents: see :mod:`agents.registry` for every name ``agmc search`` accepts.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from agents.protocol import Episode


def _wall(env: gym.Env) -> Any:
    wall = getattr(env.unwrapped, "budget_wall", None)
    if wall is None:
        raise ValueError("the uniform baseline needs the compression env (ModelCompression-v0): no budget_wall")
    return wall


def uniform_ratio(env: gym.Env, tolerance: float = 1e-7) -> float:
    """The smallest ratio that, given to every unit, keeps the target cost within the budget.

    Args:
        env: a ``ModelCompression-v0`` env (possibly wrapped).
        tolerance: width of the final bisection interval. (default: ``1e-7``)
    """
    wall = _wall(env)
    units = wall.num_units

    def within(ratio: float) -> bool:
        return wall.within_budget([ratio] * units)

    if within(0.0):
        return 0.0
    low, high = 0.0, wall.max_ratio  # the wall's constructor checked that max_ratio meets the budget
    while high - low > tolerance:
        middle = 0.5 * (low + high)
        low, high = (low, middle) if within(middle) else (middle, high)
    return high


class UniformAgent:
    """The same pruning ratio for every unit, solved to meet the budget exactly.

    Deterministic: one episode says everything, so ``max_episodes`` is 1.

    Args:
        env: the ``ModelCompression-v0`` env it will act in.
    """

    max_episodes = 1

    def __init__(self, env: gym.Env) -> None:
        self.ratio = uniform_ratio(env)
        max_ratio = _wall(env).max_ratio
        # The env maps an action a in [-1, 1] to the ratio (a + 1) / 2 * max_ratio.
        value = 2.0 * self.ratio / max_ratio - 1.0
        self._action = np.full(env.action_space.shape, value, dtype=np.float32)

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self._action.copy()

    def plan_episode(self, steps: int) -> list[np.ndarray]:
        """The actions of a whole episode (open loop: see :mod:`agents.parallel`)."""
        return [self.act(None) for _ in range(steps)]

    def episodes_to_plan(self) -> int | None:
        return None  # nothing to learn: any number

    def observe_episode(self, episode: Episode) -> None:
        pass

    def __repr__(self) -> str:
        return f"UniformAgent(ratio={self.ratio:.6f})"


class RandomSearchAgent:
    """Uniform random actions in ``[-1, 1]``; the env's budget wall keeps each episode in budget.

    Args:
        env: the env it will act in (only its action shape is used).
        seed: seed of the agent's generator. (default: ``0``)
    """

    max_episodes = None

    def __init__(self, env: gym.Env, seed: int | None = 0) -> None:
        self.shape = env.action_space.shape
        self._rng = np.random.default_rng(seed)
        self.best: Episode | None = None

    def act(self, observation: np.ndarray) -> np.ndarray:
        return self._rng.uniform(-1.0, 1.0, self.shape).astype(np.float32)

    def plan_episode(self, steps: int) -> list[np.ndarray]:
        """The actions of a whole episode, the draws ``act`` would make (open loop: see :mod:`agents.parallel`)."""
        return [self.act(None) for _ in range(steps)]

    def episodes_to_plan(self) -> int | None:
        return None  # it learns nothing between episodes: any number

    def observe_episode(self, episode: Episode) -> None:
        if self.best is None or episode.total_reward > self.best.total_reward:
            self.best = episode

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self._rng.bit_generator.state, "best": self.best}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._rng.bit_generator.state = state["rng"]
        self.best = state["best"]
