"""The fixed operation vocabulary and the per-node features of a model graph.

The features describe what a node *is* in the network's structure, not where it sits in the chain:
two convs of the same shape in the same stage get the same row, so a graph encoder gives the
repeated blocks of a stage alike embeddings and different stages different ones (what decides a
budgeted search is how pruning is split between stages). The unit's position is part of the env's
dynamic state already.

Feature vector of a node (:data:`NUM_FEATURES` = 24 floats, in this order, :data:`FEATURE_NAMES`):

- one-hot operation type over :data:`OPS` (11);
- ``log2(1 + v) / 16`` of in channels, out channels, kernel size, stride, groups, input spatial
  size and output spatial size (7). Spatial sizes are ``H * W`` (1 for flat tensors), kernel and
  stride the largest side (3 for 3x3; 1 for ops without them), read from the module's attributes.
  Dividing by 16 keeps values of real networks (up to 2**16 pixels or channels) in about [0, 1];
- the change the node makes: ``log2(out / in)`` of the channels and of the spatial size, divided by
  4 and clipped to [-1, 1] (a stride-2 conv gives -0.5 for its resolution, a 6x expansion 0.65) (2);
- the node's MACs and parameters relative to the average conv/linear layer of the model,
  ``log2(1 + share * L)`` with ``L`` the number of conv/linear nodes (an average layer gets 1; a
  layer with 4x the average MACs 2.3), so the figure does not shrink with the depth of the model.
  MACs are read from the model's :class:`~agmc_env.layer_table.LayerTable`, as
  :mod:`agmc_env.cost` counts them (2);
- a prunable flag: 1 for conv and linear layers, whose output channels can be cut (1);
- a residual-branch flag: 1 when a skip connection bypasses the node, i.e. some path from the
  input to the output avoids it (1).

``depth_encoding=True`` appends the encoding of the first version (AGMC-style "where in the chain"):
relative depth ``d`` in [0, 1] (longest path from the input over the longest path of the graph) and
``sin(2 pi f d), cos(2 pi f d)`` for ``f`` in :data:`DEPTH_FREQUENCIES` (1 + 10 columns). It makes
every node distinguishable, which helps link prediction and hurts what the agent needs: embeddings
of it are close to random codes of the depth (see :mod:`agmc_env.embedding.quality`).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass

import torch
from torch import fx, nn
from torch.fx.passes.shape_prop import TensorMetadata

OPS = (
    "conv", "depthwise_conv", "linear", "batch_norm", "activation", "pooling",
    "add", "concat", "flatten", "mul", "other",
)  # fmt: skip
_SCALARS = ("in_channels", "out_channels", "kernel", "stride", "groups", "in_spatial", "out_spatial")
FEATURE_NAMES = (
    *(f"op_{op}" for op in OPS), *(f"log_{name}" for name in _SCALARS), "channel_change", "spatial_change",
    "relative_macs", "relative_params", "prunable", "residual_branch",
)  # fmt: skip
NUM_FEATURES = len(FEATURE_NAMES)
DEPTH_FREQUENCIES = (1, 2, 4, 8, 16)
DEPTH_FEATURE_NAMES = ("depth", *(f"{f}_{k}" for k in DEPTH_FREQUENCIES for f in ("sin", "cos")))
PRUNABLE_OPS = ("conv", "depthwise_conv", "linear")
_LOG_SCALE = 16.0
_CHANGE_SCALE = 4.0

_FUNCTIONS = {
    "activation": {
        torch.relu, torch.relu_, torch.sigmoid, torch.tanh, nn.functional.relu, nn.functional.relu6,
        nn.functional.hardswish, nn.functional.hardsigmoid, nn.functional.silu, nn.functional.gelu,
        nn.functional.leaky_relu, nn.functional.elu, nn.functional.sigmoid, nn.functional.softmax,
    },
    "pooling": {
        nn.functional.max_pool2d, nn.functional.avg_pool2d, nn.functional.adaptive_avg_pool2d,
        nn.functional.adaptive_max_pool2d, nn.functional.max_pool1d, nn.functional.avg_pool1d,
        torch.mean,
    },
    "add": {operator.add, operator.iadd, torch.add},
    "concat": {torch.cat, torch.concat},
    "flatten": {torch.flatten},
    "mul": {operator.mul, operator.imul, torch.mul},
}  # fmt: skip
_METHODS = {
    "activation": {"relu", "relu_", "sigmoid", "sigmoid_", "tanh", "softmax"},
    "pooling": {"mean"},
    "add": {"add", "add_"},
    "flatten": {"flatten"},
    "mul": {"mul", "mul_"},
}
_NORMS = (nn.modules.batchnorm._NormBase, nn.GroupNorm, nn.LayerNorm)


@dataclass(frozen=True)
class NodeInfo:
    """Raw attributes of one graph node (the features are derived from these).

    Attributes:
        op: one of :data:`OPS`.
        in_shape, out_shape: tensor shapes for a batch of one (first tensor in, first tensor out).
        in_channels, out_channels, kernel, stride, groups, in_spatial, out_spatial: as described in
            the module docstring.
        macs: multiply-accumulates for one input (conv and linear only, else 0).
        params: parameters of the node's module (0 for functions).
        depth: longest path from the input (the first operation has depth 0).
        residual_branch: a skip connection bypasses the node (see :func:`bypassed_nodes`).
    """

    op: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    in_channels: int
    out_channels: int
    kernel: int
    stride: int
    groups: int
    in_spatial: int
    out_spatial: int
    macs: int
    params: int
    depth: int
    residual_branch: bool = False


def classify(node: fx.Node, module: nn.Module | None) -> str:
    """The operation type of an fx node (``module`` is its ``nn.Module`` for ``call_module``)."""
    if module is not None:
        if isinstance(module, nn.modules.conv._ConvNd):
            depthwise = module.groups > 1 and module.groups == module.in_channels
            return "depthwise_conv" if depthwise else "conv"
        if isinstance(module, nn.Linear):
            return "linear"
        if isinstance(module, _NORMS):
            return "batch_norm"
        if type(module).__module__ == "torch.nn.modules.activation":
            return "activation"
        if type(module).__module__ == "torch.nn.modules.pooling":
            return "pooling"
        if isinstance(module, nn.Flatten):
            return "flatten"
        return "other"
    table = _FUNCTIONS if node.op == "call_function" else _METHODS if node.op == "call_method" else {}
    for op, targets in table.items():
        if node.target in targets:
            return op
    if node.op == "call_method" and node.target in ("view", "reshape"):
        out_shape = _shape(node)
        if out_shape is not None and len(out_shape) == 2:
            return "flatten"  # x.view(x.size(0), -1)
    return "other"


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    """Shape of the node's (first) output tensor, or ``None`` when it holds no tensor."""
    meta = node.meta.get("tensor_meta")
    while isinstance(meta, (tuple, list)) and not isinstance(meta, TensorMetadata) and meta:
        meta = meta[0]  # a split (chunk) or other multi-output op: its first tensor
    return tuple(meta.shape) if isinstance(meta, TensorMetadata) else None


