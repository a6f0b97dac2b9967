"""Units and exact cost of fine-grained (unstructured magnitude) pruning, one unit per conv/linear layer.

`agmc_env.pruning.fine_grained_prune` zeroes ``round(ratio * numel)`` weights of each layer
(at most ``numel - 1``). Every weight of a layer takes part in the same number of MACs (the layer's
output positions), so the MACs left to a sparse kernel and the non-zero parameter count both follow
exactly from the ratios, without touching the model. :class:`SparseCostModel` has the interface of
:class:`agmc_env.pruning.CostModel` that :class:`agmc_env.pruning.BudgetWall` relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agmc_env.cost import Cost, count_cost
from agmc_env.pruning.fine_grained import prunable_layers, removed_weights


@dataclass(frozen=True)
class LayerUnit:
    """One conv/linear layer whose weights are pruned fine-grained (``channels`` holds its weights)."""

    index: int
    name: str
    module_names: tuple[str, ...]
    channels: int  # number of weights: the "size" a ratio applies to, as channels are for channel pruning


def kept_weights(weights: int, ratio: float) -> int:
    """Weights a ratio leaves in a layer of ``weights`` entries (the rule of :func:`magnitude_masks`)."""
    return weights - removed_weights(weights, ratio)


def _macs_per_layer(model: nn.Module, names: list[str], input_size: Sequence[int]) -> dict[str, int]:
    modules = dict(model.named_modules())
    macs: dict[str, int] = {}

    def hook(name: str):
        def record(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
            # Each weight is used once per output position (per group of output channels it feeds).
            positions = output.numel() // output.shape[1] if output.dim() > 1 else 1
            macs[name] = macs.get(name, 0) + module.weight.numel() * positions

        return record

    handles = [modules[n].register_forward_hook(hook(n)) for n in names]
    try:
        with torch.no_grad():
            parameter = next(model.parameters())
            model.eval()(torch.zeros((1, *input_size), device=parameter.device))
    finally:
        for handle in handles:
            handle.remove()
    return macs


class SparseCostModel:
    """Exact MACs (counting only non-zero weights) and non-zero params of fine-grained ratios.

    Args:
        model: the unpruned model (read, not modified).
        input_size: ``(C, H, W)`` of one input.

    Attributes:
        units: one :class:`LayerUnit` per conv/linear layer that runs, in definition order.
        base: the unpruned cost (equal to :func:`agmc_env.cost.count_cost`).
        channels: the weights of each unit.
    """

    def __init__(self, model: nn.Module, input_size: Sequence[int]) -> None:
        names = prunable_layers(model)
        macs = _macs_per_layer(model, names, input_size)
        names = [n for n in names if n in macs]  # layers that never run have no cost to cut
        modules = dict(model.named_modules())
        self.units = [LayerUnit(i, n, (n,), modules[n].weight.numel()) for i, n in enumerate(names)]
        self.channels = [u.channels for u in self.units]
        self.base = count_cost(model, tuple(input_size))
        self._weights = np.array(self.channels, dtype=np.int64)
        self._macs_per_weight = np.array([macs[n] // modules[n].weight.numel() for n in names], dtype=np.int64)
        if int((self._weights * self._macs_per_weight).sum()) != self.base.macs:
            raise ValueError("the fine-grained cost model disagrees with count_cost for this model")

    def cost(self, ratios: Sequence[float]) -> Cost:
        """Non-zero MACs and params of the model pruned fine-grained at ``ratios`` (one per unit)."""
        if len(ratios) != len(self.units):
            raise ValueError(f"ratios must have one entry per layer ({len(self.units)}), got {len(ratios)}")
        removed = np.array([removed_weights(int(w), float(r)) for w, r in zip(self._weights, ratios)], dtype=np.int64)
        return Cost(
            macs=self.base.macs - int((removed * self._macs_per_weight).sum()),
            params=self.base.params - int(removed.sum()),
        )

    def unit_macs(self) -> list[int]:
        """MACs of each unpruned layer."""
        return [int(m) for m in self._weights * self._macs_per_weight]
