"""Small models shared by the env tests (module-level, so the env's per-process caches hit)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.models import get_model


def _resnet20_random() -> nn.Module:
    torch.manual_seed(0)
    return get_model("resnet20", pretrained=False)


class TinyResidualCNN(nn.Module):
    """Two inner units and a residual stream with no zero-padding shortcut (so units="all" works)."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn0 = nn.BatchNorm2d(8)
        self.conv1 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.conv2 = nn.Conv2d(16, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 12, 3, stride=2, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(12)
        self.fc = nn.Linear(12, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn0(self.stem(x)))
        out = torch.relu(out + self.bn2(self.conv2(torch.relu(self.bn1(self.conv1(out))))))
        out = torch.relu(self.bn3(self.conv3(out)))
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))


RESNET20_RANDOM = _resnet20_random()
TINY = TinyResidualCNN().eval()

# Fast settings: a randomly initialised ResNet-20 (9 units) scored on 50 random images.
FAST = {"model": RESNET20_RANDOM, "dataset": "synthetic", "val_size": 50, "device": "cpu"}


@pytest.fixture
def fast() -> dict:
    """Keyword arguments of a fast env (copy: tests may add to it)."""
    return dict(FAST)


@pytest.fixture
def tiny_residual() -> nn.Module:
    return TINY
