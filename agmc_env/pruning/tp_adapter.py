"""The one place that talks to Torch-Pruning: dependency graphs, coupled groups, physical removal.

Everything else in :mod:`agmc_env.pruning` sees Torch-Pruning only through the plain records made
here (:class:`GroupItem`, :class:`GroupInfo`), so a change in its API touches this file alone.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from agmc_env.errors import UnsupportedModelError

# grad_fn names of ops that merge tensors into a shared channel space (the "residual stream"):
# channels that pass through them are coupled across blocks. An elementwise *multiply* (a
# squeeze-and-excitation gate) is not among them: it couples channels inside one block only.
_STREAM_GRAD_FNS = ("AddBackward", "SubBackward", "CatBackward", "SplitBackward", "SplitWithSizesBackward")
_STREAM_TYPES = (tp.ops.OPTYPE.CONCAT, tp.ops.OPTYPE.SPLIT, tp.ops.OPTYPE.UNBIND)


@dataclass(frozen=True)
class GroupItem:
    """One tensor dimension cut by a group.

    Attributes:
        module_name: qualified name of the module whose dimension shrinks.
        kind: ``"out"`` (output channels of a conv/linear), ``"in"`` (its input channels),
            ``"depthwise"`` (a depthwise conv: in, out and groups shrink together), or
            ``"channel"`` (a per-channel module such as batch norm).
        count: how many entries of that dimension the group covers (``channels`` for a 1:1 coupling,
            ``channels * H * W`` where a flatten feeds a linear layer).
        idxs: the covered indices in the module's dimension, aligned with ``root_idxs``.
        root_idxs: the root channel each of ``idxs`` belongs to.
    """

    module_name: str
    kind: str
    count: int
    idxs: tuple[int, ...]
    root_idxs: tuple[int, ...]


@dataclass(frozen=True)
class GroupInfo:
    """A coupled group of Torch-Pruning's dependency graph, described in plain data."""

    root_name: str
    channels: int
    items: tuple[GroupItem, ...]
    touches_stream: bool  # passes an add/concat/split or a channel pad: the residual stream
    touches_output: bool  # reaches the model output: the classifier's outputs
    channel_pad: str | None  # name of a channel-padding op in the group (unsupported by Torch-Pruning)
    grouped_conv: str | None  # a grouped (not depthwise) conv Torch-Pruning cannot prune exactly


def is_depthwise(module: nn.Module) -> bool:
    """A conv with one group per channel (in, out and groups all equal)."""
    if not isinstance(module, nn.modules.conv._ConvNd):
        return False
    return module.groups > 1 and module.groups == module.in_channels == module.out_channels


def _is_channel_pad(node: tp.dependency.Node) -> bool:
    grad_fn = node.grad_fn
    if grad_fn is None or not grad_fn.name().startswith("ConstantPadNd"):
        return False
    pad = getattr(grad_fn, "_saved_pad", None)
    if pad is None:  # cannot tell which dimension it pads: assume the worst
        return True
    # F.pad lists (left, right) pairs from the last dimension backwards; on NCHW, pairs 3+ pad C or N.
    return any(int(p) != 0 for p in tuple(pad)[4:])


