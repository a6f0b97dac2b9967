"""Stable-Baselines3 agents with AMC's settings for short episodes that pay one reward at the end.

``make_ddpg`` / ``make_td3`` follow AMC (He et al., ECCV 2018) as AGMC does:

=======================  ==================================================================
setting                  value (every one overridable by keyword)
=======================  ==================================================================
actor / critic           two hidden layers of 300 (``policy_kwargs=dict(net_arch=[300, 300])``)
learning rates           actor ``1e-4`` (``learning_rate``), critic ``1e-3`` (``critic_learning_rate``)
tau, gamma, batch        ``0.01``, ``1.0``, ``64``
replay buffer            ``100 x episode length`` transitions, :class:`SharedRewardReplayBuffer`
                         (the end reward shared by every step, minus a moving-average baseline)
warm-up                  ``warmup_episodes`` episodes of uniform random actions
                         (``learning_starts = warmup_episodes x episode length``). AMC uses 100;
                         the default here is :data:`DEFAULT_WARMUP_EPISODES` to fit CPU budgets
exploration              :class:`AMCNoise`: truncated normal around the action, sigma 0.5 of the
                         action range, decaying after the warm-up to 0.05 at the last of
                         ``total_episodes`` episodes (AMC's fixed x0.95 per episode when the
                         episode budget is not given)
training                 once per episode (``train_freq=(1, "episode")``), one gradient step per
                         transition collected (``gradient_steps=-1``, as AMC updates every step);
                         per-step training costs ~14 s per 1,000 steps on 2 cores instead of ~0.8 s
=======================  ==================================================================

SB3 has a single learning rate and adds noise without looking at the action, so DDPG and TD3 come
as two-method subclasses (:class:`AMCDDPG`, :class:`AMCTD3`): ``_update_learning_rate`` gives the
critic its own rate and ``_sample_action`` lets :meth:`AMCNoise.perturb` sample around the action.
Everything else is stock SB3. ``make_ppo`` and ``make_sac`` show that other SB3 agents swap in.
"""

from __future__ import annotations

import os
from typing import Any

import gymnasium as gym
import numpy as np
from stable_baselines3 import DDPG, PPO, SAC, TD3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.logger import Logger, configure, make_output_format
from stable_baselines3.common.utils import update_learning_rate

from agents.noise import AMCNoise
from agents.presets import SEARCH_DEFAULTS
from agents.reward_sharing import SharedRewardReplayBuffer
from agmc_env.errors import ConfigError

DEFAULT_WARMUP_EPISODES = SEARCH_DEFAULTS.warmup_episodes
AMC_WARMUP_EPISODES = 100


def attach_logger(model: BaseAlgorithm) -> BaseAlgorithm:
    """Give ``model`` a logger that writes no files unless asked to (returns ``model``).

    Left alone, SB3 configures a logger at every ``learn`` call, and without ``tensorboard_log``
    that makes an empty ``SB3-<date>`` folder in the system's temporary directory each time: one
    per episode for a search. Here the logger writes to ``<tensorboard_log>/sb3`` when the model has
    a ``tensorboard_log`` (one writer for all ``learn`` calls), to stdout when ``verbose`` asks for
    it, and nowhere else. SB3's ``load`` drops a custom logger: call this again after it.
    """
    if model.tensorboard_log is not None:
        model.set_logger(configure(os.path.join(model.tensorboard_log, "sb3"), ["tensorboard"]))
    else:
        outputs = [make_output_format("stdout", "")] if model.verbose else []
        model.set_logger(Logger(folder=None, output_formats=outputs))
    return model


def steps_per_episode(env: gym.Env) -> int:
    """Steps per episode: one per prunable unit for the compression env (one with ``one_shot``).

    The compression env says it (its public ``episode_length``); other envs need an
    ``episode_length`` attribute too (on the unwrapped env) or a ``max_episode_steps`` in their spec.
    """
    length = getattr(env.unwrapped, "episode_length", None)
    if length:
        return int(length)
    if env.spec is not None and env.spec.max_episode_steps:
        return int(env.spec.max_episode_steps)
    raise ValueError("cannot tell the episode length of this env; pass episode_length=")


