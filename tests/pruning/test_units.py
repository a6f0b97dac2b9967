from __future__ import annotations

import pytest
import torch

from agmc_env.models import get_model
from agmc_env.pruning import find_units, kept_channels


def test_inner_units_of_cifar_resnet_are_first_convs_of_blocks() -> None:
    units = find_units(get_model("resnet20", pretrained=False), (3, 32, 32))
    assert [u.name for u in units] == [f"layer{s}.{b}.conv1" for s in (1, 2, 3) for b in range(3)]
    assert [u.index for u in units] == list(range(9))
    first = units[0]
    assert first.module_names == ("layer1.0.conv1",)
    assert first.consumer_names == ("layer1.0.conv2",)
    assert first.channels == 16


def test_all_units_refused_on_option_a_resnet() -> None:
    with pytest.raises(ValueError, match="zero-padding"):
        find_units(get_model("resnet20", pretrained=False), (3, 32, 32), units="all")


def test_unknown_unit_set() -> None:
    with pytest.raises(ValueError, match="units must be one of"):
        find_units(get_model("resnet20", pretrained=False), (3, 32, 32), units="some")


def test_all_units_of_torchvision_resnet18_include_the_residual_streams() -> None:
    model = get_model("tv_resnet18", pretrained=False)
    inner = find_units(model, (3, 64, 64))
    every = find_units(model, (3, 64, 64), units="all")
    assert {u.name for u in inner} < {u.name for u in every}
    stem = next(u for u in every if u.name == "conv1")
    # The stem stream couples the stem with the second conv of both layer1 blocks.
    assert set(stem.module_names) == {"conv1", "layer1.0.conv2", "layer1.1.conv2"}
    assert all("fc" not in u.module_names for u in every)  # the classifier's outputs are never cut


def test_tiny_cnn_residual_is_not_inner(tiny_cnn: torch.nn.Module) -> None:
    assert [u.name for u in find_units(tiny_cnn, (3, 32, 32))] == ["conv2"]
    assert [u.name for u in find_units(tiny_cnn, (3, 32, 32), units="all")] == ["conv1", "conv2"]


@pytest.mark.parametrize(
    ("channels", "ratio", "round_to", "expected"),
    [(16, 0.0, None, 16), (16, 0.5, None, 8), (16, 1.0, None, 1), (10, 0.25, None, 8), (3, 0.99, None, 1),
     (64, 0.3, 8, 48), (64, 0.95, 8, 8), (4, 0.5, 8, 4)],
)
def test_kept_channels(channels: int, ratio: float, round_to: int | None, expected: int) -> None:
    assert kept_channels(channels, ratio, round_to) == expected


def test_kept_channels_is_monotone_and_rejects_bad_ratios() -> None:
    ratios = [i / 200 for i in range(201)]
    for round_to in (None, 4):
        kept = [kept_channels(37, r, round_to) for r in ratios]
        assert all(a >= b for a, b in zip(kept, kept[1:]))
    for bad in (-0.1, 1.5, float("nan")):
        with pytest.raises(ValueError, match="ratio"):
            kept_channels(16, bad)
