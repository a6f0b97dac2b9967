"""Prunable units: groups of coupled layers that must lose the same output channels.

A unit (:class:`PrunableUnit`) is one group of Torch-Pruning's dependency graph: a conv or linear
layer, its batch norm, whatever is tied to it through residual adds, depthwise convs or concats, and
the input channels of the layers that consume it. :func:`kept_channels` is the one rule for what a
ratio keeps. Which groups are units, and why some are left out, is
:mod:`agmc_env.pruning.unit_search`'s business.

A group with a grouped conv (ResNeXt, RegNet) or a group norm is a unit with ``channel_groups > 1``:
it keeps a multiple of ``channel_groups`` channels, the same positions of every channel group, so
each conv group keeps the same width (Torch-Pruning's ``MetaPruner`` convention).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from torch import nn

from agmc_env.errors import ConfigError
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
        channel_groups: channel groups of its grouped convs / group norms (1: none); the unit keeps
            a multiple of it, the same positions in every group.
    """

    index: int
    name: str
    module_names: tuple[str, ...]
    consumer_names: tuple[str, ...]
    channels: int
    items: tuple[tp_adapter.GroupItem, ...] = field(default=(), repr=False, compare=False)
    channel_groups: int = 1

    def kept(self, ratio: float, round_to: int | None = None) -> int:
        """Channels this unit keeps at ``ratio``: :func:`kept_channels` in steps of ``channel_groups``
        (and of ``round_to``: their least common multiple)."""
        step = math.lcm(self.channel_groups, round_to or 1)
        return kept_channels(self.channels, ratio, step if step > 1 else None)


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
        filled.append(dataclasses.replace(unit, items=info.items, channel_groups=info.channel_groups))
    return filled
