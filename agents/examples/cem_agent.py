"""A cross-entropy-method agent written against the plain Gymnasium API, run by the search runner.

The compression env visits the same units in the same order every episode, so an open-loop policy
(one action per step, whatever the observation) is enough: CEM keeps a Gaussian over the episode's
action sequence, samples ``population`` sequences, and refits the Gaussian to the best
``elite_fraction`` of them. The agent follows :mod:`agents.protocol` (``act`` / ``observe_episode``,
plus ``state_dict`` / ``load_state_dict`` for resumable searches) and imports nothing but NumPy and
Gymnasium.

Run it::

    python -m agents.examples.cem_agent --model resnet20 --episodes 64 --out runs/cem
    agmc search --agent cem ...            # the same agent through the CLI
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np


@dataclass
class Args:
    model: str = "resnet20"
    """zoo model to compress"""
    target: str = "flops"
    """budgeted cost: flops or params"""
    preserve: float = 0.5
    """fraction of the cost to keep"""
    val_size: int = 500
    """search-split images scored per episode"""
    episodes: int = 64
    """episodes in total"""
    population: int = 8
    """candidate action sequences per CEM generation"""
    elite_fraction: float = 0.25
    """fraction of each generation the Gaussian is refitted to"""
    seed: int = 0
    """seed of the env and the agent"""
    out: str = "runs/cem"
    """search directory"""
    resume: bool = False
    """continue the search in --out"""


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
        if population < 2:
            raise ValueError(f"population must be >= 2, got {population!r}")
        if not 0 < elite_fraction <= 1:
            raise ValueError(f"elite_fraction must be in (0, 1], got {elite_fraction!r}")
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


def parse_args(argv: Sequence[str] | None = None) -> Args:
    """``Args`` from the command line: one ``--flag`` per field."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for field in dataclasses.fields(Args):
        flag = "--" + field.name.replace("_", "-")
        if field.type == "bool":
            parser.add_argument(flag, action="store_true")
        else:
            parser.add_argument(flag, type=type(field.default), default=field.default)
    return Args(**vars(parser.parse_args(argv)))


def make_agent(env: gym.Env, seed: int, **options: Any) -> CEMAgent:
    """What the search runner calls to build the agent once the env exists."""
    return CEMAgent(env.action_space, seed=seed, **options)


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run a CEM search through the package's search runner; returns its summary."""
    from agents.search import run_search  # the runner only drives the loop; the agent needs none of it

    args = parse_args(argv)
    env_options = {"model": args.model, "target": args.target, "preserve": args.preserve, "val_size": args.val_size}
    agent_options = {"population": args.population, "elite_fraction": args.elite_fraction}
    return run_search(
        args.out, env_options, agent=make_agent, episodes=args.episodes, seed=args.seed,
        agent_options=agent_options, resume=args.resume,
    )


if __name__ == "__main__":
    summary = main()
    print(f"best reward {summary['best_reward']:.4f}, accuracy {summary['best_accuracy']:.2f} %", file=sys.stdout)
