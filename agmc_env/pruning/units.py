"""Prunable units: groups of coupled layers that must lose the same output channels.

A unit is one group of Torch-Pruning's dependency graph (a conv or linear layer, its batch norm,
whatever is tied to it through residual adds, depthwise convs or concats, and the input channels of
the layers that consume it). Two unit sets:

- ``"inner"`` (AMC/AGMC's choice for ResNets): groups whose channels never reach an elementwise add,
  a concat, a split or a channel pad, i.e. channels that stay inside one block (the first conv of a
  basic block, the expansion conv of an inverted residual). Decided from the graph, not from names.
- ``"all"``: every prunable group, residual streams included.

The classifier's outputs (any group that reaches the model output) are never a unit.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn

from agmc_env.errors import ConfigError, UnsupportedModelError
from agmc_env.layer_table import LayerTable, describe_layers
from agmc_env.pruning import tp_adapter

UNIT_SETS = ("inner", "all")


@dataclass(frozen=True)
class PrunableUnit:
    """One group of coupled layers pruned together.

    Attributes:
        index: position in network order (execution order of the root layers).
        name: the root layer's qualified module name, e.g. ``"layer1.0.conv1"``.
        module_names: every conv/linear of the group whose output channels are cut.
        consumer_names: convs/linears whose input channels shrink with it.
        channels: prunable channels of the group.
        items: every tensor dimension the group cuts, with the index mapping from root channels
            (filled by :func:`find_units`; lets pruning and costing skip re-tracing the model).
    """

    index: int
    name: str
    module_names: tuple[str, ...]
    consumer_names: tuple[str, ...]
    channels: int
    items: tuple[tp_adapter.GroupItem, ...] = field(default=(), repr=False, compare=False)


def _check_units(units: str) -> None:
    if units not in UNIT_SETS:
        raise ConfigError(f"units must be one of {UNIT_SETS}, got {units!r}")


def unit_groups(
    model: nn.Module, input_size: Sequence[int], units: str = "inner", layers: LayerTable | None = None
) -> list[tp_adapter.GroupInfo]:
    """The dependency groups behind :func:`find_units`, in the same order."""
    _check_units(units)
    if layers is None:
        layers = describe_layers(model, input_size)
    layers.check_input_size(input_size)
    graph = tp_adapter.build_dependency_graph(model, input_size)
    selected = []
    for info in tp_adapter.iter_groups(graph, layers.names):
        if info.touches_output or info.grouped_conv is not None or info.channels < 2:
            continue
        if units == "all" and info.channel_pad is not None:
            raise UnsupportedModelError(
                f"units='all' cannot prune the group rooted at {info.root_name!r}: its channels pass "
                f"a channel zero-padding op ({info.channel_pad}, e.g. an option-A ResNet shortcut), "
                "which Torch-Pruning's dependency graph does not track, so pruning it would silently "
                "produce a broken model. Use units='inner' for this model."
            )
        if units == "inner" and info.touches_stream:
            continue
        selected.append(info)
    return selected


def find_units(
    model: nn.Module, input_size: Sequence[int], units: str = "inner", layers: LayerTable | None = None
) -> list[PrunableUnit]:
    """The prunable units of ``model`` in network order.

    Args:
        model: any traceable CNN; it is run on zeros (not modified).
        input_size: ``(C, H, W)`` of one input.
        units: ``"inner"`` (channels that stay inside a block) or ``"all"`` (every prunable group).
            (default: ``"inner"``)
        layers: the model's :func:`~agmc_env.layer_table.describe_layers` table, if already built
            (it gives the network order). (default: ``None``: described here)

    Raises:
        ConfigError: an unknown ``units``.
        UnsupportedModelError: ``units="all"`` on a model whose residual stream passes a channel
            zero-padding shortcut (option-A ResNets), which cannot be pruned correctly.
    """
    found = []
    for index, info in enumerate(unit_groups(model, input_size, units, layers)):
        producers = tuple(i.module_name for i in info.items if i.kind in ("out", "depthwise"))
        consumers = tuple(i.module_name for i in info.items if i.kind == "in")
        found.append(PrunableUnit(index, info.root_name, producers, consumers, info.channels, info.items))
    return found


def kept_channels(channels: int, ratio: float, round_to: int | None = None) -> int:
    """How many of ``channels`` a pruning ``ratio`` keeps: the one rule every module uses.

    ``round(channels * (1 - ratio))`` (halves round up), then, with ``round_to``, to the nearest
    multiple of it; never fewer than one channel (or one multiple) and never more than ``channels``.
    Non-increasing in ``ratio``, which the budget wall relies on.

    Args:
        channels: channels of the unit (>= 1).
        ratio: fraction to remove, in ``[0, 1]``.
        round_to: keep a multiple of this many channels (e.g. 8 for tensor cores). (default: ``None``)
    """
    if not 0.0 <= ratio <= 1.0:  # also rejects NaN
        raise ConfigError(f"ratio must be in [0, 1], got {ratio!r}")
    if channels < 1:
        raise ConfigError(f"channels must be >= 1, got {channels}")
    if round_to is not None and round_to < 1:
        raise ConfigError(f"round_to must be None or >= 1, got {round_to}")
    kept = math.floor(channels * (1.0 - ratio) + 0.5)
    if round_to is not None and round_to > 1:
        kept = round_to * max(1, math.floor(kept / round_to + 0.5))
    return int(min(channels, max(1, kept)))


def with_items(
    units: Sequence[PrunableUnit], model: nn.Module, input_size: Sequence[int] | None = None
) -> list[PrunableUnit]:
    """``units`` with their group items filled in (traced from ``model`` only where missing)."""
    if all(u.items for u in units):
        return list(units)
    if input_size is None:
        raise ConfigError("units without group items (not made by find_units) need input_size to trace the model")
    graph = tp_adapter.build_dependency_graph(model, input_size)
    modules = dict(model.named_modules())
    filled = []
    for unit in units:
        if unit.name not in modules:
            raise ConfigError(f"unit {unit.name!r} is not a module of this model")
        info = tp_adapter.describe_group(graph, modules[unit.name])
        if info.channels != unit.channels:
            raise ConfigError(f"unit {unit.name!r} has {info.channels} channels in this model, not {unit.channels}")
        filled.append(
            PrunableUnit(unit.index, unit.name, unit.module_names, unit.consumer_names, unit.channels, info.items)
        )
    return filled
