"""What a latency-budgeted search adds to its summary: the chosen policy timed, and its latency plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym

from agents.plots import plot_latency_policy
from agmc_env.atomic import atomic_write_json

LATENCY_PLOT = "best_latency.png"


def add_latency_summary(env: gym.Env, summary: dict[str, Any], out: Path) -> dict[str, Any]:
    """Time the summary's policy on the env's device, plot it, and rewrite ``out/summary.json``.

    The summary gains ``latency_ms`` and ``base_latency_ms`` (measured now, round-robin),
    ``speedup`` (measured), ``latency_predicted_ms``, ``speedup_predicted``,
    ``latency_prediction_error``, ``kept_macs``, ``kept_params``, ``latency_batch`` and
    ``latency_device``; ``OUT/best_latency.png`` shows each unit's ratio and latency share.

    Args:
        env: the search's env (``target="latency"``; it may be closed).
        summary: the summary :func:`agents.search.run_search` wrote (its ``ratios`` are timed).
        out: the search directory.
    """
    unwrapped = env.unwrapped
    latency = unwrapped.latency_model
    ratios = summary["ratios"]
    report = unwrapped.latency_report(ratios)
    if latency is not None:
        kept = unwrapped.kept_sizes(ratios)
        before, after = latency.unit_ms(), latency.unit_ms(kept)
        total_before, total_after = latency.base_ms, latency.predict(kept)
        title = (
            f"policy: {report['speedup']:.2f}x measured, {report['speedup_predicted']:.2f}x predicted "
            f"(batch {report['latency_batch']}, {report['latency_device']})"
        )
        plot_latency_policy(
            unwrapped.unit_names, ratios, [t / total_before for t in before], [t / total_after for t in after],
            out / LATENCY_PLOT, title,
        )  # fmt: skip
    summary = {**summary, **report}
    atomic_write_json(out / "summary.json", summary)
    return summary
