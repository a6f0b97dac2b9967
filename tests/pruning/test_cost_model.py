from __future__ import annotations

import time

import pytest

from agmc_env.cost import count_cost
from agmc_env.models import get_model
from agmc_env.pruning import CostModel, find_units
from tests.pruning.masking import check_cost_model_exact

CASES = [
    ("resnet20", (3, 32, 32), "inner"),
    ("resnet56", (3, 32, 32), "inner"),
    ("mobilenet_v2_cifar", (3, 32, 32), "inner"),
    ("mobilenet_v2_cifar", (3, 32, 32), "all"),
    ("tv_mobilenet_v2", (3, 64, 64), "all"),
    ("tv_resnet18", (3, 64, 64), "all"),
]


@pytest.mark.parametrize(("name", "input_size", "unit_set"), CASES)
def test_cost_model_equals_counted_cost_of_pruned_model(name: str, input_size: tuple, unit_set: str) -> None:
    model = get_model(name, pretrained=False)
    cost_model = check_cost_model_exact(model, find_units(model, input_size, unit_set), input_size)
    assert cost_model.base == count_cost(model, input_size)


def test_zero_ratios_cost_the_base() -> None:
    model = get_model("resnet20", pretrained=False)
    units = find_units(model, (3, 32, 32))
    cost_model = CostModel(model, units, (3, 32, 32))
    assert cost_model.cost([0.0] * len(units)) == cost_model.base
    with pytest.raises(ValueError, match="one entry per unit"):
        cost_model.cost([0.5])


def test_unit_macs_and_speed() -> None:
    model = get_model("resnet56", pretrained=False)
    units = find_units(model, (3, 32, 32))
    cost_model = CostModel(model, units, (3, 32, 32))
    assert cost_model.base.macs == 125_485_696  # conv + linear MACs of ResNet-56 (DESIGN.md)
    unit_macs = cost_model.unit_macs()
    # Each inner unit of ResNet-56 cuts two 3x3 convs of equal cost in its block.
    assert unit_macs[0] == 2 * 16 * 16 * 9 * 32 * 32
    assert len(unit_macs) == len(units) == 27
    ratios = [0.5] * len(units)
    start = time.perf_counter()
    for _ in range(200):
        cost_model.cost(ratios)
    assert (time.perf_counter() - start) / 200 < 1e-3
