"""Every agent name ``agmc search --agent`` accepts: what it builds and which env options it implies.

=============  =====================================================  =======================
name           agent                                                  env options it sets
=============  =====================================================  =======================
``ddpg``       SB3 DDPG with AMC's settings (:func:`make_ddpg`)       (none)
``td3``        SB3 TD3 with AMC's settings (:func:`make_td3`)         (none)
``ppo``        SB3 PPO (:func:`make_ppo`)                             (none)
``sac``        SB3 SAC (:func:`make_sac`)                             (none)
``amc``        AMC: DDPG on AMC's rule-based layer features           ``embedding="rule"``
``agmc``       AGMC: DDPG on the learned graph embedding              ``embedding="gnn"``
``random``     random search through the budget wall                  (none)
``uniform``    one ratio for all units, solved to meet the budget     (none)
``handcrafted``  uniform ratio with L1-norm channel selection          ``importance="l1"``
``cem``        cross-entropy method (:mod:`agents.cem`)                (none)
=============  =====================================================  =======================

``agent_options`` are keyword arguments of the builder: ``warmup_episodes`` (the agents whose
spec says ``warmup``) and any SB3 argument for the SB3 agents; ``population``/``elite_fraction``
for ``cem`` (``population``). :func:`agent_options` picks the common ones an agent takes, so callers
never list agent names themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from agmc_env.errors import ConfigError


@dataclass(frozen=True)
class AgentSpec:
    """How to build one named agent.

    Attributes:
        summary: one line for ``--help``.
        build: ``build(env, seed, **options)`` -> an SB3 model or a protocol agent.
        env_options: options of ``ModelCompression-v0`` the agent's definition fixes.
        sb3: the SB3 algorithm name when it is one (drives checkpointing).
        warmup: takes ``warmup_episodes``, random-action episodes before it learns.
        deterministic: one episode says everything: the search runner stops after it.
        population: takes ``population`` (episodes per generation of an evolutionary search).
        episode_budget: takes ``total_episodes``, the search's planned episode count (AMC noise
            decays over it).
    """

    summary: str
    build: Callable[..., Any]
    env_options: dict[str, Any] = field(default_factory=dict)
    sb3: str | None = None
    warmup: bool = False
    deterministic: bool = False
    population: bool = False
    episode_budget: bool = False


def _sb3(kind: str) -> Callable[..., Any]:
    def build(env: gym.Env, seed: int, **options: Any) -> Any:
        from agents.sb3_agents import SB3_FACTORIES  # SB3 is imported only when an SB3 agent is used

        return SB3_FACTORIES[kind](env, seed=seed, **options)

    return build


def _uniform(env: gym.Env, seed: int, **options: Any) -> Any:
    from agents.baselines import UniformAgent

    return UniformAgent(env, **options)


def _random(env: gym.Env, seed: int, **options: Any) -> Any:
    from agents.baselines import RandomSearchAgent

    return RandomSearchAgent(env, seed=seed, **options)


def _cem(env: gym.Env, seed: int, **options: Any) -> Any:
    from agents.cem import make_agent

    return make_agent(env, seed, **options)


_DDPG = {"build": _sb3("ddpg"), "sb3": "ddpg", "warmup": True, "episode_budget": True}

AGENTS: dict[str, AgentSpec] = {
    "ddpg": AgentSpec("SB3 DDPG with AMC's settings", **_DDPG),
    "td3": AgentSpec("SB3 TD3 with AMC's settings", _sb3("td3"), sb3="td3", warmup=True, episode_budget=True),
    "ppo": AgentSpec("SB3 PPO", _sb3("ppo"), sb3="ppo"),  # on-policy: no replay buffer to warm up
    "sac": AgentSpec("SB3 SAC", _sb3("sac"), sb3="sac", warmup=True),
    "amc": AgentSpec("AMC: DDPG on rule-based layer features", env_options={"embedding": "rule"}, **_DDPG),
    "agmc": AgentSpec("AGMC: DDPG on the learned graph embedding", env_options={"embedding": "gnn"}, **_DDPG),
    "random": AgentSpec("random search through the budget wall", _random),
    "uniform": AgentSpec("one ratio for every unit, solved to meet the budget", _uniform, deterministic=True),
    "handcrafted": AgentSpec(
        "uniform ratio with L1-norm channel selection", _uniform, {"importance": "l1"}, deterministic=True
    ),
    "cem": AgentSpec("cross-entropy method over open-loop action sequences", _cem, population=True),
}


def get_agent_spec(name: str) -> AgentSpec:
    """The spec of agent ``name``; a ``ConfigError`` naming the accepted names otherwise."""
    if name not in AGENTS:
        raise ConfigError.for_option("agent", f"must be one of {tuple(AGENTS)}, got {name!r}")
    return AGENTS[name]


def agent_options(
    name: str,
    warmup_episodes: int | None = None,
    population: int | None = None,
    total_episodes: int | None = None,
) -> dict[str, Any]:
    """The builder options of agent ``name`` among the common ones, those it takes and that are given.

    Example:
        >>> agent_options("agmc", warmup_episodes=20), agent_options("random", warmup_episodes=20)
        ({'warmup_episodes': 20}, {})
    """
    spec = get_agent_spec(name)
    given = {"warmup_episodes": warmup_episodes, "population": population, "total_episodes": total_episodes}
    takes = {"warmup_episodes": spec.warmup, "population": spec.population, "total_episodes": spec.episode_budget}
    return {key: value for key, value in given.items() if takes[key] and value is not None}


def merge_env_options(name: str, env_options: dict[str, Any]) -> dict[str, Any]:
    """``env_options`` with the options agent ``name`` implies; ``ConfigError`` on a contradiction."""
    implied = get_agent_spec(name).env_options
    for key, value in implied.items():
        if key in env_options and env_options[key] != value:
            raise ConfigError.for_option(key, f"must be {value!r} for agent {name!r}, got {env_options[key]!r}")
    return {**env_options, **implied}
