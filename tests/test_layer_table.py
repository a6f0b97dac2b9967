"""describe_layers: the one traced description of a model equals hand counts (tiny CNN, ResNet-20)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.cost import Cost, count_cost
from agmc_env.errors import ConfigError
from agmc_env.layer_table import describe_layers, macs_per_output
from agmc_env.models import get_model


def test_tiny_cnn_by_hand(tiny_cnn: nn.Module) -> None:
    table = describe_layers(tiny_cnn, (3, 32, 32))
    assert table.names == ["conv1", "conv2", "conv3", "fc"]
    conv1, conv2, conv3, fc = table.calls
    assert (conv1.module_type, conv1.in_shape, conv1.out_shape) == ("Conv2d", (1, 3, 32, 32), (1, 8, 32, 32))
    assert (fc.module_type, fc.in_shape, fc.out_shape) == ("Linear", (1, 8), (1, 10))
    assert [c.positions for c in table.calls] == [1024, 1024, 1024, 1]
    # (in / groups) * 3 * 3 MACs per output element, times out channels * 32 * 32; the classifier 8 * 10.
    assert [c.macs for c in table.calls] == [3 * 9 * 8 * 1024, 8 * 9 * 16 * 1024, 16 * 9 * 8 * 1024, 8 * 10]
    assert [c.params for c in table.calls] == [3 * 8 * 9, 8 * 16 * 9, 16 * 8 * 9, 8 * 10 + 10]
    assert table.macs == 2_580_560
    assert table.params == sum(p.numel() for p in tiny_cnn.parameters())  # batch norm included
    assert Cost.of(table) == count_cost(tiny_cnn, (3, 32, 32))


def test_resnet20_by_hand() -> None:
    table = describe_layers(get_model("resnet20", pretrained=False), (3, 32, 32))
    assert len(table.calls) == 20 and table.names[-1] == "linear"  # 19 convs, then the classifier
    assert table.names[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]  # execution order
    stage = {"conv1": 1024, "layer1": 1024, "layer2": 256, "layer3": 64, "linear": 1}
    assert table.positions() == {name: stage[name.split(".")[0]] for name in table.names}
    assert table.macs == 40_551_040  # conv + linear MACs of ResNet-20 (tests/models/test_zoo.py)
    assert table.params == 269_722
    assert table.layer_macs()["layer2.0.conv1"] == 16 * 9 * 32 * 256  # stride 2: 16x16 outputs


class _Reused(nn.Module):
    """One conv called twice at two resolutions, and a linear layer on a sequence (rows = positions)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 3, 3, padding=1)
        self.fc = nn.Linear(256, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv(nn.functional.max_pool2d(self.conv(x), 2))  # 32x32, then 16x16
        return self.fc(x.flatten(2))  # (1, 3, 256) -> (1, 3, 4): 3 rows


def test_reused_layer_and_linear_rows() -> None:
    table = describe_layers(_Reused(), (3, 32, 32))
    assert [c.name for c in table.calls] == ["conv", "conv", "fc"] and table.names == ["conv", "fc"]
    assert [c.macs for c in table.calls_of("conv")] == [27 * 3 * 1024, 27 * 3 * 256]
    assert table.positions() == {"conv": 1024 + 256, "fc": 3}
    assert table.layer_macs() == {"conv": 27 * 3 * 1280, "fc": 256 * 4 * 3}
    assert table.calls_of("missing") == []


def test_modes_and_statistics_are_kept(tiny_cnn: nn.Module) -> None:
    tiny_cnn.train()
    tiny_cnn.bn2.eval()
    before = tiny_cnn.bn1.running_mean.clone()
    describe_layers(tiny_cnn, (3, 32, 32))
    assert tiny_cnn.training and tiny_cnn.bn1.training and not tiny_cnn.bn2.training
    assert torch.equal(tiny_cnn.bn1.running_mean, before)


def test_misuse_is_refused(tiny_cnn: nn.Module) -> None:
    table = describe_layers(tiny_cnn, (3, 32, 32))
    with pytest.raises(ConfigError, match=r"described for input_size \(3, 32, 32\), not \(3, 64, 64\)"):
        table.check_input_size((3, 64, 64))
    with pytest.raises(ConfigError, match="BatchNorm2d"):
        macs_per_output(nn.BatchNorm2d(4))
    assert macs_per_output(nn.Conv2d(8, 8, 3, groups=8)) == 9  # depthwise: one input channel per output
