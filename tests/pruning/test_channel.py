from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.models import get_model
from agmc_env.pruning import IMPORTANCES, find_units, prune_model, pruned_indices
from tests.pruning.masking import check_masked_equivalence, randomise_batchnorm


@pytest.mark.parametrize("name", ["resnet20", "mobilenet_v2_cifar"])
def test_pruned_model_equals_masked_original(name: str) -> None:
    model = randomise_batchnorm(get_model(name, pretrained=False))
    check_masked_equivalence(model, (3, 32, 32), ratios_seed=0)


@pytest.mark.data
def test_pruned_pretrained_resnet56_equals_masked_original() -> None:
    check_masked_equivalence(get_model("resnet56"), (3, 32, 32), ratios_seed=1)


@pytest.mark.parametrize("importance", IMPORTANCES)
def test_zero_ratios_give_identical_outputs_and_originals_are_untouched(importance: str) -> None:
    model = randomise_batchnorm(get_model("resnet20", pretrained=False))
    units = find_units(model, (3, 32, 32))
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        before = model(x)
        same = prune_model(model, units, [0.0] * len(units), importance)(x)
        half = prune_model(model, units, [0.5] * len(units), importance)
        assert torch.equal(same, before)
        assert torch.equal(model(x), before)  # prune_model works on a copy
    assert half.layer1[0].conv1.out_channels == 8 and half.layer1[0].conv2.in_channels == 8
    assert model.layer1[0].conv1.out_channels == 16


def test_importances_choose_different_channels_and_l1_drops_the_weakest() -> None:
    model = get_model("resnet20", pretrained=False)
    units = find_units(model, (3, 32, 32))[:1]
    with torch.no_grad():
        model.layer1[0].conv1.weight[[3, 7]] *= 1e-3
    assert pruned_indices(model, units, [14], "l1") == [[3, 7]]
    assert pruned_indices(model, units, [14], "l2") == [[3, 7]]
    random_choice = pruned_indices(model, units, [8], "random", seed=0)
    assert random_choice == pruned_indices(model, units, [8], "random", seed=0)
    assert random_choice != pruned_indices(model, units, [8], "random", seed=1)
    with pytest.raises(ValueError, match="importance must be one of"):
        pruned_indices(model, units, [8], "taylor")


def test_ratio_never_removes_every_channel_and_round_to() -> None:
    model = get_model("resnet20", pretrained=False)
    units = find_units(model, (3, 32, 32))
    pruned = prune_model(model, units, [1.0] * len(units))
    assert all(pruned.get_submodule(u.name).out_channels == 1 for u in units)
    assert pruned(torch.randn(1, 3, 32, 32)).shape == (1, 10)
    rounded = prune_model(model, units, [0.4] * len(units), round_to=8)
    assert [rounded.get_submodule(u.name).out_channels for u in units] == [8] * 3 + [16] * 3 + [40] * 3
    with pytest.raises(ValueError, match="one entry per unit"):
        prune_model(model, units, [0.5])


def test_all_units_prune_the_residual_stream_of_a_tiny_cnn(tiny_cnn: nn.Module) -> None:
    units = find_units(tiny_cnn, (3, 32, 32), units="all")
    pruned = prune_model(tiny_cnn, units, [0.5, 0.5])
    assert (pruned.conv1.out_channels, pruned.conv3.out_channels, pruned.fc.in_features) == (4, 4, 4)
    assert pruned.fc.out_features == 10
    assert pruned(torch.randn(1, 3, 32, 32)).shape == (1, 10)
