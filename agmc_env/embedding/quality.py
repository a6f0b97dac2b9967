"""Does a unit embedding carry what a pruning agent needs? Probes, neighbours and seed stability.

What decides the reward of a budgeted search is mostly how pruning is split between the stages
(feature-map resolutions) of a network, so a useful per-unit state makes units of one stage look
alike, stages differ, and does not change wholesale when the graph auto-encoder is retrained with
another seed. The link-prediction AUC that trains the encoder says nothing about that; these do:

- **stage probe**: a linear classifier (ridge regression on one-hot stage labels, argmax) predicting
  each unit's stage from its features, scored leave-one-out (every unit held out once);
- **position probe**: the same ridge regression predicting the unit's relative position in [0, 1],
  leave-one-out R²; position is in the env's dynamic state already, so a high value is not needed;
- **same-stage neighbour rate**: how often a unit's nearest other unit (Euclidean, on the features as
  the agent sees them) is in its own stage;
- **stage separation**: mean distance to units of other stages over mean distance to units of the
  same stage (above 1: stages form clusters);
- **effective rank** of the centred feature matrix (exponential of the entropy of its normalised
  singular values; Roy and Vetterli 2007) and the **mean pairwise cosine**;
- **seed stability**: the Pearson correlation of the unit-by-unit cosine-similarity matrices of two
  GAE seeds, averaged over the seed pairs (invariant to rotations of the embedding space).

Only numpy: the probes are closed-form ridge solutions, no scikit-learn.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace

import numpy as np

from agmc_env.embedding.cache import node_embeddings
from agmc_env.embedding.gae import GAEConfig
from agmc_env.embedding.unit import _unit_nodes, unit_embeddings
from agmc_env.errors import ConfigError
from agmc_env.graph import ModelGraph

PROBE_RIDGE = 0.1  # L2 penalty of the linear probes, on features that lie in [-1, 1]


@dataclass(frozen=True)
class EmbeddingQuality:
    """The figures of merit of one set of unit features (see the module docstring).

    Attributes:
        units: number of units scored.
        stages: number of distinct stages among them.
        stage_probe_accuracy: leave-one-out accuracy of the linear stage probe, in [0, 1].
        position_probe_r2: leave-one-out R² of the linear position probe (at most 1; 0 is the mean).
        same_stage_nn_rate: share of units whose nearest other unit is of the same stage.
        stage_separation: between-stage over within-stage mean distance.
        effective_rank: of the centred ``[U, d]`` features, in [1, min(U, d)].
        mean_cosine: mean cosine similarity over distinct unit pairs.
        seed_stability: mean correlation of the similarity matrices over GAE seed pairs (``None``
            when a single seed was scored).
        link_auc: the encoder's link-prediction AUC on held-out edges, mean over seeds (``None``
            for features not learned from edges).
    """

    units: int
    stages: int
    stage_probe_accuracy: float
    position_probe_r2: float
    same_stage_nn_rate: float
    stage_separation: float
    effective_rank: float
    mean_cosine: float
    seed_stability: float | None = None
    link_auc: float | None = None

    def to_dict(self, digits: int = 4) -> dict[str, float | int | None]:
        """The figures as a JSON-safe dict, floats rounded to ``digits``."""
        return {k: round(v, digits) if isinstance(v, float) else v for k, v in asdict(self).items()}


def unit_stages(graph: ModelGraph, unit_module_names: Sequence[Sequence[str]]) -> list[str]:
    """The stage of each unit: the output resolution of its first (root) module, e.g. ``"16x16"``."""
    return ["x".join(map(str, graph.nodes[nodes[0]].out_shape[2:])) or "flat" for nodes in _unit_nodes(graph, unit_module_names)]


def _ridge_loo_predictions(features: np.ndarray, targets: np.ndarray, ridge: float) -> np.ndarray:
    """Leave-one-out predictions of a ridge regression with an unpenalised intercept."""
    predictions = np.empty_like(targets)
    for held_out in range(len(features)):
        keep = np.arange(len(features)) != held_out
        x, y = features[keep], targets[keep]
        x_mean, y_mean = x.mean(axis=0), y.mean(axis=0)
        xc = x - x_mean
        weights = np.linalg.solve(xc.T @ xc + ridge * np.eye(x.shape[1]), xc.T @ (y - y_mean))
        predictions[held_out] = (features[held_out] - x_mean) @ weights + y_mean
    return predictions


def stage_probe_accuracy(features: np.ndarray, stages: Sequence[str], ridge: float = PROBE_RIDGE) -> float:
    """Leave-one-out accuracy of a linear (ridge, one-hot targets, argmax) stage classifier."""
    names = sorted(set(stages))
    one_hot = np.array([[float(s == name) for name in names] for s in stages])
    predicted = _ridge_loo_predictions(np.asarray(features, np.float64), one_hot, ridge).argmax(axis=1)
    return float(np.mean(predicted == one_hot.argmax(axis=1)))


def position_probe_r2(features: np.ndarray, ridge: float = PROBE_RIDGE) -> float:
    """Leave-one-out R² of a linear (ridge) regression of the relative position ``i / (U - 1)``."""
    position = np.linspace(0.0, 1.0, len(features))[:, None]
    predicted = _ridge_loo_predictions(np.asarray(features, np.float64), position, ridge)
    residual = float(((predicted - position) ** 2).sum())
    return 1.0 - residual / float(((position - position.mean()) ** 2).sum())


def _distances(features: np.ndarray) -> np.ndarray:
    squared = (features**2).sum(axis=1)
    return np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * features @ features.T, 0.0))


def same_stage_nn_rate(features: np.ndarray, stages: Sequence[str]) -> float:
    """Share of units whose nearest other unit (Euclidean) has the same stage."""
    distances = _distances(np.asarray(features, np.float64))
    np.fill_diagonal(distances, np.inf)
    labels = np.asarray(stages)
    return float(np.mean(labels[distances.argmin(axis=1)] == labels))


def stage_separation(features: np.ndarray, stages: Sequence[str]) -> float:
    """Mean distance between units of different stages over that between distinct units of one stage."""
    distances = _distances(np.asarray(features, np.float64))
    labels = np.asarray(stages)
    same = labels[:, None] == labels[None, :]
    np.fill_diagonal(same, False)
    other = labels[:, None] != labels[None, :]
    if not same.any() or not other.any():
        return float("nan")
    within = distances[same].mean()
    return float(distances[other].mean() / within) if within > 0 else float("inf")


def effective_rank(features: np.ndarray) -> float:
    """``exp`` of the entropy of the normalised singular values of the centred features."""
    centred = np.asarray(features, np.float64) - np.mean(features, axis=0)
    singular = np.linalg.svd(centred, compute_uv=False)
    if singular.sum() <= 0:
        return 1.0
    p = singular / singular.sum()
    p = p[p > 0]
    return float(math.exp(-(p * np.log(p)).sum()))


def _cosine_matrix(features: np.ndarray) -> np.ndarray:
    features = np.asarray(features, np.float64)
    norms = np.linalg.norm(features, axis=1, keepdims=True)
    unit = np.divide(features, norms, out=np.zeros_like(features), where=norms > 0)
    return unit @ unit.T


def mean_cosine(features: np.ndarray) -> float:
    """Mean cosine similarity over distinct pairs of units."""
    cosine = _cosine_matrix(features)
    upper = np.triu_indices(len(cosine), k=1)
    return float(cosine[upper].mean())


def seed_stability(feature_sets: Sequence[np.ndarray]) -> float:
    """Mean over pairs of seeds of the correlation of their unit-unit cosine-similarity matrices."""
    if len(feature_sets) < 2:
        raise ConfigError(f"seed_stability needs the features of at least 2 seeds, got {len(feature_sets)}")
    upper = np.triu_indices(len(feature_sets[0]), k=1)
    flat = [_cosine_matrix(f)[upper] for f in feature_sets]
    return float(np.mean([np.corrcoef(a, b)[0, 1] for a, b in itertools.combinations(flat, 2)]))


def embedding_quality(
    features: np.ndarray,
    stages: Sequence[str],
    other_seeds: Sequence[np.ndarray] = (),
    link_auc: float | None = None,
) -> EmbeddingQuality:
    """Score ``[U, d]`` unit features against the units' stages.

    Args:
        features: the unit features as the agent sees them (e.g. :func:`unit_embeddings`).
        stages: the stage of each unit (:func:`unit_stages`).
        other_seeds: the same units' features from other GAE seeds, for :func:`seed_stability`.
            (default: none)
        link_auc: the encoder's link-prediction AUC, reported alongside. (default: ``None``)
    """
    features = np.asarray(features, np.float64)
    if features.ndim != 2 or len(features) != len(stages) or len(features) < 3:
        raise ConfigError(f"features must be [U, d] with U = len(stages) >= 3, got {features.shape} for {len(stages)} stages")
    return EmbeddingQuality(
        units=len(features),
        stages=len(set(stages)),
        stage_probe_accuracy=stage_probe_accuracy(features, stages),
        position_probe_r2=position_probe_r2(features),
        same_stage_nn_rate=same_stage_nn_rate(features, stages),
        stage_separation=stage_separation(features, stages),
        effective_rank=effective_rank(features),
        mean_cosine=mean_cosine(features),
        seed_stability=seed_stability([features, *other_seeds]) if other_seeds else None,
        link_auc=link_auc,
    )


def gae_quality(
    graph: ModelGraph,
    unit_module_names: Sequence[Sequence[str]],
    config: GAEConfig = GAEConfig(),
    seeds: Sequence[int] = (0, 1, 2),
    **cache_options: object,
) -> EmbeddingQuality:
    """Train (or load) the GAE of ``graph`` under ``config`` with each seed and score its unit embeddings.

    The first seed's embeddings are probed; the others only enter :attr:`~EmbeddingQuality.seed_stability`.
    ``cache_options`` (``cache_dir``, ``use_cache``) go to :func:`node_embeddings`.
    """
    if not seeds:
        raise ConfigError("seeds must name at least one GAE seed")
    results = [node_embeddings(graph, replace(config, seed=seed), **cache_options) for seed in seeds]
    features = [unit_embeddings(graph, result, unit_module_names) for result in results]
    auc = float(np.nanmean([r.auc for r in results])) if any(math.isfinite(r.auc) for r in results) else None
    return embedding_quality(features[0], unit_stages(graph, unit_module_names), features[1:], auc)