def _spatial(shape: tuple[int, ...]) -> int:
    return math.prod(shape[2:]) if len(shape) > 2 else 1


def _side(value: int | tuple[int, ...]) -> int:
    return max(value) if isinstance(value, tuple) else int(value)


def _channels(shape: tuple[int, ...]) -> int:
    return int(shape[1]) if len(shape) > 1 else 1  # C of (N, C, ...) or F of (N, F)


def node_info(node: fx.Node, module: nn.Module | None, op: str, depth: int, macs: int = 0) -> NodeInfo:
    """Raw attributes of a tensor-valued node, read from its shapes and its module.

    ``macs`` is the node's entry in the model's :class:`~agmc_env.layer_table.LayerTable` (0 for
    anything but a conv/linear call).
    """
    out_shape = _shape(node) or ()
    inputs = [s for s in (_shape(a) for a in node.all_input_nodes) if s is not None]
    in_shape = inputs[0] if inputs else out_shape
    kernel = stride = groups = 1
    params = 0
    if module is not None:
        kernel = _side(getattr(module, "kernel_size", 1))
        stride = _side(getattr(module, "stride", 1))
        groups = int(getattr(module, "groups", 1))
        params = sum(p.numel() for p in module.parameters())
    return NodeInfo(
        op=op,
        in_shape=in_shape,
        out_shape=out_shape,
        in_channels=_channels(in_shape),
        out_channels=_channels(out_shape),
        kernel=kernel,
        stride=stride,
        groups=groups,
        in_spatial=_spatial(in_shape),
        out_spatial=_spatial(out_shape),
        macs=macs,
        params=params,
        depth=depth,
    )


def bypassed_nodes(num_nodes: int, edges: list[tuple[int, int]]) -> list[bool]:
    """Which nodes of a DAG, numbered in topological order, some input-to-output path avoids.

    A path avoids node ``v`` exactly when it uses an edge ``a -> b`` with ``a < v < b`` (every path
    runs through increasing numbers), so the nodes strictly inside an edge's span are bypassed: the
    block-internal layers of a residual block, not the layers every input passes through.
    """
    starts = [0] * (num_nodes + 1)
    for source, target in edges:
        if target > source + 1:
            starts[source + 1] += 1
            starts[target] -= 1
    covered, running = [], 0
    for node in range(num_nodes):
        running += starts[node]
        covered.append(running > 0)
    return covered


def _log_change(before: int, after: int) -> float:
    if before <= 0 or after <= 0:
        return 0.0
    return max(-1.0, min(1.0, math.log2(after / before) / _CHANGE_SCALE))


def _relative(value: int, total: int, layers: int) -> float:
    return math.log2(1 + value / total * layers) if total else 0.0


def feature_matrix(infos: list[NodeInfo], total_params: int, depth_encoding: bool = False) -> torch.Tensor:
    """The ``[N, F]`` float32 node-feature matrix described in the module docstring.

    ``F`` is :data:`NUM_FEATURES`, plus ``len(DEPTH_FEATURE_NAMES)`` with ``depth_encoding``.
    """
    total_macs = sum(info.macs for info in infos)
    layers = sum(info.op in PRUNABLE_OPS for info in infos)
    max_depth = max((info.depth for info in infos), default=0)
    rows = []
    for info in infos:
        one_hot = [1.0 if info.op == op else 0.0 for op in OPS]
        scalars = [math.log2(1 + getattr(info, name)) / _LOG_SCALE for name in _SCALARS]
        changes = [_log_change(info.in_channels, info.out_channels), _log_change(info.in_spatial, info.out_spatial)]
        shares = [_relative(info.macs, total_macs, layers), _relative(info.params, total_params, layers)]
        flags = [float(info.op in PRUNABLE_OPS), float(info.residual_branch)]
        row = one_hot + scalars + changes + shares + flags
        if depth_encoding:
            depth = info.depth / max_depth if max_depth else 0.0
            row += [depth] + [f(2 * math.pi * k * depth) for k in DEPTH_FREQUENCIES for f in (math.sin, math.cos)]
        rows.append(row)
    width = NUM_FEATURES + (len(DEPTH_FEATURE_NAMES) if depth_encoding else 0)
    return torch.tensor(rows, dtype=torch.float32).reshape(len(infos), width)
