"""Predicted and measured latency of a policy, with its FLOPs and params: one dict for info and summaries."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import torch

from agmc_env.latency.model import LatencyModel
from agmc_env.latency.timing import TimingSettings, check_device, check_latency_batch, random_input, time_calls
from agmc_env.pruning import PruningMethod


def latency_report(
    method: PruningMethod,
    ratios: Sequence[float],
    latency: LatencyModel | None = None,
    batch: int = 1,
    device: str | torch.device = "cpu",
    settings: TimingSettings = TimingSettings(),
) -> dict[str, Any]:
    """The cost of ``method``'s model pruned at ``ratios``: FLOPs, params, and latency measured now.

    The unpruned and the pruned model are timed round-robin (the same load hits both), so
    ``speedup_measured`` is a fair ratio even on a busy machine.

    Args:
        method: the pruning method of the model.
        ratios: one ratio per unit.
        latency: the model's latency model; with it the report also gives the prediction.
            (default: ``None``)
        batch: images per forward pass. (default: ``1``)
        device: where to measure. (default: ``"cpu"``)
        settings: warm-up and repeats. (default: ``TimingSettings()``)

    Returns:
        ``kept_macs``, ``kept_params``, ``kept_flops_fraction``, ``kept_params_fraction``,
        ``base_latency_ms`` and ``latency_ms`` (measured now), ``speedup`` (measured), and with
        ``latency``: ``latency_predicted_ms``, ``speedup_predicted``, ``latency_prediction_error``
        (predicted / measured - 1); plus ``latency_batch`` and ``latency_device``.
    """
    batch = check_latency_batch(batch)
    where = check_device(device)
    kept_cost, base_cost = method.cost_model.cost(ratios), method.cost_model.base
    base = copy.deepcopy(method.model).float().to(where).eval()
    pruned = method.prune(list(ratios)).float().to(where).eval()
    images = random_input((batch, *method.input_size), where)
    base_s, pruned_s = time_calls([lambda: base(images), lambda: pruned(images)], where, settings)
    report: dict[str, Any] = {
        "kept_macs": kept_cost.macs,
        "kept_params": kept_cost.params,
        "kept_flops_fraction": kept_cost.macs / base_cost.macs,
        "kept_params_fraction": kept_cost.params / base_cost.params,
        "base_latency_ms": 1000.0 * base_s,
        "latency_ms": 1000.0 * pruned_s,
        "speedup": base_s / pruned_s,
    }
    if latency is not None:
        predicted = latency.predict_ratios(ratios)
        report.update(
            latency_predicted_ms=predicted,
            speedup_predicted=latency.base_ms / predicted,
            latency_prediction_error=predicted / report["latency_ms"] - 1.0,
        )
    return {**report, "latency_batch": batch, "latency_device": str(where)}