class _AMCMixin:
    """The two AMC details SB3's DDPG/TD3 lack; mixed in before the SB3 class."""

    critic_learning_rate: float | None

    def _update_learning_rate(self, optimizers: Any) -> None:
        super()._update_learning_rate(optimizers)  # type: ignore[misc]  # actor (and critic) at learning_rate
        if self.critic_learning_rate is not None:
            update_learning_rate(self.critic.optimizer, self.critic_learning_rate)  # type: ignore[attr-defined]
            self.logger.record("train/critic_learning_rate", self.critic_learning_rate)  # type: ignore[attr-defined]

    def _sample_action(self, learning_starts: int, action_noise: Any = None, n_envs: int = 1) -> Any:
        perturb = getattr(action_noise, "perturb", None)
        if hasattr(action_noise, "episodes"):  # the decay follows SB3's own (checkpointed) episode count
            action_noise.episodes = self._episode_num  # type: ignore[attr-defined]
        if perturb is None:
            return super()._sample_action(learning_starts, action_noise, n_envs)  # type: ignore[misc]
        # AMC: uniform random actions during the warm-up; afterwards the truncated normal around the actor.
        _, buffer_action = super()._sample_action(learning_starts, None, n_envs)  # type: ignore[misc]
        if self.num_timesteps >= learning_starts:  # type: ignore[attr-defined]
            buffer_action = perturb(buffer_action)
        return self.policy.unscale_action(buffer_action), buffer_action  # type: ignore[attr-defined]


class AMCDDPG(_AMCMixin, DDPG):
    """SB3 DDPG with a separate critic learning rate and action-centred exploration noise.

    Args:
        *args, **kwargs: as :class:`stable_baselines3.DDPG`.
        critic_learning_rate: the critic's rate; ``None`` uses ``learning_rate``. (default: ``None``)
    """

    def __init__(self, *args: Any, critic_learning_rate: float | None = None, **kwargs: Any) -> None:
        self.critic_learning_rate = critic_learning_rate
        super().__init__(*args, **kwargs)


class AMCTD3(_AMCMixin, TD3):
    """SB3 TD3 with a separate critic learning rate and action-centred exploration noise.

    Args:
        *args, **kwargs: as :class:`stable_baselines3.TD3`.
        critic_learning_rate: the critic's rate; ``None`` uses ``learning_rate``. (default: ``None``)
    """

    def __init__(self, *args: Any, critic_learning_rate: float | None = None, **kwargs: Any) -> None:
        self.critic_learning_rate = critic_learning_rate
        super().__init__(*args, **kwargs)


def _off_policy_defaults(
    env: gym.Env, seed: int | None, warmup_episodes: int, length: int, total_episodes: int | None = None
) -> dict[str, Any]:
    action_dim = int(np.prod(env.action_space.shape))
    noise = AMCNoise(
        action_dim, sigma=0.5, decay=0.95, warmup_episodes=warmup_episodes, seed=seed, total_episodes=total_episodes
    )
    return {
        "learning_rate": 1e-4,
        "buffer_size": 100 * length,
        "learning_starts": warmup_episodes * length,
        "batch_size": 64,
        "tau": 0.01,
        "gamma": 1.0,
        "train_freq": (1, "episode"),
        "gradient_steps": -1,
        "action_noise": noise,
        "replay_buffer_class": SharedRewardReplayBuffer,
        "replay_buffer_kwargs": {"baseline_alpha": 0.5},
        "policy_kwargs": {"net_arch": [300, 300]},
        "seed": seed,
        "verbose": 0,
    }


def _check_warmup(warmup_episodes: int) -> None:
    if not isinstance(warmup_episodes, int) or isinstance(warmup_episodes, bool) or warmup_episodes < 0:
        raise ConfigError.for_option("warmup_episodes", f"must be an integer >= 0, got {warmup_episodes!r}")


