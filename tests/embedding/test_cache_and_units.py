"""Embedding cache and the per-unit observations (learned and rule-based)."""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch
from torch import nn

from agmc_env.embedding import (
    RULE_FEATURES, GAEConfig, cache_key, cache_path, node_embeddings, rule_unit_features, unit_embeddings,
)  # fmt: skip
from agmc_env.graph import build_graph
from agmc_env.models import get_model

CONFIG = GAEConfig(epochs=20)


@pytest.fixture(scope="module")
def graph():
    return build_graph(get_model("resnet20", pretrained=False), (3, 32, 32))


def _conv_units(graph) -> list[tuple[str, ...]]:
    return [(name,) for name, op in zip(graph.node_names, graph.node_ops) if op == "conv"]


def test_cache_returns_identical_tensors(graph, tmp_path) -> None:
    trained = node_embeddings(graph, CONFIG, cache_dir=tmp_path)
    path = cache_path(graph, CONFIG, tmp_path)
    assert not trained.from_cache and path.exists()
    assert list(path.parent.glob("*.tmp")) == []  # the temporary file was moved into place
    start = time.perf_counter()
    cached = node_embeddings(graph, CONFIG, cache_dir=tmp_path)
    assert time.perf_counter() - start < 0.5
    assert cached.from_cache and torch.equal(cached.embeddings, trained.embeddings)
    assert (cached.auc, cached.ap) == (trained.auc, trained.ap)
    assert torch.load(path, weights_only=True)["embeddings"].shape == trained.embeddings.shape


def test_key_depends_on_graph_and_config(graph, tiny_cnn: nn.Module) -> None:
    assert cache_key(graph, CONFIG) == cache_key(graph, GAEConfig(epochs=20))
    assert cache_key(graph, CONFIG) != cache_key(graph, GAEConfig(epochs=20, seed=1))
    assert cache_key(graph, CONFIG) != cache_key(build_graph(tiny_cnn, (3, 32, 32)), CONFIG)


def test_corrupt_cache_file_is_retrained(graph, tmp_path) -> None:
    path = cache_path(graph, CONFIG, tmp_path)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not a tensor file")
    with pytest.warns(RuntimeWarning, match="unreadable embedding cache"):
        result = node_embeddings(graph, CONFIG, cache_dir=tmp_path)
    assert not result.from_cache and node_embeddings(graph, CONFIG, cache_dir=tmp_path).from_cache


def test_use_cache_false_writes_nothing(graph, tmp_path) -> None:
    node_embeddings(graph, CONFIG, cache_dir=tmp_path, use_cache=False)
    assert not any(tmp_path.rglob("*.pt"))


def test_unit_embeddings_shape_and_bounds(graph, tmp_path) -> None:
    result = node_embeddings(graph, CONFIG, cache_dir=tmp_path)
    units = _conv_units(graph) + [("layer1.0.conv2", "layer1.1.conv2")]  # a coupled group too
    vectors = unit_embeddings(graph, result, units)
    assert vectors.shape == (len(units), CONFIG.embedding_dim) and vectors.dtype == np.float32
    assert np.isfinite(vectors).all() and vectors.min() >= -1.0 and vectors.max() <= 1.0
    # A unit is the mean of its nodes, then every dimension is mapped onto [-1, 1] over the units.
    nodes = result.embeddings.double().numpy()
    means = np.stack([nodes[[graph.module_to_node[n] for n in unit]].mean(0) for unit in units])
    low, high = means.min(0), means.max(0)
    assert np.allclose(vectors, 2 * (means - low) / (high - low) - 1, atol=1e-5)
    assert np.allclose(vectors.min(0), -1.0) and np.allclose(vectors.max(0), 1.0)


def test_unit_embeddings_keep_round_off_constant(graph) -> None:
    """A dimension that differs between units only by float round-off is not blown up to [-1, 1]."""
    units = [("layer1.0.conv1",), ("layer1.1.conv1",), ("layer2.0.conv1",)]
    embeddings = torch.zeros(graph.num_nodes, 2)
    embeddings[:, 0] = 5.0
    embeddings[graph.module_to_node["layer1.1.conv1"], 0] = 5.0 + 1e-6
    embeddings[graph.module_to_node["layer2.0.conv1"], 1] = 3.0
    vectors = unit_embeddings(graph, embeddings, units)
    assert np.array_equal(vectors[:, 0], np.zeros(3, np.float32))
    assert vectors[:, 1].tolist() == [-1.0, -1.0, 1.0]


def test_rule_features(graph) -> None:
    units = _conv_units(graph)
    table = rule_unit_features(graph, units)
    assert table.shape == (len(units), len(RULE_FEATURES)) and table.dtype == np.float32
    assert table.min() == 0.0 and table.max() == 1.0
    column = dict(zip(RULE_FEATURES, table.T))
    assert column["index"][0] == 0.0 and column["index"][-1] == 1.0
    assert column["in_channels"][0] == 0.0  # the stem sees 3 channels, the fewest
    assert column["stride"][units.index(("layer2.0.conv1",))] == 1.0


def test_unknown_module_names(graph) -> None:
    with pytest.raises(ValueError, match="not nodes of the graph"):
        rule_unit_features(graph, [("no.such.conv",)])
    with pytest.raises(ValueError, match="tuple of module names"):
        unit_embeddings(graph, torch.zeros(graph.num_nodes, 4), ["conv1"])
    with pytest.raises(ValueError, match="at least one unit"):
        rule_unit_features(graph, [])
