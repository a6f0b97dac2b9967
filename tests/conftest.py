"""Shared fixtures: the real data location, a loopback download mirror, tiny models, markers."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import torch
from torch import nn

from agmc_env import paths
from agmc_env.data.cifar_arrays import array_sha256
from agmc_env.data.sources import SOURCES, DataFile
from agmc_env.data.splits import _cached_cifar10
from agmc_env.paths import (
    CACHE_ENV_VAR, DATA_ENV_VAR, MIRROR_ENV_VAR, OFFLINE_ENV_VAR, DataNotFoundError, cache_data_dir, find_data_file,
)  # fmt: skip
from tests.loopback import FakeCifar, MirrorServer, fake_cifar

# Tests never touch the internet: every download is refused, in this process and in the `agmc`
# processes tests start, unless a test lifts it for its own loopback server (the `mirror` fixture).
os.environ[OFFLINE_ENV_VAR] = "1"
os.environ.pop(MIRROR_ENV_VAR, None)


def _real_data_available() -> bool:
    try:
        find_data_file("cifar10/test.npz")
        find_data_file("pretrained/resnet20-12fca82f.th")
    except DataNotFoundError:
        return False
    return True


REAL_DATA = _real_data_available()


# The shipped weights, located before any test hides the data roots (the mirror serves them).
REAL_WEIGHTS = (
    {name: find_data_file(s.files[0].path) for name, s in SOURCES.items() if s.sha256 is not None} if REAL_DATA else {}
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    # In CI the data must be there: a missing data set fails the run instead of silently skipping.
    if REAL_DATA or os.environ.get("CI"):
        return
    skip = pytest.mark.skip(reason="real CIFAR-10/weights not found (set AGMC_DATA)")
    for item in items:
        if "data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def isolated_data(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """No data anywhere: ``AGMC_DATA`` unset, the checkout's ``../shared/data`` hidden, an empty
    user cache under ``tmp_path``; yields the cache's data root. Loaded CIFAR sets are forgotten."""
    monkeypatch.delenv(DATA_ENV_VAR, raising=False)
    monkeypatch.setattr(paths, "_FALLBACK_DATA_DIR", tmp_path / "no-checkout-data")
    monkeypatch.setenv(CACHE_ENV_VAR, str(tmp_path / "cache"))
    _cached_cifar10.cache_clear()  # splits keep one decoded copy per process
    yield cache_data_dir()
    _cached_cifar10.cache_clear()


@dataclass
class Mirror:
    """A running loopback mirror, the fake CIFAR-10 it serves and the cache downloads go to."""

    server: MirrorServer
    fake: FakeCifar
    cache: Path

    def url_path(self, name: str) -> str:
        """The path the mirror serves source ``name`` under (that of its public URL)."""
        return urlsplit(SOURCES[name].url).path


@pytest.fixture
def mirror(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Mirror]:
    """``AGMC_MIRROR`` pointing at a loopback server, downloads allowed, an empty cache.

    It serves the real shipped weights (where present; tests that download them are marked
    ``data``) and a small CIFAR-format archive; the sources table's CIFAR-10 entry is pointed at
    that archive's md5 and arrays for the test.
    """
    server = MirrorServer()
    fake = fake_cifar()
    source = SOURCES["cifar10"]
    arrays = {"train": fake.train, "test": fake.test}
    files = tuple(
        DataFile(f.path, 0, arrays=tuple(zip("xy", map(array_sha256, arrays[Path(f.path).stem]))))
        for f in source.files
    )
    monkeypatch.setitem(SOURCES, "cifar10", dataclasses.replace(source, md5=fake.md5, size=len(fake.archive), files=files))
    server.files[urlsplit(source.url).path] = fake.archive
    for name, path in REAL_WEIGHTS.items():
        server.files[urlsplit(SOURCES[name].url).path] = path.read_bytes()
    monkeypatch.setenv(OFFLINE_ENV_VAR, "0")
    monkeypatch.setenv(MIRROR_ENV_VAR, server.url)
    yield Mirror(server, fake, isolated_data)
    server.close()


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


def make_image_folder(root: Path, classes: tuple[str, ...] = ("cat", "dog"), per_class: int = 8) -> Path:
    """A tiny ``ImageFolder`` tree: ``root/<class>/<i>.png``, random RGB images of odd sizes."""
    from PIL import Image

    generator = torch.Generator().manual_seed(0)
    for label, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            pixels = torch.randint(0, 256, (20 + i, 24 + label, 3), generator=generator, dtype=torch.uint8)
            Image.fromarray(pixels.numpy()).save(root / name / f"{i}.png")
    return root


@pytest.fixture
def image_folder(tmp_path: Path) -> Path:
    """A two-class ``ImageFolder`` tree of 16 small PNGs (see :func:`make_image_folder`)."""
    return make_image_folder(tmp_path / "images")