def make_ddpg(
    env: gym.Env,
    seed: int | None = 0,
    warmup_episodes: int = DEFAULT_WARMUP_EPISODES,
    episode_length: int | None = None,
    total_episodes: int | None = None,
    **overrides: Any,
) -> AMCDDPG:
    """AMC's DDPG (see the module docstring for every default).

    Args:
        env: a Gymnasium env with a ``Box`` action space (or an SB3 ``VecEnv``).
        seed: seeds SB3 (torch, numpy, the env, the action space) and the noise. (default: ``0``)
        warmup_episodes: episodes of random actions before learning. (default: ``20``; AMC: 100)
        episode_length: steps per episode; read from the env when ``None``. (default: ``None``)
        total_episodes: the search's episode budget: the exploration noise then decays to its
            floor at the last episode (see :class:`AMCNoise`). (default: ``None``: x0.95 per episode)
        **overrides: any argument of :class:`stable_baselines3.DDPG`, or ``critic_learning_rate``.
    """
    return _make_amc(AMCDDPG, env, seed, warmup_episodes, episode_length, total_episodes, overrides)


def make_td3(
    env: gym.Env,
    seed: int | None = 0,
    warmup_episodes: int = DEFAULT_WARMUP_EPISODES,
    episode_length: int | None = None,
    total_episodes: int | None = None,
    **overrides: Any,
) -> AMCTD3:
    """TD3 with AMC's settings (twin critics, delayed actor updates, target smoothing on top).

    Args: as :func:`make_ddpg`; ``overrides`` go to :class:`stable_baselines3.TD3`.
    """
    return _make_amc(AMCTD3, env, seed, warmup_episodes, episode_length, total_episodes, overrides)


def _make_amc(
    cls: type, env: Any, seed: int | None, warmup: int, length: int | None, total: int | None, overrides: dict
) -> Any:
    _check_warmup(warmup)
    length = length or steps_per_episode(env)
    kwargs = {**_off_policy_defaults(env, seed, warmup, length, total), "critic_learning_rate": 1e-3, **overrides}
    return attach_logger(cls("MlpPolicy", env, **kwargs))


def make_sac(
    env: gym.Env,
    seed: int | None = 0,
    warmup_episodes: int = DEFAULT_WARMUP_EPISODES,
    episode_length: int | None = None,
    **overrides: Any,
) -> SAC:
    """SB3 SAC with the same replay buffer, warm-up, discount and training schedule as DDPG.

    SAC explores through its stochastic policy, so there is no action noise.
    """
    _check_warmup(warmup_episodes)
    length = episode_length or steps_per_episode(env)
    kwargs = _off_policy_defaults(env, seed, warmup_episodes, length)
    kwargs.update(learning_rate=3e-4, action_noise=None)
    return attach_logger(SAC("MlpPolicy", env, **{**kwargs, **overrides}))


def make_ppo(
    env: gym.Env,
    seed: int | None = 0,
    episodes_per_update: int = 4,
    episode_length: int | None = None,
    **overrides: Any,
) -> PPO:
    """SB3 PPO updating after every ``episodes_per_update`` episodes (``n_steps`` = that x length).

    On-policy, so no replay buffer: with ``gamma=1`` the advantage estimates already carry the end
    reward back to every step of its episode.

    Args:
        env: a Gymnasium env.
        seed: seeds SB3. (default: ``0``)
        episodes_per_update: whole episodes per rollout, so every update sees complete rewards. (default: ``4``)
        episode_length: steps per episode; read from the env when ``None``. (default: ``None``)
        **overrides: any argument of :class:`stable_baselines3.PPO`.
    """
    if not isinstance(episodes_per_update, int) or episodes_per_update < 1:
        raise ValueError(f"episodes_per_update must be an integer >= 1, got {episodes_per_update!r}")
    length = episode_length or steps_per_episode(env)
    n_steps = episodes_per_update * length
    kwargs: dict[str, Any] = {
        "learning_rate": 3e-4,
        "n_steps": n_steps,
        "batch_size": n_steps,
        "n_epochs": 10,
        "gamma": 1.0,
        "gae_lambda": 0.95,
        "policy_kwargs": {"net_arch": [300, 300]},
        "seed": seed,
        "verbose": 0,
    }
    return attach_logger(PPO("MlpPolicy", env, **{**kwargs, **overrides}))


SB3_FACTORIES = {"ddpg": make_ddpg, "td3": make_td3, "sac": make_sac, "ppo": make_ppo}
SB3_CLASSES: dict[str, type[BaseAlgorithm]] = {"ddpg": AMCDDPG, "td3": AMCTD3, "sac": SAC, "ppo": PPO}
