"""Counted compute and size of a model: MACs of conv and linear layers, and parameters.

Convention (as in the AGMC and AMC papers): MACs count multiply-accumulates of ``nn.Conv*`` and
``nn.Linear`` layers only (batch norm, activations, pooling and adds are not counted), and
FLOPs = 2 × MACs. This agrees with ``torch.utils.flop_counter.FlopCounterMode`` on those layers.
Torch-Pruning's ``count_ops_and_params`` gives slightly more because it also counts BN/ReLU/add.
Params count every parameter of the model (batch norm included).
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from agmc_env.layer_table import LayerTable, describe_layers


@dataclass(frozen=True)
class Cost:
    """MACs (conv + linear) and parameter count; ``flops`` is ``2 * macs``."""

    macs: int
    params: int

    @property
    def flops(self) -> int:
        return 2 * self.macs

    @classmethod
    def of(cls, layers: LayerTable) -> Cost:
        """The cost of the model a :class:`~agmc_env.layer_table.LayerTable` describes."""
        return cls(macs=layers.macs, params=layers.params)


def count_cost(model: nn.Module, input_size: tuple[int, ...]) -> Cost:
    """Count MACs (for one image) and parameters.

    Args:
        model: any module; it is run once on zeros of shape ``(1, *input_size)``
            (see :func:`agmc_env.layer_table.describe_layers`).
        input_size: ``(C, H, W)`` of one input.
    """
    return Cost.of(describe_layers(model, input_size))
