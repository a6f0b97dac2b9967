"""Fine-grained (unstructured) magnitude pruning, for parameter budgets.

Each conv/linear weight keeps its largest-magnitude entries; the rest are set to zero. The model keeps
its shape (no speed-up without sparse kernels), but its non-zero parameter count drops.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping, Sequence

import torch
from torch import nn

_LAYERS = (nn.modules.conv._ConvNd, nn.Linear)


def prunable_layers(model: nn.Module) -> list[str]:
    """Names of the conv/linear layers of ``model``, in definition order."""
    return [name for name, module in model.named_modules() if isinstance(module, _LAYERS)]


def removed_weights(weights: int, ratio: float) -> int:
    """Weights a ratio zeroes in a layer of ``weights`` entries: ``round(ratio * weights)``, keeping at least one."""
    return min(weights - 1, math.floor(ratio * weights + 0.5))


def _ratio_map(model: nn.Module, ratios_per_layer: Mapping[str, float] | Sequence[float]) -> dict[str, float]:
    layers = prunable_layers(model)
    if isinstance(ratios_per_layer, Mapping):
        unknown = sorted(set(ratios_per_layer) - set(layers))
        if unknown:
            raise ValueError(f"ratios_per_layer names unknown conv/linear layers: {unknown}")
        ratios = dict(ratios_per_layer)
    else:
        if len(ratios_per_layer) != len(layers):
            raise ValueError(
                f"ratios_per_layer must have one entry per conv/linear layer ({len(layers)}), "
                f"got {len(ratios_per_layer)}"
            )
        ratios = dict(zip(layers, ratios_per_layer))
    for name, ratio in ratios.items():
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"ratio of {name!r} must be in [0, 1], got {ratio!r}")
    return ratios


@torch.no_grad()
def magnitude_masks(
    model: nn.Module, ratios_per_layer: Mapping[str, float] | Sequence[float]
) -> dict[str, torch.Tensor]:
    """Boolean keep-masks of the weights: ``round(ratio * numel)`` smallest magnitudes removed per layer.

    Args:
        model: the model to read weights from.
        ratios_per_layer: fraction of weights to remove, by layer name, or one per layer in the order
            of :func:`prunable_layers`. At least one weight per layer is kept.
    """
    modules = dict(model.named_modules())
    masks = {}
    for name, ratio in _ratio_map(model, ratios_per_layer).items():
        weight = modules[name].weight
        remove = removed_weights(weight.numel(), ratio)
        keep = torch.ones(weight.numel(), dtype=torch.bool, device=weight.device)
        # Stable order: equal magnitudes go in index order, so the mask is deterministic.
        keep[torch.sort(weight.abs().flatten(), stable=True).indices[:remove]] = False
        masks[name] = keep.view_as(weight)
    return masks


@torch.no_grad()
def fine_grained_prune(
    model: nn.Module, ratios_per_layer: Mapping[str, float] | Sequence[float], inplace: bool = False
) -> nn.Module:
    """Zero the smallest-magnitude weights of each conv/linear layer.

    Args:
        model: the model to prune.
        ratios_per_layer: see :func:`magnitude_masks`.
        inplace: prune ``model`` itself instead of a deep copy. (default: ``False``)

    Returns:
        The pruned model (same shapes; count what remains with :func:`nonzero_params`).
    """
    pruned = model if inplace else copy.deepcopy(model)
    modules = dict(pruned.named_modules())
    for name, mask in magnitude_masks(pruned, ratios_per_layer).items():
        modules[name].weight.mul_(mask)
    return pruned


def nonzero_params(model: nn.Module) -> int:
    """Number of non-zero parameter entries."""
    return int(sum(int(torch.count_nonzero(p)) for p in model.parameters()))
