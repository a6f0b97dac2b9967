"""The searches behind the benchmark scripts: named methods, one directory per run, reusable runs.

A benchmark run lives in ``<out_dir>/<model>/<method>/seed<seed>/`` (a directory of
:func:`agents.search.run_search`), so that two scripts pointed at the same ``out_dir`` share runs:
``benchmarks/search_efficiency.py --reuse`` reads the ``amc``/``agmc_ddpg`` runs of
``benchmarks/compare.py``.

Example:
    >>> out, summary = method_search("runs", "resnet20", "agmc_ddpg", 0, {"val_size": 500}, episodes=50)
    >>> curve = best_so_far([r["reward"] for r in read_episodes(out)])
"""

from __future__ import annotations

import argparse
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agents.presets import SEARCH_DEFAULTS
from agents.registry import agent_options, get_agent_spec
from agents.search import holds_search, run_search
from agmc_env.envs.config import FILL_MODES, PRESETS

METHODS: dict[str, tuple[str, dict[str, Any]]] = {  # method -> (agent name, env options it adds)
    "handcrafted": ("handcrafted", {}),
    "random": ("random", {}),
    "amc": ("amc", {}),
    "agmc_ddpg": ("agmc", {}),
    "agmc_td3": ("td3", {"embedding": "gnn"}),
}


def add_fill_budget_argument(parser: argparse.ArgumentParser) -> None:
    """``--fill-budget``, defaulting to ``agmc search``'s, so benchmarks run what users get."""
    parser.add_argument(
        "--fill-budget", default=PRESETS["agmc-search"]["fill_budget"], choices=FILL_MODES,
        help="unused budget after the last unit (env option fill_budget; default: agmc search's, give_back)",
    )


def benchmark_env_options(args: argparse.Namespace) -> dict[str, Any]:
    """The env options every method of a benchmark shares (CIFAR-10, a FLOPs budget), from its flags."""
    return {
        "dataset": "cifar10", "target": "flops", "preserve": args.preserve, "val_size": args.val_size,
        "bn_recalibration": args.bn_recalibration, "device": args.device, "fill_budget": args.fill_budget,
    }  # fmt: skip


def run_directory(out_dir: str | os.PathLike, model: str, method: str, seed: int) -> Path:
    """Where the run of ``method`` on ``model`` with ``seed`` lives."""
    return Path(out_dir) / model / method / f"seed{seed}"


def method_search(
    out_dir: str | os.PathLike,
    model: str,
    method: str,
    seed: int,
    env_options: dict[str, Any],
    episodes: int,
    warmup_episodes: int = SEARCH_DEFAULTS.warmup_episodes,
    reuse: bool = False,
    rescore_top: int = SEARCH_DEFAULTS.rescore_top,
    rescore_size: int | None = None,
) -> tuple[Path, dict[str, Any]]:
    """Run (or, with ``reuse``, read back or resume) one benchmark search.

    Args:
        out_dir: the benchmark's results folder.
        model: a zoo model name.
        method: a key of :data:`METHODS`.
        seed: seed of the search.
        env_options: env options shared by every method (the model is added here).
        episodes: the episode budget (the deterministic ``handcrafted`` method stops after one).
        warmup_episodes: random warm-up episodes of the agents that take one (``AgentSpec.warmup``).
            (default: ``agents.presets.SEARCH_DEFAULTS.warmup_episodes``, 20)
        reuse: read a finished run's ``summary.json`` if it has at least ``episodes`` episodes (or is
            a one-episode method), resume an unfinished one. (default: ``False``)
        rescore_top, rescore_size: the re-score of the best policies after the last episode
            (:func:`agents.search.run_search`). (default: ``agents.presets.SEARCH_DEFAULTS``'s, 5 on
            the whole splits)

    Returns:
        The run directory and its summary.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {tuple(METHODS)}, got {method!r}")
    agent, extra = METHODS[method]
    out = run_directory(out_dir, model, method, seed)
    if reuse and (out / "summary.json").exists():
        summary = json.loads((out / "summary.json").read_text())
        if summary["episodes"] >= episodes or get_agent_spec(agent).deterministic:
            return out, summary
    options = {**env_options, "model": model, **extra}
    builder_options = agent_options(agent, warmup_episodes=warmup_episodes, total_episodes=episodes)
    return out, run_search(
        out, options, agent, episodes, seed, builder_options, resume=reuse and holds_search(out), progress=False,
        rescore_top=rescore_top, rescore_size=rescore_size,
    )  # fmt: skip


def read_episodes(out: str | os.PathLike) -> list[dict[str, Any]]:
    """The episode records of a search directory (``episodes.jsonl``), in order."""
    with open(Path(out) / "episodes.jsonl") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def best_so_far(values: Sequence[float]) -> list[float]:
    """The running maximum of ``values``."""
    out, best = [], -math.inf
    for value in values:
        best = max(best, value)
        out.append(best)
    return out


def episodes_to_reach(curve: Sequence[float], level: float) -> int | None:
    """1-based episode at which a best-so-far ``curve`` first reaches ``level``; ``None`` if never."""
    for episode, value in enumerate(curve, start=1):
        if value >= level:
            return episode
    return None
