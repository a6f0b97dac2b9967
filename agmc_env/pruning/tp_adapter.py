"""The one place that talks to Torch-Pruning: dependency graphs, coupled groups, physical removal.

Everything else in :mod:`agmc_env.pruning` sees Torch-Pruning only through the plain records made
here (:class:`GroupItem`, :class:`GroupInfo`), so a change in its API touches this file (and its
guards, :mod:`agmc_env.pruning.tp_guards`) alone.

Torch-Pruning's failures stay inside: a graph it cannot build at all raises
:class:`DependencyGraphError`, an :class:`~agmc_env.errors.UnsupportedModelError` naming the model;
an op it cannot map, or a group whose index lists would blow up, comes back as a group with a
``refusal`` (the guards of :mod:`agmc_env.pruning.tp_guards`), so the groups that never meet them
stay prunable.

Grouped (non-depthwise) convolutions and group norms are pruned the way Torch-Pruning's own
``MetaPruner`` prunes them: a group's channel grouping is the one its layers report
(``get_in_channel_groups`` / ``get_out_channel_groups``), and every channel group loses the same
positions, so the layer keeps its ``groups`` and every group keeps the same width.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
import torch_pruning as tp
from torch import nn

from agmc_env.errors import UnsupportedModelError
from agmc_env.pruning import tp_guards
from agmc_env.pruning.tp_guards import describe_opaque, op_location, opaque_nodes, survey_group, tolerant_index_mapping

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
    channel_groups: int = 1  # channel groups every layer of the group keeps (grouped conv, group norm)
    refusal: str | None = None  # why the group cannot be pruned (then ``items`` may be empty)
    reshape: str | None = None  # a reshape the group's channels pass (Torch-Pruning maps it by guesswork)


class DependencyGraphError(UnsupportedModelError):
    """Torch-Pruning could not build the dependency graph of a model or block."""


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


def build_dependency_graph(
    model: nn.Module, input_size: Sequence[int] | None = None, example: torch.Tensor | None = None
) -> tp.DependencyGraph:
    """Torch-Pruning's dependency graph of ``model``, traced once (train/eval flags restored).

    Args:
        model: the model, or a block of one.
        input_size: ``(C, H, W)``: the model is traced on a batch of one, of zeros.
        example: instead of ``input_size``, the input to trace on (a block's recorded input). It is
            fed through a marker op whose node :func:`input_node` finds, so groups that reach the
            block's input can be told from groups that stay inside it.

    Raises:
        DependencyGraphError: Torch-Pruning failed to build the graph (its own error is chained).
    """
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    if example is None:
        example = torch.zeros((1, *input_size), device=device)
    was_training = {module: module.training for module in model.modules()}
    try:
        with torch.enable_grad(), warnings.catch_warnings(), tolerant_index_mapping():
            # Its warnings (unknown ops, recursion depth of shape inference) are about its internals.
            warnings.filterwarnings("ignore", module="torch_pruning")
            leaf = example.detach().clone().requires_grad_(example.is_floating_point())
            marked = leaf * 1 if leaf.requires_grad else leaf
            # In a tuple: given a bare tensor, Torch-Pruning first tries model(*tensor), which runs a
            # model that accepts unbatched input (no batch norm) on one unbatched image.
            graph = tp.DependencyGraph().build_dependency(model.eval(), (marked,), verbose=False)
            graph.agmc_input_grad_fn = marked.grad_fn
            return graph
    except Exception as error:  # noqa: BLE001 - any failure inside the dependency (MemoryError included)
        raise DependencyGraphError(
            f"Torch-Pruning cannot build the dependency graph of {type(model).__name__} "
            f"({type(error).__name__}: {str(error).strip()[:200] or 'no message'})"
        ) from error
    finally:
        for module, training in was_training.items():
            module.training = training


def input_node(graph: tp.DependencyGraph) -> tp.dependency.Node | None:
    """The node of the marker op the traced input went through (``None`` if it is not in the graph)."""
    marker = getattr(graph, "agmc_input_grad_fn", None)
    if marker is None:
        return None
    return next((node for node in graph.module2node.values() if node.grad_fn is marker), None)


def _item_kind(graph: tp.DependencyGraph, module: nn.Module, handler: object) -> str:
    if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
        if is_depthwise(module):
            return "depthwise"
        return "out" if graph.is_out_channel_pruning_fn(handler) else "in"
    return "channel"


def _full_group(graph: tp.DependencyGraph, module: nn.Module) -> tp.dependency.Group:
    pruner = graph.get_pruner_of_module(module)
    return graph.get_pruning_group(module, pruner.prune_out_channels, list(range(pruner.get_out_channels(module))))


def _channel_groups(graph: tp.DependencyGraph, module: nn.Module, handler: object) -> int:
    """The channel groups Torch-Pruning's pruner reports for this dimension of ``module`` (1: none).

    As ``MetaPruner`` does, a depthwise conv is not grouped: it is pruned channel by channel.
    """
    pruner = graph.get_pruner_of_module(module)
    if pruner is None or is_depthwise(module):
        return 1
    if graph.is_out_channel_pruning_fn(handler):
        return int(pruner.get_out_channel_groups(module))
    return int(pruner.get_in_channel_groups(module))


def _opaque_refusal(op: str) -> str:
    return (
        f"its channels pass an op whose channel mapping Torch-Pruning cannot work out, {op} "
        "(e.g. a channel shuffle), so pruning them could silently mix up channels"
    )


def describe_group(graph: tp.DependencyGraph, module: nn.Module) -> GroupInfo:
    """The group that cutting ``module``'s output channels sets off, as a :class:`GroupInfo`.

    Raises:
        DependencyGraphError: Torch-Pruning failed while expanding the group.
    """
    try:
        with warnings.catch_warnings(), tolerant_index_mapping():
            warnings.filterwarnings("ignore", module="torch_pruning")
            group = _full_group(graph, module)
    except Exception as error:  # noqa: BLE001 - any failure inside the dependency (MemoryError included)
        raise DependencyGraphError(
            f"Torch-Pruning cannot expand the group of {graph._module2name.get(module, '?')!r} "
            f"({type(error).__name__}: {str(error).strip()[:200] or 'no message'})"
        ) from error
    names = graph._module2name
    boundary = input_node(graph)
    opaque = opaque_nodes(graph)
    merged: dict[tuple[str, str], dict[int, int]] = {}
    touches_stream = touches_output = False
    channel_pad = blocked = reshape = None
    grouping: dict[str, int] = {}  # grouped layer -> its channel groups
    misaligned: str | None = None  # a grouped layer whose channels are not the root's, one to one
    for item in group.items:
        dep, idxs, root_idxs = item.dep, item.idxs, item.root_idxs
        node = dep.target
        grad_name = node.grad_fn.name() if node.grad_fn is not None else ""
        if node.type in _STREAM_TYPES or grad_name.startswith(_STREAM_GRAD_FNS) or node is boundary:
            touches_stream = True  # a block's input counts as stream: its channels come from outside
        if node in opaque:
            touches_stream = True
            blocked = blocked or describe_opaque(graph, node)
        elif node.type == tp.ops.OPTYPE.RESHAPE and reshape is None:
            reshape = f"a {grad_name or 'reshape'} op {op_location(graph, node)}"
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
        if not list(target.parameters(recurse=False)):
            continue
        kind = _item_kind(graph, target, dep.handler)
        covered = merged.setdefault((names[target], kind), {})
        covered.update(zip((int(i) for i in idxs), (int(r) for r in root_idxs)))
        groups = _channel_groups(graph, target, dep.handler)
        if groups > 1:
            grouping[names[target]] = groups
            if any(int(i) != int(r) for i, r in zip(idxs, root_idxs)):
                misaligned = misaligned or names[target]
    items = tuple(
        GroupItem(name, kind, len(covered), tuple(covered), tuple(covered.values()))
        for (name, kind), covered in merged.items()
    )
    pruner = graph.get_pruner_of_module(module)
    channels = int(pruner.get_out_channels(module))
    # MetaPruner's convention: root channel r is position r % (channels / groups) of channel group
    # r // (channels / groups); removing a position from every group keeps the groups equal. That
    # holds for a grouped layer whose channels are the root's one to one, over the whole dimension.
    channel_groups = math.lcm(*grouping.values()) if grouping else 1
    refusal = None
    if blocked is not None:
        refusal = _opaque_refusal(blocked)
    for item in items:
        if item.module_name in grouping and (misaligned or item.count != channels):
            refusal = (
                f"grouped layer {item.module_name!r} ({grouping[item.module_name]} channel groups) is not "
                f"coupled one to one with the {channels} channels of {names[module]!r}"
            )
    if refusal is None and channels % channel_groups:
        refusal = f"{channels} channels of {names[module]!r} do not split into {channel_groups} equal channel groups"
    return GroupInfo(
        root_name=names[module],
        channels=channels,
        items=items,
        touches_stream=touches_stream,
        touches_output=touches_output,
        channel_pad=channel_pad,
        channel_groups=channel_groups,
        refusal=refusal,
        reshape=reshape,
    )


def iter_groups(graph: tp.DependencyGraph, order: Sequence[str]) -> Iterator[GroupInfo]:
    """Every coupled group rooted at a conv/linear output, roots visited in ``order``.

    ``order`` is the conv/linear names in execution order (:attr:`agmc_env.layer_table.LayerTable.names`).
    A group that reaches an op Torch-Pruning cannot map, or whose expansion would exceed
    :data:`~agmc_env.pruning.tp_guards.MAX_GROUP_INDICES` channel indices, is not expanded, and one
    whose expansion fails inside Torch-Pruning is given up: each comes with ``refusal`` set and no
    items (its other layers may then root groups of their own, refused the same way).
    """
    modules = dict(graph.model.named_modules())
    visited: set[str] = set()
    for name in order:
        if name not in modules or name in visited or modules[name] not in graph.module2node:
            continue
        module = modules[name]
        pruner = graph.get_pruner_of_module(module)
        if pruner is None or pruner.get_out_channels(module) is None:
            continue
        visited.add(name)
        limit = tp_guards.MAX_GROUP_INDICES
        survey = survey_group(graph, module, limit)
        channels = int(pruner.get_out_channels(module))
        refusal = None
        if survey.opaque is not None:
            refusal = _opaque_refusal(survey.opaque)
        elif survey.indices > limit:
            refusal = (
                f"Torch-Pruning's dependency graph would expand the group of {name!r} into more than "
                f"{limit:,} channel indices (its reshapes multiply them; typical of attention blocks)"
            )
        if refusal is not None:
            # Channels an opaque op mixes are a block's stream; an unexpanded group could be anything.
            yield GroupInfo(
                name, channels, items=(), touches_stream=survey.opaque is not None, touches_output=False,
                channel_pad=None, refusal=refusal,
            )  # fmt: skip
            continue
        try:
            info = describe_group(graph, module)
        except DependencyGraphError as error:  # this group only: the others may expand fine
            yield GroupInfo(
                name, channels, items=(), touches_stream=False, touches_output=False, channel_pad=None,
                refusal=str(error),
            )  # fmt: skip
            continue
        visited.update(item.module_name for item in info.items if item.kind in ("out", "depthwise"))
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
