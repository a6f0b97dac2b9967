"""Shared fixtures: the real data location, tiny models for fast tests, markers."""

from __future__ import annotations

import os

import pytest
import torch
from torch import nn

from agmc_env.paths import DataNotFoundError, find_data_file


def _real_data_available() -> bool:
    try:
        find_data_file("cifar10/test.npz")
        find_data_file("pretrained/resnet20-12fca82f.th")
    except DataNotFoundError:
        return False
    return True


REAL_DATA = _real_data_available()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In CI the data must be there: a missing data set fails the run instead of silently skipping.
    if REAL_DATA or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="real CIFAR-10/weights not found (set AGMC_DATA)")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _skip_gpu_without_cuda(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("gpu") and not torch.cuda.is_available():
        pytest.skip("no CUDA device")


class TinyCNN(nn.Module):
    """A 3-conv CNN with a residual add, small enough for millisecond tests."""

    def __init__(self, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(16)
        self.conv3 = nn.Conv2d(16, 8, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        residual = out
        out = torch.relu(self.bn2(self.conv2(out)))
        out = torch.relu(self.bn3(self.conv3(out)) + residual)
        return self.fc(torch.flatten(nn.functional.adaptive_avg_pool2d(out, 1), 1))


@pytest.fixture
def tiny_cnn() -> nn.Module:
    torch.manual_seed(0)
    return TinyCNN().eval()
