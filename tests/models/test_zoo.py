"""Model zoo: architectures, shipped weights, hand-counted cost, bad input."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.cost import count_cost
from agmc_env.models import (
    MODEL_SPECS,
    CifarResNet,
    WeightsMismatchError,
    available_models,
    get_model,
    load_weights,
)
from agmc_env.paths import DataNotFoundError


def resnet_macs_by_hand(depth: int) -> int:
    """Conv + linear MACs of a CIFAR ResNet, counted from the architecture."""
    n = (depth - 2) // 6
    macs = 3 * 16 * 9 * 32 * 32  # stem conv
    for channels, size, in_channels in ((16, 32, 16), (32, 16, 16), (64, 8, 32)):
        positions = size * size
        macs += in_channels * channels * 9 * positions  # first conv of the stage's first block
        macs += (2 * n - 1) * channels * channels * 9 * positions  # every other conv of the stage
    return macs + 64 * 10  # classifier


def resnet_params_by_hand(depth: int) -> int:
    n = (depth - 2) // 6
    params = 3 * 16 * 9 + 2 * 16  # stem conv + bn
    for channels, in_channels in ((16, 16), (32, 16), (64, 32)):
        params += in_channels * channels * 9 + (2 * n - 1) * channels * channels * 9
        params += 2 * n * 2 * channels  # two BNs (weight + bias) per block
    return params + 64 * 10 + 10


@pytest.mark.parametrize("depth", [20, 32, 44, 56, 110])
def test_resnet_cost_equals_hand_count(depth: int) -> None:
    cost = count_cost(CifarResNet(depth), (3, 32, 32))
    assert cost.macs == resnet_macs_by_hand(depth)
    assert cost.params == resnet_params_by_hand(depth)
    assert cost.flops == 2 * cost.macs


def test_resnet20_and_56_published_figures() -> None:
    assert resnet_macs_by_hand(56) == 125_485_696
    assert count_cost(CifarResNet(56), (3, 32, 32)).params == 853_018
    assert resnet_macs_by_hand(20) == 40_551_040
    assert count_cost(CifarResNet(20), (3, 32, 32)).params == 269_722


@pytest.mark.parametrize("name", ["resnet20", "mobilenet_v2_cifar", "vgg16_cifar"])
def test_cifar_models_output_shape(name: str) -> None:
    model = get_model(name, pretrained=False)
    assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert not model.training


def test_torchvision_models_build_without_download() -> None:
    model = get_model("tv_resnet18", pretrained=False, num_classes=7)
    assert model(torch.zeros(1, 3, 64, 64)).shape == (1, 7)


def test_user_module_passes_through(tiny_cnn: nn.Module) -> None:
    assert get_model(tiny_cnn) is tiny_cnn


def test_unknown_model_lists_known_names() -> None:
    with pytest.raises(ValueError, match="unknown model 'resnet57'.*resnet56"):
        get_model("resnet57")
    assert set(available_models()) == set(MODEL_SPECS)


def test_model_without_shipped_weights_asks_for_a_file() -> None:
    with pytest.raises(DataNotFoundError, match="weights_path"):
        get_model("resnet110")


def test_missing_weights_file(tmp_path) -> None:
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        get_model("resnet20", weights_path=tmp_path / "nope.th")


def test_weights_of_wrong_architecture(tmp_path) -> None:
    path = tmp_path / "resnet32.pt"
    torch.save(CifarResNet(32).state_dict(), path)
    with pytest.raises(WeightsMismatchError, match="unexpected keys.*layer1.3"):
        load_weights(CifarResNet(20), path)
    torch.save({"module.conv1.weight": torch.zeros(8, 3, 3, 3)}, path)
    with pytest.raises(WeightsMismatchError, match="shape mismatches.*conv1.weight"):
        load_weights(CifarResNet(20), path)


def test_round_trip_of_own_state_dict(tmp_path) -> None:
    source = CifarResNet(20)
    path = tmp_path / "r20.pt"
    torch.save({"state_dict": source.state_dict()}, path)
    target = load_weights(CifarResNet(20), path)
    for key, value in source.state_dict().items():
        assert torch.equal(value, target.state_dict()[key])


@pytest.mark.data
def test_shipped_checkpoint_fills_every_tensor() -> None:
    # The files lack num_batches_tracked; everything else must come from the file.
    fresh = CifarResNet(56)
    loaded = get_model("resnet56")
    changed = [
        k for k, v in loaded.state_dict().items()
        if not k.endswith("num_batches_tracked") and not torch.equal(v, fresh.state_dict()[k])
    ]
    assert len(changed) == 277
