"""A cross-entropy-method search as a stand-alone script: the agent (:mod:`agents.cem`) driven by
the package's search runner, arguments from a dataclass at the top.

The agent follows :mod:`agents.protocol` (``act`` / ``observe_episode``, plus ``state_dict`` /
``load_state_dict`` for resumable searches); read ``agents/cem.py`` to write your own.

Run it from the repository root::

    python examples/cem_agent.py --model resnet20 --episodes 64 --out runs/cem
    agmc search --agent cem ...            # the same agent through the CLI
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agents.cem import make_agent


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
