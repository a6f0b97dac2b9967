"""Counted compute and size of a model: MACs of conv and linear layers, and parameters.

Convention (as in the AGMC and AMC papers): MACs count multiply-accumulates of ``nn.Conv*`` and
``nn.Linear`` layers only (batch norm, activations, pooling and adds are not counted), and
FLOPs = 2 × MACs. This agrees with ``torch.utils.flop_counter.FlopCounterMode`` on those layers.
Torch-Pruning's ``count_ops_and_params`` gives slightly more because it also counts BN/ReLU/add.
Params count every parameter of the model (batch norm included).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class Cost:
    """MACs (conv + linear) and parameter count; ``flops`` is ``2 * macs``."""

    macs: int
    params: int

    @property
    def flops(self) -> int:
        return 2 * self.macs


def _layer_macs(module: nn.Module, output: torch.Tensor) -> int:
    if isinstance(module, nn.modules.conv._ConvNd):
        # Each output element takes (in_channels / groups) * prod(kernel) multiply-accumulates.
        per_output = module.in_channels // module.groups
        for k in module.kernel_size:
            per_output *= k
        return per_output * output.numel()
    if isinstance(module, nn.Linear):
        return module.in_features * output.numel()
    return 0


@torch.no_grad()
def count_cost(model: nn.Module, input_size: tuple[int, ...]) -> Cost:
    """Count MACs (for one image) and parameters with forward hooks.

    Args:
        model: any module; it is run once on zeros of shape ``(1, *input_size)``.
        input_size: ``(C, H, W)`` of one input.
    """
    counted: list[int] = []

    def hook(module: nn.Module, _inputs: tuple, output: torch.Tensor) -> None:
        counted.append(_layer_macs(module, output))

    layers = [m for m in model.modules() if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear))]
    handles = [layer.register_forward_hook(hook) for layer in layers]
    was_training = model.training
    try:
        parameter = next(model.parameters(), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
        model.eval()(torch.zeros((1, *input_size), device=device))
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    params = sum(p.numel() for p in model.parameters())
    return Cost(macs=int(sum(counted)), params=int(params))
