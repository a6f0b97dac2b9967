"""Parallel episodes for open-loop agents (random, CEM, uniform): ``run_search(workers=N)``.

An open-loop agent's actions do not depend on the observations, so it can plan whole episodes
before any is played (``plan_episode(steps)``), as many at a time as it can before it must learn
(``episodes_to_plan()``: CEM, the rest of its generation). :class:`ParallelDriver` plays each batch of
plans on ``N`` copies of the env in a :class:`gymnasium.vector.AsyncVectorEnv` (one process each),
then hands the episodes back in order, exactly as the serial driver would have:

* each copy's random generator is set to the state the serial env would have had at that
  episode's reset (the env's only randomness is one draw per reset, the channel-importance seed),
  so every copy prunes, re-calibrates and scores exactly what the serial run does;
* the search's own env resets once per planned episode (cheap: no pruning), so its generator, and
  with it the checkpoint, advances as in the serial run;
* the runner's bookkeeping sees each episode in order; a new best episode is replayed on the
  search's env (``env.unwrapped.replay``) only when its model is saved.

Same seed, same episodes as ``workers=1`` (``episodes.jsonl`` equal but for ``seconds`` and
``reward_cached``: each copy has its own reward cache). A checkpoint is written after each batch.
The copies are forked from the search's process, or spawned where CUDA is in use (a script calling
``run_search(workers=N)`` on a GPU then needs the usual ``if __name__ == "__main__":`` guard).
"""

from __future__ import annotations

import copy
import functools
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium.utils import seeding

from agents.drivers import ProtocolDriver
from agents.protocol import Episode
from agents.recorder import EpisodeRecorder
from agmc_env.errors import ConfigError

ENV_ID = "agmc_env:ModelCompression-v0"


class _PlanPlayer(gym.Wrapper):
    """A worker's env: plays the plan set in :attr:`plan` (a random state and an action sequence)."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.plan: tuple[dict, list[np.ndarray]] | None = None

    def play_plan(self) -> tuple[list[np.ndarray], list[float], dict[str, Any]] | None:
        if self.plan is None:  # an idle copy in a short batch
            return None
        state, actions = self.plan
        generator = seeding.np_random(0)[0]
        generator.bit_generator.state = copy.deepcopy(state)
        self.env.unwrapped.np_random = generator
        observation, _ = self.env.reset()
        observations, rewards = [], []
        for action in actions:
            observations.append(np.asarray(observation))
            observation, reward, terminated, truncated, info = self.env.step(action)
            rewards.append(float(reward))
            if terminated or truncated:
                return observations, rewards, dict(info)
        raise RuntimeError(f"the episode did not end after its {len(actions)} planned steps")


def _context() -> str:
    """``fork`` (what PyTorch's DataLoader workers use: no re-import, no ``__main__`` guard needed), but
    ``spawn`` once CUDA is initialised here, which a forked child cannot use."""
    import torch

    return "spawn" if torch.cuda.is_initialized() else "fork"


def _worker_env(env_options: dict[str, Any], threads: int) -> gym.Env:
    import torch

    import agmc_env  # noqa: F401 (registers the env in the fresh worker process)

    torch.set_num_threads(threads)
    return _PlanPlayer(gym.make(ENV_ID, **env_options))


class _Replayed:
    """The search's env standing in for a worker's episode: it replays the episode only to save it."""

    def __init__(self, env: gym.Env, info: dict[str, Any]) -> None:
        self._env, self._info = env, info

    @property
    def unwrapped(self) -> _Replayed:
        return self

    @property
    def unit_names(self) -> list[str]:
        return self._env.unwrapped.unit_names

    def save_pruned(self, path: str | Path) -> Any:
        self._env.unwrapped.replay(self._info["ratios"], self._info["importance_seed"])
        return self._env.unwrapped.save_pruned(path)


def is_open_loop(agent: Any) -> bool:
    """Whether ``agent`` can plan episodes (``plan_episode`` and ``episodes_to_plan``)."""
    return callable(getattr(agent, "plan_episode", None)) and callable(getattr(agent, "episodes_to_plan", None))


class ParallelDriver(ProtocolDriver):
    """:class:`agents.drivers.ProtocolDriver` with the episodes of an open-loop agent played by ``workers`` processes.

    Args:
        env: the recorded env of the search (bookkeeping, checkpoints, best models).
        agent: an open-loop agent (:func:`is_open_loop`).
        seed: the seed of the search's first reset.
        workers: env copies, one process each (at least 2).
        env_options: the options the search's env was made with.
        threads: torch threads of each copy. (default: ``1``)

    Raises:
        ConfigError: the agent cannot plan episodes.
    """

    def __init__(
        self, env: EpisodeRecorder, agent: Any, seed: int | None, workers: int, env_options: dict[str, Any], threads: int = 1
    ) -> None:
        super().__init__(env, agent, seed)
        if not is_open_loop(agent):
            raise ConfigError.for_option(
                "workers", f"needs an open-loop agent (random, cem, uniform): {type(agent).__name__} cannot plan episodes"
            )
        self.workers, self.chunk = workers, workers
        self.steps = env.unwrapped.episode_length
        self._factory = functools.partial(_worker_env, dict(env_options), threads)
        self.vector: gym.vector.AsyncVectorEnv | None = None  # started by the first batch, stopped by close()

    def advance(self, episodes: int) -> None:
        done = 0
        while done < episodes:
            budget = self.agent.episodes_to_plan()
            count = min(episodes - done, self.workers, budget if budget else self.workers)
            plans = []
            for _ in range(count):
                self.env.reset(seed=self._seed)  # the serial run's reset: its draw, its state
                self._seed = None
                plans.append((copy.deepcopy(self.env.rng_state), self.agent.plan_episode(self.steps)))
            if self.vector is None:
                self.vector = gym.vector.AsyncVectorEnv([self._factory] * self.workers, shared_memory=False, context=_context())
            self.vector.set_attr("plan", plans + [None] * (self.workers - count))
            results = self.vector.call("play_plan")[:count]
            for (_, actions), (observations, rewards, info) in zip(plans, results, strict=True):
                episode = Episode(observations, list(actions[: len(rewards)]), rewards, info)
                if self.env.on_episode_end is not None:
                    self.env.on_episode_end(info, _Replayed(self.env, info))
                self.agent.observe_episode(episode)
            done += count

    def close(self) -> None:
        if self.vector is not None:
            self.vector.close()
            self.vector = None
