"""Pruning methods chosen by name: the registry, the shared interface, and their agreement with the layer table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.cost import Cost, count_cost
from agmc_env.envs.config import EnvConfig
from agmc_env.errors import ConfigError, UnsupportedModelError
from agmc_env.layer_table import describe_layers
from agmc_env.models import get_model
from agmc_env.pruning import (
    PRUNING_METHODS,
    BudgetWall,
    PruningMethod,
    fine_grained_prune,
    kept_channels,
    kept_weights,
    load_pruned,
    make_pruning_method,
    prune_model,
    save_pruned,
)
from agmc_env.pruning import tp_adapter
from agmc_env.pruning.sparse_cost import SparseCostModel

SIZE = (3, 32, 32)


@pytest.fixture(scope="module")
def resnet20() -> nn.Module:
    torch.manual_seed(0)
    return get_model("resnet20", pretrained=False).eval()


@pytest.mark.parametrize("name", sorted(PRUNING_METHODS))
def test_every_method_builds_and_keeps_the_interface(name: str, resnet20: nn.Module) -> None:
    method = make_pruning_method(name, resnet20, SIZE)
    assert isinstance(method, PruningMethod) and method.name == name
    assert method.cost_model.base == count_cost(resnet20, SIZE)
    assert [u.index for u in method.units] == list(range(len(method.units)))
    assert method.cost_model.channels == [u.channels for u in method.units]
    assert len(method.cost_model.unit_macs()) == len(method.units)
    ratios = [0.5] * len(method.units)
    BudgetWall(method.cost_model, preserve=0.9)  # the wall accepts either cost model
    pruned = method.prune(ratios)
    assert pruned is not resnet20 and pruned(torch.zeros(1, *SIZE)).shape == (1, 10)
    assert len(method.kept_sizes(ratios[:3])) == 3  # a prefix, as the env renders mid-episode
    with pytest.raises(ConfigError, match=f"one entry per unit \\({len(method.units)}\\)"):
        method.prune([0.5])


def test_unknown_name_lists_the_registry(tiny_cnn: nn.Module) -> None:
    with pytest.raises(ConfigError, match=r"pruning must be one of \('channel', 'fine_grained'\), got 'magic'"):
        make_pruning_method("magic", tiny_cnn, SIZE)
    with pytest.raises(ConfigError, match=r"pruning must be one of \('channel', 'fine_grained'\)"):
        EnvConfig(pruning="magic")


def test_channel_method_is_the_channel_functions(resnet20: nn.Module) -> None:
    method = make_pruning_method("channel", resnet20, SIZE)
    assert len(method.units) == 9  # the block-internal convs of ResNet-20
    ratios = [0.1 * (i % 8) for i in range(len(method.units))]
    expected = prune_model(resnet20, method.units, ratios, importance="l2")
    pruned = method.prune(ratios, importance="l2")
    assert all(torch.equal(a, b) for a, b in zip(pruned.state_dict().values(), expected.state_dict().values()))
    assert method.cost_model.cost(ratios) == count_cost(pruned, SIZE)
    assert method.kept_sizes(ratios) == [kept_channels(u.channels, r) for u, r in zip(method.units, ratios)]


def test_fine_grained_method_is_the_fine_grained_functions(resnet20: nn.Module) -> None:
    method = make_pruning_method("fine_grained", resnet20, SIZE)
    assert len(method.units) == 20  # every conv and the classifier
    ratios = [0.05 * (i % 10) for i in range(len(method.units))]
    expected = fine_grained_prune(resnet20, ratios)  # by position, in definition order
    pruned = method.prune(ratios, importance="random", seed=3)  # no channel ranking: both ignored
    assert all(torch.equal(a, b) for a, b in zip(pruned.state_dict().values(), expected.state_dict().values()))
    assert method.kept_sizes(ratios) == [kept_weights(u.channels, r) for u, r in zip(method.units, ratios)]


@pytest.mark.parametrize("name", sorted(PRUNING_METHODS))
def test_pruning_spec_rebuilds_the_model(name: str, resnet20: nn.Module, tmp_path) -> None:
    method = make_pruning_method(name, resnet20, SIZE)
    ratios = [0.3] * len(method.units)
    pruned = method.prune(ratios)
    save_pruned(tmp_path, pruned, method.pruning_spec("resnet20", ratios, ratios=ratios))
    loaded, spec = load_pruned(tmp_path)
    assert spec["ratios"] == ratios and spec["units"] == "inner"
    assert count_cost(loaded, SIZE) == count_cost(pruned, SIZE)
    x = torch.randn(2, *SIZE)
    torch.testing.assert_close(loaded(x), pruned(x))


def test_nothing_to_prune_is_named() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)).eval()
    with pytest.raises(UnsupportedModelError, match="Sequential has no prunable units with units='inner'"):
        make_pruning_method("channel", model, SIZE)


def test_one_layer_table_serves_units_costs_and_ratios(resnet20: nn.Module) -> None:
    table = describe_layers(resnet20, SIZE)
    runs = []
    handle = resnet20.conv1.register_forward_hook(lambda *_: runs.append(1))
    try:
        tp_adapter.build_dependency_graph(resnet20, SIZE)
        traced = len(runs)
        channel = make_pruning_method("channel", resnet20, SIZE, layers=table)
        assert len(runs) == 2 * traced  # Torch-Pruning's own trace only: no pass to count or order layers
        fine = make_pruning_method("fine_grained", resnet20, SIZE, layers=table)
        assert len(runs) == 2 * traced
    finally:
        handle.remove()
    assert channel.cost_model.base == fine.cost_model.base == Cost.of(table)
    # Channel units follow the table's execution order; fine-grained unit MACs are its per-layer MACs.
    order = [table.names.index(u.name) for u in channel.units]
    assert order == sorted(order)
    assert fine.cost_model.unit_macs() == [table.layer_macs()[u.name] for u in fine.units]
    # Each inner unit of ResNet-20 cuts the two 3x3 convs of its block (outputs of one, inputs of the other).
    layer_macs = table.layer_macs()
    expected = [sum(layer_macs[n] for n in (u.name, *u.consumer_names)) for u in channel.units]
    assert channel.cost_model.unit_macs() == expected
    with pytest.raises(ConfigError, match="described for input_size"):
        SparseCostModel(resnet20, (3, 64, 64), layers=table)