def build_dependency_graph(model: nn.Module, input_size: Sequence[int]) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model``, traced once on zeros (flags restored)."""
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    was_training = model.training
    try:
        with torch.enable_grad():
            return tp.DependencyGraph().build_dependency(
                model.eval(), torch.zeros((1, *input_size), device=device), verbose=False
            )
    finally:
        model.train(was_training)


def _item_kind(graph: tp.DependencyGraph, module: nn.Module, handler: object) -> str:
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        if is_depthwise(module):
            return "depthwise"
        return "out" if graph.is_out_channel_pruning_fn(handler) else "in"
    return "channel"


def _full_group(graph: tp.DependencyGraph, module: nn.Module) -> tp.dependency.Group:
    pruner = graph.get_pruner_of_module(module)
    return graph.get_pruning_group(module, pruner.prune_out_channels, list(range(pruner.get_out_channels(module))))


def describe_group(graph: tp.DependencyGraph, module: nn.Module) -> GroupInfo:
    """The group that cutting ``module``'s output channels sets off, as a :class:`GroupInfo`."""
    group = _full_group(graph, module)
    names = graph._module2name
    merged: dict[tuple[str, str], dict[int, int]] = {}
    touches_stream = touches_output = False
    channel_pad = grouped_conv = None
    for item in group.items:
        dep, idxs, root_idxs = item.dep, item.idxs, item.root_idxs
        node = dep.target
        grad_name = node.grad_fn.name() if node.grad_fn is not None else ""
        if node.type in _STREAM_TYPES or grad_name.startswith(_STREAM_GRAD_FNS):
            touches_stream = True
        if _is_channel_pad(node):
            touches_stream = True
            channel_pad = channel_pad or node.name
        target = node.module
        is_layer = isinstance(target, (nn.Linear, nn.modules.conv._ConvNd))
        consumed = is_layer and not graph.is_out_channel_pruning_fn(dep.handler)
        if not consumed and (node.type == tp.ops.OPTYPE.OUTPUT or not node.outputs):
            touches_output = True  # these channels flow, unconsumed, into the model's output
        if not isinstance(target, nn.Module) or target not in names:
            continue
        if isinstance(target, nn.modules.conv._ConvNd) and target.groups > 1 and not is_depthwise(target):
            grouped_conv = grouped_conv or names[target]
        if not list(target.parameters(recurse=False)):
            continue
        kind = _item_kind(graph, target, dep.handler)
        covered = merged.setdefault((names[target], kind), {})
        covered.update(zip((int(i) for i in idxs), (int(r) for r in root_idxs)))
    items = tuple(
        GroupItem(name, kind, len(covered), tuple(covered), tuple(covered.values()))
        for (name, kind), covered in merged.items()
    )
    pruner = graph.get_pruner_of_module(module)
    return GroupInfo(
        root_name=names[module],
        channels=int(pruner.get_out_channels(module)),
        items=items,
        touches_stream=touches_stream,
        touches_output=touches_output,
        channel_pad=channel_pad,
        grouped_conv=grouped_conv,
    )


def iter_groups(graph: tp.DependencyGraph, order: Sequence[str]) -> Iterator[GroupInfo]:
    """Every coupled group rooted at a conv/linear output, roots visited in ``order``.

    ``order`` is the conv/linear names in execution order (:attr:`agmc_env.layer_table.LayerTable.names`).
    """
    modules = dict(graph.model.named_modules())
    visited: set[str] = set()
    for name in order:
        if name in visited or modules[name] not in graph.module2node:
            continue
        info = describe_group(graph, modules[name])
        visited.update(item.module_name for item in info.items if item.kind in ("out", "depthwise"))
        visited.add(name)
        yield info


def remove_channels(model: nn.Module, removals: dict[tuple[str, str], Sequence[int]]) -> None:
    """Physically remove entries of module dimensions, in place.

    Args:
        model: the model to shrink.
        removals: ``(module_name, kind)`` (as in :class:`GroupItem`) -> indices, all in the
            *unpruned* index space; each dimension is cut once, so units sharing a dimension (a concat
            consumer) cannot shift each other's indices.
    """
    modules = dict(model.named_modules())
    for (name, kind), idxs in removals.items():
        if not idxs:
            continue
        module = modules[name]
        optype = tp.ops.module2type(module)
        if kind == "depthwise":
            optype = tp.ops.OPTYPE.DEPTHWISE_CONV
        pruner = tp.pruner.function.PrunerBox.get(optype)
        if pruner is None:
            raise UnsupportedModelError(f"Torch-Pruning cannot prune {name!r} ({type(module).__name__})")
        prune = pruner.prune_in_channels if kind == "in" else pruner.prune_out_channels
        prune(module, sorted(int(i) for i in idxs))
