"""Channel pruning: rank each unit's channels, then physically remove the weakest from a copy.

Importance of a channel is measured on the output filters of every layer of its group (the filters
that produce it): ``"l1"`` / ``"l2"`` norm (Li et al. 2017), ``"fpgm"`` distance to the geometric
median (He et al. 2019: the filters nearest to it are the most replaceable), or ``"random"``.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import torch
from torch import nn

from agmc_env.pruning import tp_adapter
from agmc_env.pruning.units import PrunableUnit, with_items

IMPORTANCES = ("l1", "l2", "fpgm", "random")


def _check_importance(importance: str) -> None:
    if importance not in IMPORTANCES:
        raise ValueError(f"importance must be one of {IMPORTANCES}, got {importance!r}")


def _unit_filters(modules: dict[str, nn.Module], unit: PrunableUnit) -> torch.Tensor:
    """``(channels, D)``: for each root channel, the concatenated filters (and biases) producing it."""
    parts = []
    for item in unit.items:
        if item.kind not in ("out", "depthwise"):
            continue
        module = modules[item.module_name]
        rows = module.weight.detach().flatten(1)
        if getattr(module, "bias", None) is not None:
            rows = torch.cat([rows, module.bias.detach().unsqueeze(1)], dim=1)
        identity = item.idxs == item.root_idxs and len(item.idxs) == rows.shape[0] == unit.channels
        if not identity:  # the usual case is 1:1; a concat member or a partial item needs placing
            placed = rows.new_zeros(unit.channels, rows.shape[1])
            placed[list(item.root_idxs)] = rows[list(item.idxs)]
            rows = placed
        parts.append(rows.float())
    return parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)


def channel_importance(
    model: nn.Module, unit: PrunableUnit, importance: str = "l1", generator: torch.Generator | None = None
) -> torch.Tensor:
    """One score per channel of ``unit`` (higher = more important); ``unit`` must carry its items."""
    _check_importance(importance)
    if importance == "random":
        return torch.rand(unit.channels, generator=generator)
    filters = _unit_filters(dict(model.named_modules()), unit)
    if importance == "l1":
        return filters.abs().sum(1)
    if importance == "l2":
        return filters.pow(2).sum(1).sqrt()
    return torch.cdist(filters, filters).sum(1)  # fpgm: far from the geometric median = important


def pruned_indices(
    model: nn.Module,
    units: Sequence[PrunableUnit],
    kept: Sequence[int],
    importance: str = "l1",
    seed: int = 0,
    input_size: Sequence[int] | None = None,
) -> list[list[int]]:
    """The root channels (sorted) each unit loses when it keeps ``kept[i]`` of them.

    Ties (e.g. all-zero filters) go to the lower index: the choice is deterministic. A unit with
    ``channel_groups > 1`` keeps a multiple of them and loses the same positions in every channel
    group: as Torch-Pruning's ``MetaPruner`` does, a position's importance is the mean over the groups.
    """
    _check_importance(importance)
    if len(kept) != len(units):
        raise ValueError(f"need one kept count per unit ({len(units)}), got {len(kept)}")
    units = with_items(units, model, input_size)
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for unit, keep in zip(units, kept):
        groups = unit.channel_groups
        if not 1 <= keep <= unit.channels or keep % groups:
            step = f"a multiple of {groups} " if groups > 1 else ""
            raise ValueError(f"unit {unit.name!r}: kept must be {step}in [1, {unit.channels}], got {keep}")
        if keep == unit.channels:
            chosen.append([])
            continue
        scores = channel_importance(model, unit, importance, generator)
        width = unit.channels // groups  # channels per group; root channel = group * width + position
        order = torch.sort(scores.view(groups, width).mean(0), stable=True).indices
        positions = order[: (unit.channels - keep) // groups]
        chosen.append(sorted(int(p) + g * width for g in range(groups) for p in positions))
    return chosen


def prune_to_kept(
    model: nn.Module,
    units: Sequence[PrunableUnit],
    kept: Sequence[int],
    importance: str = "l1",
    seed: int = 0,
    input_size: Sequence[int] | None = None,
) -> nn.Module:
    """Like :func:`prune_model`, with the kept channel count of each unit given directly."""
    units = with_items(units, model, input_size)
    removed = pruned_indices(model, units, kept, importance, seed)
    removals: dict[tuple[str, str], set[int]] = {}
    for unit, roots in zip(units, removed):
        roots_set = set(roots)
        for item in unit.items:
            cut = removals.setdefault((item.module_name, item.kind), set())
            cut.update(i for i, r in zip(item.idxs, item.root_idxs) if r in roots_set)
    pruned = copy.deepcopy(model).eval()
    tp_adapter.remove_channels(pruned, {key: sorted(idxs) for key, idxs in removals.items()})
    return pruned


def prune_model(
    model: nn.Module,
    units: Sequence[PrunableUnit],
    ratios: Sequence[float],
    importance: str = "l1",
    round_to: int | None = None,
    input_size: Sequence[int] | None = None,
    seed: int = 0,
) -> nn.Module:
    """A physically smaller deep copy of ``model`` with each unit pruned at its ratio.

    Args:
        model: the unpruned model (not modified).
        units: its prunable units, from :func:`~agmc_env.pruning.find_units`.
        ratios: fraction of channels to remove per unit, each in ``[0, 1]``; a unit always keeps at
            least one channel (see :func:`~agmc_env.pruning.kept_channels`).
        importance: ``"l1"``, ``"l2"``, ``"fpgm"`` or ``"random"``. (default: ``"l1"``)
        round_to: keep a multiple of this many channels per unit. (default: ``None``)
        input_size: ``(C, H, W)`` of one input; needed only for units not made by ``find_units``
            (the model is then traced). (default: ``None``)
        seed: seed of ``importance="random"``. (default: ``0``)

    Returns:
        The pruned copy, in ``eval()`` mode.
    """
    if len(ratios) != len(units):
        raise ValueError(f"ratios must have one entry per unit ({len(units)}), got {len(ratios)}")
    kept = [u.kept(float(r), round_to) for u, r in zip(units, ratios)]
    return prune_to_kept(model, units, kept, importance, seed, input_size)
