"""SparseCostModel: fine-grained pruning cost equal to a hand count of the pruned ResNet-20."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agmc_env.cost import count_cost
from agmc_env.models import get_model
from agmc_env.pruning import SparseCostModel, fine_grained_prune, kept_weights, nonzero_params


# Output positions (H x W) each weight of a CIFAR ResNet-20 layer is used at, by hand: the stem and
# stage 1 run at 32x32, stage 2 at 16x16 (its first conv has stride 2), stage 3 at 8x8, the classifier once.
def _positions(name: str) -> int:
    if name == "linear":
        return 1
    return {"conv1": 1024, "layer1": 1024, "layer2": 256, "layer3": 64}[name.split(".")[0]]


@pytest.fixture(scope="module")
def resnet20() -> torch.nn.Module:
    torch.manual_seed(0)
    return get_model("resnet20", pretrained=False).eval()


def test_unpruned_cost_equals_count_cost(resnet20: torch.nn.Module) -> None:
    model = SparseCostModel(resnet20, (3, 32, 32))
    assert len(model.units) == 20  # 19 convs + the classifier
    assert model.base == count_cost(resnet20, (3, 32, 32))
    assert model.cost([0.0] * 20) == model.base
    assert sum(model.unit_macs()) == model.base.macs


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cost_equals_the_hand_count_of_the_pruned_model(resnet20: torch.nn.Module, seed: int) -> None:
    model = SparseCostModel(resnet20, (3, 32, 32))
    ratios = np.random.default_rng(seed).uniform(0.0, 1.0, len(model.units)).tolist()
    pruned = fine_grained_prune(resnet20, ratios)
    modules = dict(pruned.named_modules())
    nonzero_macs = sum(int(torch.count_nonzero(modules[u.name].weight)) * _positions(u.name) for u in model.units)
    # Convs without bias and BN/shortcut do no MACs beyond the conv/linear weights, so this is every MAC.
    assert model.cost(ratios).macs == nonzero_macs
    zeroed = sum(modules[u.name].weight.numel() - int(torch.count_nonzero(modules[u.name].weight)) for u in model.units)
    assert model.cost(ratios).params == model.base.params - zeroed
    # nonzero_params also misses the freshly initialised BN biases, which are exactly zero: 688 of them.
    assert nonzero_params(pruned) == model.cost(ratios).params - (16 * 7 + 32 * 6 + 64 * 6)
    assert [kept_weights(u.channels, r) for u, r in zip(model.units, ratios)] == [
        int(torch.count_nonzero(modules[u.name].weight)) for u in model.units
    ]


def test_wrong_ratio_count_is_refused(resnet20: torch.nn.Module) -> None:
    with pytest.raises(ValueError, match="one entry per layer \\(20\\)"):
        SparseCostModel(resnet20, (3, 32, 32)).cost([0.5])
