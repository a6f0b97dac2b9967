"""Dependency-aware pruning of torchvision ImageNet models (random weights, 64x64 inputs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agmc_env.cost import count_cost
from agmc_env.models import get_model
from agmc_env.pruning import CostModel, find_units, prune_model

INPUT_SIZE = (3, 64, 64)


@pytest.mark.slow
@pytest.mark.parametrize(
    "name", ["tv_resnet18", "tv_resnet50", "tv_mobilenet_v2", "tv_vgg16", "tv_densenet121", "tv_efficientnet_b0"]
)
def test_torchvision_models_prune_at_random_ratios_and_run(name: str) -> None:
    # units="all" is the harder set (residual streams, concats, SE gates); "inner" is a subset of it.
    model = get_model(name, pretrained=False, num_classes=10)
    units = find_units(model, INPUT_SIZE, "all")
    assert units
    ratios = np.random.default_rng(0).uniform(0.0, 0.8, len(units)).tolist()
    pruned = prune_model(model, units, ratios)
    with torch.no_grad():
        assert pruned(torch.randn(2, *INPUT_SIZE)).shape == (2, 10)
    assert CostModel(model, units, INPUT_SIZE).cost(ratios) == count_cost(pruned, INPUT_SIZE)
