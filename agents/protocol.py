"""The protocol a custom agent follows to run through ``agmc search`` (:func:`agents.search.run_search`).

An agent needs two methods and nothing of this package::

    class MyAgent:
        def act(self, observation: np.ndarray) -> np.ndarray:
            '''The action for this step (the env's action space, e.g. Box(-1, 1, (1,))).'''

        def observe_episode(self, episode: Episode) -> None:
            '''Learn from a finished episode: its observations, actions, rewards, final info.'''

The runner calls ``env.reset()``, then ``act`` once per step until the episode ends, then
``observe_episode`` (see :func:`play_episode`, the whole loop). Optional members:

* ``max_episodes: int | None``: the runner stops after this many episodes (a deterministic policy
  such as the uniform baseline needs one);
* ``state_dict() -> dict`` and ``load_state_dict(state)``: picklable state, saved after every
  episode so that ``--resume`` continues where a killed search stopped. Without them a resumed
  agent restarts from its constructor's state (the episode log still resumes exactly);
* ``plan_episode(steps) -> list[np.ndarray]`` and ``episodes_to_plan() -> int | None``: an open-loop
  agent (actions that ignore the observations) plans whole episodes, up to ``episodes_to_plan()``
  (``None``: any number) before it must observe them; ``run_search(workers=N)`` then plays them on
  N env copies at once (:mod:`agents.parallel`).

``agents/cem.py`` is a complete example (the cross-entropy method); ``examples/cem_agent.py`` runs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import gymnasium as gym
import numpy as np


@dataclass
class Episode:
    """One finished episode as an agent sees it.

    Attributes:
        observations: the observation before each step.
        actions: the action of each step, as the agent returned it.
        rewards: the reward of each step (the compression env pays only at the last one).
        info: the ``info`` of the last step (ratios, accuracy, kept cost, reward, ...).
    """

    observations: list[np.ndarray] = field(default_factory=list)
    actions: list[np.ndarray] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def total_reward(self) -> float:
        return float(sum(self.rewards))

    def __len__(self) -> int:
        return len(self.actions)


@runtime_checkable
class Agent(Protocol):
    """What :func:`play_episode` and the search runner need from a custom agent."""

    def act(self, observation: np.ndarray) -> np.ndarray: ...

    def observe_episode(self, episode: Episode) -> None: ...


def check_agent(agent: object) -> None:
    """Raise ``TypeError`` naming what is missing when ``agent`` does not follow the protocol."""
    missing = [name for name in ("act", "observe_episode") if not callable(getattr(agent, name, None))]
    if missing:
        raise TypeError(f"{type(agent).__name__} is not an agent: it lacks {', '.join(missing)} (see agents.protocol)")
    saves, loads = hasattr(agent, "state_dict"), hasattr(agent, "load_state_dict")
    if saves != loads:
        raise TypeError(f"{type(agent).__name__} must define both state_dict and load_state_dict, or neither")


def play_episode(env: gym.Env, agent: Agent, seed: int | None = None) -> Episode:
    """Run one episode of ``agent`` on ``env`` with the plain Gymnasium API, then let it learn.

    Args:
        env: any Gymnasium env.
        agent: an object following :class:`Agent`.
        seed: passed to ``env.reset`` (only the first episode of a run needs one). (default: ``None``)
    """
    episode = Episode()
    observation, _ = env.reset(seed=seed)
    while True:
        action = np.asarray(agent.act(observation), dtype=np.float32)
        episode.observations.append(np.asarray(observation))
        episode.actions.append(action)
        observation, reward, terminated, truncated, info = env.step(action)
        episode.rewards.append(float(reward))
        if terminated or truncated:
            episode.info = dict(info)
            break
    agent.observe_episode(episode)
    return episode
