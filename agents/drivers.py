"""Drivers: run episodes of an agent, save it into a checkpoint and restore it from one.

The search runner talks to two kinds of agents through one small interface:

* :class:`ProtocolDriver`: any object following :mod:`agents.protocol` (baselines, the CEM example,
  your own); the runner owns the Gymnasium loop (:func:`agents.protocol.play_episode`);
* :class:`SB3Driver`: a Stable-Baselines3 model, which owns its loop: each call to ``advance``
  is a ``learn`` of whole episodes that continues the previous one.

Episode results reach the runner through the :class:`~agents.recorder.EpisodeRecorder` the env is
wrapped in, whichever kind drives it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from agents.checkpoint import Checkpoint
from agents.protocol import Agent, check_agent, play_episode
from agents.recorder import EpisodeRecorder


class ProtocolDriver:
    """Runs an :class:`~agents.protocol.Agent` with the plain Gymnasium API.

    Args:
        env: the recorded env.
        agent: the agent.
        seed: passed to the first ``reset`` of a new search. (default: ``0``)
    """

    def __init__(self, env: EpisodeRecorder, agent: Agent, seed: int | None = 0) -> None:
        check_agent(agent)
        self.env, self.agent = env, agent
        self._seed = seed
        self.max_episodes: int | None = getattr(agent, "max_episodes", None)
        self.chunk = 1

    def advance(self, episodes: int) -> None:
        for _ in range(episodes):
            play_episode(self.env, self.agent, seed=self._seed)
            self._seed = None  # later episodes continue the env's random stream

    def save(self, checkpoint: Checkpoint, episodes: int) -> dict[str, str]:
        rng = checkpoint.write_pickle("env_rng", episodes, self.env.unwrapped.np_random.bit_generator.state)
        files = {"env_rng": rng}
        if hasattr(self.agent, "state_dict"):
            files["agent"] = checkpoint.write_pickle("agent", episodes, self.agent.state_dict())
        return files

    def load(self, checkpoint: Checkpoint, state: dict[str, Any]) -> None:
        if "agent" in state["files"] and hasattr(self.agent, "load_state_dict"):
            self.agent.load_state_dict(checkpoint.read_pickle(state, "agent"))
        self.env.set_rng_state(checkpoint.read_pickle(state, "env_rng"))
        self._seed = None


class _StopAfterEpisodes:
    """SB3 callback factory: stop ``learn`` once ``episodes`` episodes have ended (on-policy only)."""

    @staticmethod
    def make(episodes: int) -> Any:
        from stable_baselines3.common.callbacks import BaseCallback

        class StopAfterEpisodes(BaseCallback):
            def __init__(self) -> None:
                super().__init__()
                self.ended = 0

            def _on_step(self) -> bool:
                self.ended += int(np.sum(self.locals["dones"]))
                return self.ended < episodes

        return StopAfterEpisodes()


class SB3Driver:
    """Runs a Stable-Baselines3 model whose env is the recorded env (wrapped by SB3 as it likes).

    Args:
        env: the recorded env the model was built on.
        model: the SB3 model.
        kind: its name in :data:`agents.sb3_agents.SB3_CLASSES`, used to load it back.
        episode_length: steps per episode.
    """

    max_episodes = None

    def __init__(self, env: EpisodeRecorder, model: Any, kind: str, episode_length: int) -> None:
        from stable_baselines3.common.on_policy_algorithm import OnPolicyAlgorithm

        self.env, self.model, self.kind, self.length = env, model, kind, episode_length
        self.on_policy = isinstance(model, OnPolicyAlgorithm)
        # On-policy agents update after whole rollouts: checkpoint between rollouts.
        self.chunk = max(1, model.n_steps // episode_length) if self.on_policy else 1
        self._started = False
        self._attach_logger()

    def _attach_logger(self) -> None:
        # One TensorBoard writer for the whole search, and no SB3-* folder in the temporary
        # directory per learn() (what SB3 does when left alone).
        from agents.sb3_agents import attach_logger

        attach_logger(self.model)

    def advance(self, episodes: int) -> None:
        from agents.threads import torch_threads

        callback = _StopAfterEpisodes.make(episodes) if self.on_policy else None
        with torch_threads(1):  # the env's steps get their threads back (EnvThreads)
            self.model.learn(
                total_timesteps=episodes * self.length,
                callback=callback,
                reset_num_timesteps=not self._started,
                tb_log_name="sb3",
                log_interval=1 if self.on_policy else 4,
            )
        self._started = True

    def save(self, checkpoint: Checkpoint, episodes: int) -> dict[str, str]:
        files = {"agent": checkpoint.write_file(checkpoint.file("agent", episodes, ".zip"), self.model.save)}
        if not self.on_policy:
            path = checkpoint.file("replay_buffer", episodes, ".pkl")
            files["replay_buffer"] = checkpoint.write_file(path, self.model.save_replay_buffer)
        extra = {
            "env_rng": self.env.rng_state,
            "action_space_rng": self.model.action_space.np_random.bit_generator.state,
            "noise": self.model.action_noise.state_dict() if hasattr(self.model.action_noise, "state_dict") else None,
        }
        files["sb3_state"] = checkpoint.write_pickle("sb3_state", episodes, extra)
        return files

    def load(self, checkpoint: Checkpoint, state: dict[str, Any]) -> None:
        from agents.sb3_agents import SB3_CLASSES

        sb3_env = self.model.env
        load = SB3_CLASSES[self.kind].load
        self.model = checkpoint.read_file(state, "agent", lambda path: load(path, env=sb3_env, device=self.model.device))
        self._attach_logger()
        if not self.on_policy:
            checkpoint.read_file(state, "replay_buffer", self.model.load_replay_buffer)
        extra = checkpoint.read_pickle(state, "sb3_state")
        if extra["noise"] is not None:
            self.model.action_noise.load_state_dict(extra["noise"])
        # Loading re-seeded the VecEnv: spend that seed, then replay the reset that began the next episode.
        self.model.env.reset()
        self.env.set_rng_state(extra["env_rng"])
        self.model._last_obs = self.model.env.reset()
        self.model._last_episode_starts = np.ones((self.model.env.num_envs,), dtype=bool)
        self.model.action_space.np_random.bit_generator.state = extra["action_space_rng"]
        self._started = True
