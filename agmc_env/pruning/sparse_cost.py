"""Units and exact cost of fine-grained (unstructured magnitude) pruning, one unit per conv/linear layer.

`agmc_env.pruning.fine_grained_prune` zeroes ``round(ratio * numel)`` weights of each layer
(at most ``numel - 1``). Every weight of a layer takes part in the same number of MACs (the layer's
output positions), so the MACs left to a sparse kernel and the non-zero parameter count both follow
exactly from the ratios and the model's :class:`~agmc_env.layer_table.LayerTable`, without touching the
model. :class:`SparseCostModel` has the interface of :class:`agmc_env.pruning.CostModel` that
:class:`agmc_env.pruning.BudgetWall` relies on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from torch import nn

from agmc_env.cost import Cost
from agmc_env.errors import ConfigError, UnsupportedModelError
from agmc_env.layer_table import LayerTable, describe_layers
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


class SparseCostModel:
    """Exact MACs (counting only non-zero weights) and non-zero params of fine-grained ratios.

    Args:
        model: the unpruned model (read, not modified).
        input_size: ``(C, H, W)`` of one input.
        layers: the model's :func:`~agmc_env.layer_table.describe_layers` table, if already built.
            (default: ``None``: described here)

    Attributes:
        units: one :class:`LayerUnit` per conv/linear layer that runs, in definition order.
        base: the unpruned cost (equal to :func:`agmc_env.cost.count_cost`).
        channels: the weights of each unit.
    """

    def __init__(self, model: nn.Module, input_size: Sequence[int], layers: LayerTable | None = None) -> None:
        if layers is None:
            layers = describe_layers(model, input_size)
        layers.check_input_size(input_size)
        # Every weight is used once per output position, so a layer's MACs per weight are its positions.
        positions = layers.positions()
        names = [n for n in prunable_layers(model) if n in positions]  # layers that never run cost nothing
        modules = dict(model.named_modules())
        self.units = [LayerUnit(i, n, (n,), modules[n].weight.numel()) for i, n in enumerate(names)]
        self.channels = [u.channels for u in self.units]
        self.base = Cost.of(layers)
        self._weights = np.array(self.channels, dtype=np.int64)
        self._macs_per_weight = np.array([positions[n] for n in names], dtype=np.int64)
        if int((self._weights * self._macs_per_weight).sum()) != self.base.macs:
            raise UnsupportedModelError(
                f"the fine-grained cost model of {type(model).__name__} disagrees with count_cost "
                "(a conv/linear layer whose weights are not all used at every output position)"
            )

    def cost(self, ratios: Sequence[float]) -> Cost:
        """Non-zero MACs and params of the model pruned fine-grained at ``ratios`` (one per unit)."""
        if len(ratios) != len(self.units):
            raise ConfigError(f"ratios must have one entry per layer ({len(self.units)}), got {len(ratios)}")
        removed = np.array([removed_weights(int(w), float(r)) for w, r in zip(self._weights, ratios)], dtype=np.int64)
        return Cost(
            macs=self.base.macs - int((removed * self._macs_per_weight).sum()),
            params=self.base.params - int(removed.sum()),
        )

    def unit_macs(self) -> list[int]:
        """MACs of each unpruned layer."""
        return [int(m) for m in self._weights * self._macs_per_weight]
