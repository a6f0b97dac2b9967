"""PNG figures of a search (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)


def plot_episodes(records: Sequence[dict[str, Any]], path: str | os.PathLike) -> None:
    """Reward and accuracy of every episode, with the best-so-far reward."""
    episodes = [r["episode"] for r in records]
    rewards = [r["reward"] for r in records]
    best = [max(rewards[: i + 1]) for i in range(len(rewards))]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    top.plot(episodes, rewards, ".", markersize=3, label="reward")
    top.plot(episodes, best, "-", label="best so far")
    top.set_ylabel("reward")
    top.legend(loc="lower right")
    bottom.plot(episodes, [r["accuracy"] for r in records], ".", markersize=3, color="tab:green")
    bottom.set_ylabel("accuracy on the search split (%)")
    bottom.set_xlabel("episode")
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


def plot_policy(unit_names: Sequence[str], ratios: Sequence[float], path: str | os.PathLike, title: str = "") -> None:
    """The pruning ratio of every unit (one bar per unit, in network order)."""
    figure, axes = plt.subplots(figsize=(max(6, 0.3 * len(ratios) + 2), 4))
    axes.bar(range(len(ratios)), ratios, color="tab:blue")
    axes.set_xticks(range(len(ratios)))
    axes.set_xticklabels(unit_names, rotation=90, fontsize=7)
    axes.set_ylabel("pruning ratio")
    axes.set_ylim(0, 1)
    axes.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
