"""One traced description of a model's conv and linear layers: shapes, output positions, MACs, params.

:func:`describe_layers` runs the model once on zeros with forward hooks and records every call of a
conv or linear layer in execution order. The cost counter (:func:`agmc_env.cost.count_cost`), the
analytic cost models of :mod:`agmc_env.pruning`, the order of Torch-Pruning's groups and the MACs of
the model graph's nodes all read this table, so the model runs once for all of them and the MAC
formula (:func:`macs_per_output`) is written once.

Example:
    >>> from agmc_env.layer_table import describe_layers
    >>> from agmc_env.models import get_model
    >>> table = describe_layers(get_model("resnet20", pretrained=False), (3, 32, 32))
    >>> table.macs, table.names[:2]
    (40551040, ['conv1', 'layer1.0.conv1'])
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from agmc_env.errors import ConfigError

LAYER_TYPES = (nn.modules.conv._ConvNd, nn.Linear)


def macs_per_output(module: nn.Module) -> int:
    """Multiply-accumulates behind one output element of a conv or linear layer.

    ``in_channels / groups * prod(kernel_size)`` for a conv, ``in_features`` for a linear layer (read
    from the module's attributes, which Torch-Pruning keeps in step with the weights). A layer's MACs
    are this times its output elements: the one MAC formula of the package.
    """
    if isinstance(module, nn.modules.conv._ConvNd):
        return module.in_channels // module.groups * math.prod(module.kernel_size)
    if isinstance(module, nn.Linear):
        return module.in_features
    raise ConfigError(f"only conv and linear layers do MACs, got {type(module).__name__}")


def output_width(module: nn.Module) -> int:
    """Output channels of a conv, output features of a linear layer."""
    return module.out_channels if isinstance(module, nn.modules.conv._ConvNd) else module.out_features


@dataclass(frozen=True)
class LayerCall:
    """One call of a conv or linear layer in the forward pass of one input.

    Attributes:
        name: qualified module name, e.g. ``"layer1.0.conv1"``.
        module_type: the module's class name, e.g. ``"Conv2d"``.
        in_shape, out_shape: shapes of its (first) input and its output, for a batch of one.
        positions: output positions: pixels for a conv (``H * W``), rows for a linear layer; every
            weight is used once per position.
        macs: multiply-accumulates of this call.
        params: the layer's own parameters (weight and bias), the same for every call.
    """

    name: str
    module_type: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    positions: int
    macs: int
    params: int


@dataclass(frozen=True)
class LayerTable:
    """Every conv/linear call of a model, in execution order (see :func:`describe_layers`).

    Attributes:
        input_size: ``(C, H, W)`` of the one input the model ran on.
        calls: one :class:`LayerCall` per call; a layer called twice appears twice.
        params: every parameter of the model (batch norm and unused layers included).
        output_shape: the shape of the model's output for a batch of one (``()`` when it did not
            return one tensor).
    """

    input_size: tuple[int, ...]
    calls: tuple[LayerCall, ...]
    params: int
    output_shape: tuple[int, ...] = ()

    @property
    def macs(self) -> int:
        """Conv + linear MACs of the whole forward pass."""
        return sum(call.macs for call in self.calls)

    @property
    def names(self) -> list[str]:
        """Names of the layers that ran, in the order of their first call."""
        return list(dict.fromkeys(call.name for call in self.calls))

    def positions(self) -> dict[str, int]:
        """Output positions of each layer that ran, summed over its calls (first-call order)."""
        return self._sum_per_layer("positions")

    def layer_macs(self) -> dict[str, int]:
        """MACs of each layer that ran, summed over its calls (first-call order)."""
        return self._sum_per_layer("macs")

    def calls_of(self, name: str) -> list[LayerCall]:
        """The calls of layer ``name``, in execution order (empty if it never ran)."""
        return [call for call in self.calls if call.name == name]

    def check_input_size(self, input_size: Sequence[int]) -> None:
        """Refuse a table traced on another input size than the one a caller was given."""
        if tuple(input_size) != self.input_size:
            raise ConfigError(f"layers were described for input_size {self.input_size}, not {tuple(input_size)}")

    def _sum_per_layer(self, field: str) -> dict[str, int]:
        totals: dict[str, int] = {}
        for call in self.calls:
            totals[call.name] = totals.get(call.name, 0) + getattr(call, field)
        return totals


def _first_tensor(value: object) -> torch.Tensor | None:
    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (tuple, list)) and value:
        return _first_tensor(value[0])
    return None


@torch.no_grad()
def describe_layers(model: nn.Module, input_size: Sequence[int], model_name: str | None = None) -> LayerTable:
    """Run ``model`` once on zeros and describe each conv/linear call (see :class:`LayerTable`).

    The model runs in ``eval()`` mode (batch norm statistics are not touched) on the device of its
    parameters; every module's train/eval flag is restored afterwards.

    Args:
        model: any module.
        input_size: ``(C, H, W)`` of one input; the model gets a batch of one, of zeros.
        model_name: how errors name the model. (default: its class name)

    Raises:
        ConfigError: (option ``input_size``) the model cannot run on one input of that size: a
            channel count it does not take, an image too small for its strides, a ``forward``
            that needs more than one input, ...
    """
    names = {module: name for name, module in model.named_modules()}
    calls: list[LayerCall] = []

    def record(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
        first_input = _first_tensor(inputs)
        out_shape = tuple(output.shape)
        calls.append(
            LayerCall(
                name=names[module],
                module_type=type(module).__name__,
                in_shape=tuple(first_input.shape) if first_input is not None else (),
                out_shape=out_shape,
                positions=output.numel() // output_width(module),
                macs=macs_per_output(module) * output.numel(),
                params=sum(p.numel() for p in module.parameters()),
            )
        )

    handles = [m.register_forward_hook(record) for m in model.modules() if isinstance(m, LAYER_TYPES)]
    training = {module: module.training for module in model.modules()}
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    try:
        output = model.eval()(torch.zeros((1, *input_size), device=device))
    except Exception as error:  # torch raises RuntimeError, TypeError, ValueError, IndexError...
        name = model_name or type(model).__name__
        raise ConfigError.for_option(
            "input_size",
            f"{tuple(input_size)} does not fit model {name}: its forward pass on one synthetic input of "
            f"shape {(1, *input_size)} failed with {type(error).__name__}: {_first_line(error)}",
        ) from error
    finally:
        for handle in handles:
            handle.remove()
        for module, was_training in training.items():
            module.training = was_training
    params = sum(p.numel() for p in model.parameters())
    shape = tuple(output.shape) if isinstance(output, torch.Tensor) else ()
    return LayerTable(tuple(int(s) for s in input_size), tuple(calls), int(params), shape)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else "(no message)"
