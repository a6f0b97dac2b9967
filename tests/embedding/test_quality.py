"""The embedding probes on real architectures: stages are recognisable, stable across GAE seeds."""

from __future__ import annotations

import numpy as np
import pytest

from agmc_env.embedding import GAEConfig, rule_unit_features
from agmc_env.embedding.quality import (
    effective_rank, embedding_quality, gae_quality, position_probe_r2, seed_stability, stage_probe_accuracy,
    unit_stages,
)  # fmt: skip
from agmc_env.errors import ConfigError
from agmc_env.graph import build_graph
from agmc_env.layer_table import describe_layers
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import make_pruning_method


def _graph_and_units(name: str, depth_encoding: bool = False):
    model, size = get_model(name, pretrained=False), get_spec(name).input_size
    layers = describe_layers(model, size)
    units = make_pruning_method("channel", model, size, unit_set="inner", layers=layers).units
    return build_graph(model, size, layers=layers, depth_encoding=depth_encoding), [u.module_names for u in units]


def test_probes_on_synthetic_features() -> None:
    stages = ["a"] * 5 + ["b"] * 5 + ["c"] * 5
    clustered = np.repeat(np.eye(3), 5, axis=0) + 0.01 * np.random.default_rng(0).normal(size=(15, 3))
    quality = embedding_quality(clustered, stages)
    assert quality.stage_probe_accuracy == 1.0 and quality.same_stage_nn_rate == 1.0
    assert quality.stage_separation > 10 and quality.seed_stability is None
    noise = np.random.default_rng(1).normal(size=(15, 8))
    assert stage_probe_accuracy(noise, stages) < 0.8
    line = np.linspace(0, 1, 15)[:, None] * np.ones((1, 2))
    assert position_probe_r2(line) > 0.99 and effective_rank(line) == pytest.approx(1.0)
    assert seed_stability([clustered, 2 * clustered @ np.linalg.qr(np.ones((3, 3)) + np.eye(3))[0]]) > 0.99
    with pytest.raises(ConfigError):
        embedding_quality(noise[:2], stages[:2])


def test_resnet56_units_of_a_stage_look_alike() -> None:
    graph, units = _graph_and_units("resnet56")
    assert unit_stages(graph, units) == ["32x32"] * 9 + ["16x16"] * 9 + ["8x8"] * 9
    quality = gae_quality(graph, units, GAEConfig(), seeds=(0, 1, 2), use_cache=False)
    assert quality.stage_probe_accuracy >= 0.9 and quality.same_stage_nn_rate >= 0.85
    assert quality.stage_separation > 2.0 and quality.seed_stability > 0.85
    # The first version (depth waves, 30 dimensions): close to random codes of the depth.
    depth_graph, _ = _graph_and_units("resnet56", depth_encoding=True)
    old = gae_quality(depth_graph, units, GAEConfig(embedding_dim=30), seeds=(0, 1), use_cache=False)
    assert old.same_stage_nn_rate < quality.same_stage_nn_rate and old.seed_stability < 0.7
    assert old.stage_separation < 1.2


def test_mobilenet_v2_stages_are_closer_inside() -> None:
    graph, units = _graph_and_units("tv_mobilenet_v2")
    quality = gae_quality(graph, units, GAEConfig(), seeds=(0, 1), use_cache=False)
    assert quality.stages == 5 and quality.stage_separation > 1.2 and quality.seed_stability > 0.8
    assert quality.same_stage_nn_rate >= 0.6


def test_rule_features_are_scored_too() -> None:
    graph, units = _graph_and_units("resnet56")
    quality = embedding_quality(rule_unit_features(graph, units), unit_stages(graph, units))
    assert quality.same_stage_nn_rate > 0.9 and quality.link_auc is None
