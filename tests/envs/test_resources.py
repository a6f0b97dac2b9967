"""The env's shared resources: one layer table per model feeds the pruning method and the graph."""

from __future__ import annotations

import pytest

from agmc_env.envs.resources import _model_bundle
from agmc_env.layer_table import describe_layers
from agmc_env.pruning import PRUNING_METHODS, tp_adapter
from tests.envs.conftest import TinyResidualCNN


@pytest.mark.parametrize("pruning", sorted(PRUNING_METHODS))
def test_the_model_is_described_once(pruning: str) -> None:
    model = TinyResidualCNN().eval()
    runs: list[int] = []
    handle = model.stem.register_forward_hook(lambda *_: runs.append(1))
    try:
        tp_adapter.build_dependency_graph(model, (3, 32, 32))
        traced = len(runs) if pruning == "channel" else 0  # only channel units need Torch-Pruning's graph
        runs.clear()  # a new model instance: the per-process caches (keyed by identity) miss
        # The bundle alone: the evaluator's one-time tuning runs copies of the model on purpose.
        bundle = _model_bundle(model, "synthetic", None, None, None, "inner", pruning)
    finally:
        handle.remove()
    # One pass for the layer table, one for the graph's shape propagation, plus Torch-Pruning's trace.
    assert len(runs) == 2 + traced
    table = describe_layers(model, (3, 32, 32))
    assert bundle.cost_model.base.macs == table.macs == sum(node.macs for node in bundle.graph.nodes)
    assert bundle.units is bundle.method.units and bundle.method.name == pruning
