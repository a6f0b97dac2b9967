"""Which dependency groups of a model are prunable units, and why the others are not.

Two unit sets:

- ``"inner"`` (AMC/AGMC's choice for ResNets): groups whose channels never reach an elementwise add,
  a concat, a split or a channel pad, i.e. channels that stay inside one block (the first conv of a
  basic block, the expansion conv of an inverted residual). Decided from the graph, not from names.
- ``"all"``: every prunable group, residual streams included.

The classifier's outputs (any group that reaches the model output) are never a unit.

Where Torch-Pruning cannot build the whole model's dependency graph, the ``"inner"`` units are found
block by block (:mod:`agmc_env.pruning.block_groups`); where an op cannot be mapped (a channel
shuffle) or a group would blow up its index lists (the attention blocks' residual streams), that
group is left out and the others (e.g. the MLP hidden widths) stay prunable; units whose channels
pass a reshape are checked against the masked model (:mod:`agmc_env.pruning.verify`).
:func:`search_units` says what was left out and why.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from torch import nn

from agmc_env.errors import ConfigError, UnsupportedModelError
from agmc_env.layer_table import LayerTable, describe_layers
from agmc_env.pruning import tp_adapter
from agmc_env.pruning.block_groups import block_groups
from agmc_env.pruning.units import UNIT_SETS, PrunableUnit
from agmc_env.pruning.verify import verify_units


@dataclass(frozen=True)
class UnitSearch:
    """What :func:`search_units` found, and what it left out.

    Attributes:
        units: the prunable units, in network order.
        refused: ``(root layer, reason)`` of groups that could be units but cannot be pruned.
        failed_blocks: ``(block, error)`` of the smallest blocks whose dependency graph Torch-Pruning
            could not build (only when the whole model's graph failed).
        blockwise: whether the units were found block by block (the whole graph failed).
    """

    units: tuple[PrunableUnit, ...]
    refused: tuple[tuple[str, str], ...] = ()
    failed_blocks: tuple[tuple[str, str], ...] = ()
    blockwise: bool = False

    def explain(self) -> str:
        """One sentence naming what was left out and why (empty if nothing was)."""
        parts = []
        if self.failed_blocks:
            names = ", ".join(repr(name) for name, _ in self.failed_blocks[:4])
            more = f" and {len(self.failed_blocks) - 4} more" if len(self.failed_blocks) > 4 else ""
            parts.append(f"Torch-Pruning cannot build the dependency graph of {names}{more} ({self.failed_blocks[0][1]})")
        if self.refused:
            root, reason = self.refused[0]
            more = f" (and {len(self.refused) - 1} more groups)" if len(self.refused) > 1 else ""
            parts.append(f"left out the group of {root!r}{more}: {reason}")
        return "; ".join(parts)


def _check_units(units: str) -> None:
    if units not in UNIT_SETS:
        raise ConfigError(f"units must be one of {UNIT_SETS}, got {units!r}")


def _selected(infos: Sequence[tp_adapter.GroupInfo], units: str, refused: list[tuple[str, str]]) -> list:
    selected = []
    for info in infos:
        if info.touches_output or info.channels < 2:
            continue
        if info.refusal is not None:  # recorded even where "inner" would skip it: it says why a group is missing
            refused.append((info.root_name, info.refusal))
            continue
        if units == "inner" and info.touches_stream:
            continue
        if units == "all" and info.channel_pad is not None:
            raise UnsupportedModelError(
                f"units='all' cannot prune the group rooted at {info.root_name!r}: its channels pass "
                f"a channel zero-padding op ({info.channel_pad}, e.g. an option-A ResNet shortcut), "
                "which Torch-Pruning's dependency graph does not track, so pruning it would silently "
                "produce a broken model. Use units='inner' (agmc: --units inner) for this model."
            )
        if info.channels // info.channel_groups < 2:
            continue  # one channel per group (e.g. a 1-wide group of a grouped conv): nothing to choose
        selected.append(info)
    return selected


def unit_groups(
    model: nn.Module, input_size: Sequence[int], units: str = "inner", layers: LayerTable | None = None
) -> tuple[list[tp_adapter.GroupInfo], UnitSearch]:
    """The dependency groups behind :func:`search_units`, in the same order, and the search's
    account of what it left out (its ``units`` still empty)."""
    _check_units(units)
    if layers is None:
        layers = describe_layers(model, input_size)
    layers.check_input_size(input_size)
    refused: list[tuple[str, str]] = []
    try:
        graph = tp_adapter.build_dependency_graph(model, input_size)
    except tp_adapter.DependencyGraphError as error:
        return _blockwise_groups(model, input_size, units, layers, error)
    return _selected(list(tp_adapter.iter_groups(graph, layers.names)), units, refused), UnitSearch((), tuple(refused))


def _blockwise_groups(
    model: nn.Module, input_size: Sequence[int], units: str, layers: LayerTable, error: Exception
) -> tuple[list[tp_adapter.GroupInfo], UnitSearch]:
    """:func:`unit_groups` for a model whose whole dependency graph failed (``error``): block by block."""
    search = block_groups(model, input_size, layers.names)
    failed = search.failed_blocks or (("<model>", str(error)),)
    if units == "all":
        blocks = ", ".join(f"{name!r}" for name, _ in failed[:4])
        raise UnsupportedModelError(
            f"units='all' needs Torch-Pruning's dependency graph of the whole {type(model).__name__}, which it "
            f"cannot build ({error}); the smallest blocks it fails on: {blocks}. Use units='inner' "
            "(agmc: --units inner), which prunes the channels inside each block it can trace"
        ) from error
    refused: list[tuple[str, str]] = []
    selected = _selected(search.groups, units, refused)
    return selected, UnitSearch((), tuple(refused), failed, blockwise=True)


def search_units(
    model: nn.Module, input_size: Sequence[int], units: str = "inner", layers: LayerTable | None = None
) -> UnitSearch:
    """The prunable units of ``model`` (see :func:`find_units`) with an account of what was left out."""
    infos, search = unit_groups(model, input_size, units, layers)
    found: list[PrunableUnit] = []
    for info in infos:
        producers = tuple(i.module_name for i in info.items if i.kind in ("out", "depthwise"))
        consumers = tuple(i.module_name for i in info.items if i.kind == "in")
        found.append(
            PrunableUnit(len(found), info.root_name, producers, consumers, info.channels, info.items, info.channel_groups)
        )
    # Torch-Pruning carries indices through a reshape by inference: check those units numerically.
    reshaped = [i for i, info in enumerate(infos) if info.reshape is not None]
    verdicts = dict(zip(reshaped, verify_units(model, [found[i] for i in reshaped], input_size)))
    refused = list(search.refused)
    kept: list[PrunableUnit] = []
    for i, (info, unit) in enumerate(zip(infos, found)):
        if not verdicts.get(i, True):
            refused.append((
                info.root_name,
                f"its channels pass {info.reshape} that Torch-Pruning maps wrongly (pruning them changes what the "
                "remaining channels compute: e.g. a channel shuffle written as view-transpose-view)",
            ))  # fmt: skip
            continue
        kept.append(dataclasses.replace(unit, index=len(kept)))
    return dataclasses.replace(search, units=tuple(kept), refused=tuple(refused))


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
            zero-padding shortcut (option-A ResNets), which cannot be pruned correctly, or whose whole
            dependency graph Torch-Pruning cannot build (the message names the blocks).
    """
    return list(search_units(model, input_size, units, layers).units)
