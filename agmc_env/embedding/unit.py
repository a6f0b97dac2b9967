"""Per-unit observations: the learned (GAE) embedding and AMC's rule-based layer state.

A prunable unit is given by the qualified names of its modules (``PrunableUnit.module_names``),
mapped to graph nodes through ``ModelGraph.module_to_node``. Both functions return one float32 row
per unit, in the order given, with finite documented bounds, ready to be put into a ``Box``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from agmc_env.errors import ConfigError
from agmc_env.embedding.gae import EmbeddingResult
from agmc_env.graph import ModelGraph

# Columns of rule_unit_features, in order.
_CONSTANT_TOLERANCE = 1e-6
RULE_FEATURES = ("index", "in_channels", "out_channels", "feature_map_size", "stride", "kernel", "macs")


def _unit_nodes(graph: ModelGraph, unit_module_names: Sequence[Sequence[str]]) -> list[list[int]]:
    if len(unit_module_names) == 0:
        raise ConfigError("unit_module_names must name at least one unit")
    units = []
    for position, names in enumerate(unit_module_names):
        if isinstance(names, str) or len(names) == 0:
            raise ConfigError(
                f"unit_module_names[{position}] must be a non-empty tuple of module names, got {names!r}"
            )
        missing = [name for name in names if name not in graph.module_to_node]
        if missing:
            raise ConfigError(
                f"unit {position} names modules that are not nodes of the graph: {missing}; "
                "module names are qualified names from model.named_modules(), e.g. 'layer1.0.conv1'"
            )
        units.append([graph.module_to_node[name] for name in names])
    return units


def unit_embeddings(
    graph: ModelGraph,
    result: EmbeddingResult | torch.Tensor,
    unit_module_names: Sequence[Sequence[str]],
) -> np.ndarray:
    """The learned embedding of each prunable unit, min-max scaled to [-1, 1] per dimension.

    A unit's vector is the mean of its nodes' embeddings. Each dimension is then mapped linearly
    onto [-1, 1] over the given units (its smallest value to -1, its largest to +1; a constant
    dimension becomes 0), as the rule-based features are scaled onto [0, 1]: a dimension whose
    values differ little between units but sit far from 0 would otherwise reach the agent as an
    almost constant input. Relative distances along each dimension are kept, unlike a ``tanh``.

    Args:
        graph: the graph the embeddings were trained on.
        result: :func:`node_embeddings` output, or its ``[N, dim]`` tensor.
        unit_module_names: per unit, the qualified names of its modules.

    Returns:
        ``[U, dim]`` float32 array.
    """
    embeddings = result.embeddings if isinstance(result, EmbeddingResult) else result
    if embeddings.dim() != 2 or embeddings.size(0) != graph.num_nodes:
        raise ConfigError(f"embeddings must be [{graph.num_nodes}, dim], got {tuple(embeddings.shape)}")
    nodes = embeddings.detach().cpu().double().numpy()
    vectors = np.stack([nodes[indices].mean(axis=0) for indices in _unit_nodes(graph, unit_module_names)])
    return _to_unit_interval(vectors, -1.0).astype(np.float32)


def _to_unit_interval(table: np.ndarray, low: float) -> np.ndarray:
    """Each column mapped linearly onto ``[low, 1]``; a constant column becomes 0.

    A column whose spread is float round-off (below 1e-6 of its largest magnitude, or of 1) counts
    as constant, so the scaling never blows noise up to the full range.
    """
    smallest, span = table.min(axis=0), np.ptp(table, axis=0)
    varies = span > _CONSTANT_TOLERANCE * np.maximum(1.0, np.abs(table).max(axis=0))
    scaled = np.divide(table - smallest, span, out=np.full_like(table, -low / (1.0 - low)), where=varies)
    return np.clip(low + (1.0 - low) * scaled, low, 1.0)


def rule_unit_features(graph: ModelGraph, unit_module_names: Sequence[Sequence[str]]) -> np.ndarray:
    """AMC's static layer state of each prunable unit, min-max normalised to [0, 1].

    Columns (:data:`RULE_FEATURES`): position in the given order, in channels, out channels, input
    feature-map size (``H * W``), stride, kernel size of the unit's first module (its root layer),
    and the MACs of all its modules. Each column is scaled to [0, 1] over the given units (a
    constant column becomes 0). AMC's dynamic part (MACs removed so far, MACs still to remove,
    previous action) depends on the episode and is added by the environment.

    Returns:
        ``[U, len(RULE_FEATURES)]`` float32 array.
    """
    rows = []
    for position, indices in enumerate(_unit_nodes(graph, unit_module_names)):
        root = graph.nodes[indices[0]]
        macs = sum(graph.nodes[i].macs for i in indices)
        rows.append([position, root.in_channels, root.out_channels, root.in_spatial, root.stride, root.kernel, macs])
    return _to_unit_interval(np.asarray(rows, dtype=np.float64), 0.0).astype(np.float32)
