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


def plot_latency_policy(
    unit_names: Sequence[str],
    ratios: Sequence[float],
    share_before: Sequence[float],
    share_after: Sequence[float],
    path: str | os.PathLike,
    title: str = "",
) -> None:
    """A latency-budgeted policy: each unit's ratio, and its share of the model's latency before and after.

    Args:
        unit_names: the units, in network order.
        ratios: the pruning ratio of each unit.
        share_before: each unit's share of the unpruned model's (predicted) latency, in ``[0, 1]``.
        share_after: each unit's share of the pruned model's (predicted) latency.
        path: the PNG file.
        title: the figure's title. (default: none)
    """
    positions = range(len(ratios))
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(max(6, 0.3 * len(ratios) + 2), 6), sharex=True)
    top.bar(positions, ratios, color="tab:blue")
    top.set_ylabel("pruning ratio")
    top.set_ylim(0, 1)
    top.set_title(title)
    width = 0.4
    bottom.bar([p - width / 2 for p in positions], [100 * s for s in share_before], width, label="unpruned", color="tab:gray")
    bottom.bar([p + width / 2 for p in positions], [100 * s for s in share_after], width, label="pruned", color="tab:orange")
    bottom.set_ylabel("share of model latency (%)")
    bottom.legend(loc="upper right")
    bottom.set_xticks(list(positions))
    bottom.set_xticklabels(unit_names, rotation=90, fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
