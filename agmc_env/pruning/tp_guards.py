"""Guards of the Torch-Pruning adapter (:mod:`agmc_env.pruning.tp_adapter`) against its failure modes.

- An op whose channel mapping Torch-Pruning cannot work out (ShuffleNet-V2's channel shuffle, a 5-D
  reshape it divides by zero on; Swin-S/B's window concat it cannot size) does not fail the whole
  graph: while :func:`tolerant_index_mapping` is active, the node is recorded as *opaque*
  (:func:`opaque_nodes`), keeps no mapping, and every group that reaches it is refused.
- Before a group is expanded, :func:`survey_group` counts the channel indices Torch-Pruning would
  materialise for it: its index lists grow by a reshape's stride at every flatten they meet, which
  on Swin/MaxViT reaches gigabytes. A group over :data:`MAX_GROUP_INDICES` is not expanded.

Only this module and the adapter import ``torch_pruning``.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch_pruning as tp
from torch import nn
from torch_pruning.dependency import index_mapping
from torch_pruning.dependency.index_mapping import _FlattenIndexMapping

# Channel indices Torch-Pruning may materialise for one group (about 100 bytes each in its lists):
# 2 million is ~0.2 GB. Convnets stay far below (VGG-16's flatten into its classifier: 25,088);
# Swin's and MaxViT's residual streams, seen through their window reshapes, go far above.
MAX_GROUP_INDICES = 2_000_000

# Torch-Pruning's per-node index-mapping updates (module functions it looks up at call time).
_NODE_MAPPINGS = (
    "update_concat_index_mapping", "update_split_index_mapping", "update_reshape_index_mapping",
    "update_unbind_index_mapping", "update_expand_index_mapping", "update_slice_index_mapping",
    "update_flatten_index_mapping",
)  # fmt: skip


def _tolerant(update: Callable[..., object]) -> Callable[..., object]:
    @functools.wraps(update)
    def tolerant_update(graph: tp.DependencyGraph, node: tp.dependency.Node, *args: object, **kwargs: object) -> object:
        try:
            return update(graph, node, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - any failure of the dependency's shape reasoning
            graph.__dict__.setdefault("agmc_opaque_nodes", {})[node] = f"{type(error).__name__}: {error}"
            return None

    return tolerant_update


@contextlib.contextmanager
def tolerant_index_mapping() -> Iterator[None]:
    """While active, a node whose index mapping Torch-Pruning fails to work out is recorded in
    ``graph.agmc_opaque_nodes`` (with the error) instead of failing the whole graph."""
    originals = {name: getattr(index_mapping, name) for name in _NODE_MAPPINGS if hasattr(index_mapping, name)}
    for name, update in originals.items():
        setattr(index_mapping, name, _tolerant(update))
    try:
        yield
    finally:
        for name, update in originals.items():
            setattr(index_mapping, name, update)


def opaque_nodes(graph: tp.DependencyGraph) -> dict[tp.dependency.Node, str]:
    """Nodes whose channel mapping Torch-Pruning could not work out, with its error."""
    return graph.__dict__.get("agmc_opaque_nodes", {})


def op_location(graph: tp.DependencyGraph, node: tp.dependency.Node, limit: int = 200) -> str:
    """Where a functional op (no module of its own) sits: the block its nearest named inputs share.

    Each path upstream stops at the first node of a named module; the answer is those names'
    common dotted prefix (e.g. ``'stage2.0'`` for the channel shuffle at the end of that block).
    """
    names = graph._module2name
    found: list[str] = []
    stack, seen = list(node.inputs), set()
    while stack and len(seen) < limit:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if isinstance(current.module, nn.Module) and current.module in names:
            found.append(names[current.module])
        else:
            stack.extend(current.inputs)
    if not found:
        return "at the model input"
    parts = [name.split(".") for name in found]
    common = []
    for pieces in zip(*parts):
        if len(set(pieces)) > 1:
            break
        common.append(pieces[0])
    block = ".".join(common)
    return f"in {block!r}" if block and block not in found else f"after {sorted(set(found))[0]!r}"


def describe_opaque(graph: tp.DependencyGraph, node: tp.dependency.Node) -> str:
    grad_name = node.grad_fn.name() if node.grad_fn is not None else str(node.type)
    return f"a {grad_name} op {op_location(graph, node)} ({opaque_nodes(graph)[node][:120]})"


@dataclass(frozen=True)
class GroupSurvey:
    """What :func:`survey_group` found without expanding a group.

    Attributes:
        indices: channel indices the expansion would materialise, at most (once over ``limit``, the
            walk stopped: only known to exceed it).
        opaque: name of an op whose channel mapping Torch-Pruning could not work out that the group
            reaches, or ``None``.
    """

    indices: int
    opaque: str | None = None


def survey_group(graph: tp.DependencyGraph, module: nn.Module, limit: int = MAX_GROUP_INDICES) -> GroupSurvey:
    """Survey the group of ``module``'s output channels before Torch-Pruning expands it.

    Walks the same dependencies as ``DependencyGraph.get_pruning_group`` with index *counts* instead
    of index lists: a flatten multiplies the count by its stride, an unflatten divides it, a concat,
    split or slice keeps it (an upper bound). Stops as soon as the sum passes ``limit`` or the walk
    reaches an opaque node (see :func:`opaque_nodes`), so the survey itself stays cheap.
    """
    opaque = opaque_nodes(graph)
    pruner = graph.get_pruner_of_module(module)
    first = int(pruner.get_out_channels(module))
    stack = [(graph.module2node[module], pruner.prune_out_channels, first)]
    largest: dict[tuple[object, object], int] = {}
    total = first
    while stack:
        node, trigger, count = stack.pop()
        for dep in node.dependencies:
            if not dep.is_triggered_by(trigger):
                continue
            if dep.target in opaque:
                return GroupSurvey(total, describe_opaque(graph, dep.target))
            mapped = count
            for mapping in dep.index_mapping:
                if isinstance(mapping, _FlattenIndexMapping):
                    stride = mapping._stride
                    mapped = math.ceil(mapped / stride) if mapping.reverse else mapped * stride
            key = (dep.target, dep.handler)
            if mapped == 0 or largest.get(key, 0) >= mapped:
                continue
            largest[key] = mapped
            total += mapped
            if total > limit:
                return GroupSurvey(total)
            stack.append((dep.target, dep.handler, mapped))
    return GroupSurvey(total)
