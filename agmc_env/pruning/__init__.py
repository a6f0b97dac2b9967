"""Dependency-aware channel pruning, fine-grained pruning, their exact cost models and the budget wall.

The two pruning methods are strategy objects chosen by name (:data:`PRUNING_METHODS`,
:func:`make_pruning_method`); the functions below are their parts, usable on their own.

Example:
    >>> from agmc_env.models import get_model
    >>> from agmc_env.pruning import BudgetWall, CostModel, find_units, prune_model
    >>> model = get_model("resnet56")
    >>> units = find_units(model, (3, 32, 32))              # the 27 block-internal convs
    >>> wall = BudgetWall(CostModel(model, units, (3, 32, 32)), preserve=0.5)
    >>> small = prune_model(model, units, [0.5] * len(units))
"""

from agmc_env.pruning.batchnorm import recalibrate_batchnorm
from agmc_env.pruning.budget import TARGETS, BudgetWall
from agmc_env.pruning.channel import IMPORTANCES, channel_importance, prune_model, prune_to_kept, pruned_indices
from agmc_env.pruning.cost_model import CostModel
from agmc_env.pruning.fine_grained import fine_grained_prune, magnitude_masks, nonzero_params, prunable_layers
from agmc_env.pruning.methods import (
    PRUNING_METHODS,
    ChannelPruning,
    FineGrainedPruning,
    PruningMethod,
    Unit,
    UnitCostModel,
    make_pruning_method,
)
from agmc_env.pruning.serialization import load_pruned, pruning_spec, read_pruned_files, save_pruned
from agmc_env.pruning.sparse_cost import LayerUnit, SparseCostModel, kept_weights
from agmc_env.pruning.units import UNIT_SETS, PrunableUnit, find_units, kept_channels

__all__ = [
    "IMPORTANCES",
    "PRUNING_METHODS",
    "TARGETS",
    "UNIT_SETS",
    "BudgetWall",
    "ChannelPruning",
    "CostModel",
    "FineGrainedPruning",
    "LayerUnit",
    "PrunableUnit",
    "PruningMethod",
    "SparseCostModel",
    "Unit",
    "UnitCostModel",
    "channel_importance",
    "find_units",
    "fine_grained_prune",
    "kept_channels",
    "kept_weights",
    "load_pruned",
    "read_pruned_files",
    "make_pruning_method",
    "magnitude_masks",
    "nonzero_params",
    "prunable_layers",
    "prune_model",
    "prune_to_kept",
    "pruned_indices",
    "pruning_spec",
    "recalibrate_batchnorm",
    "save_pruned",
]
