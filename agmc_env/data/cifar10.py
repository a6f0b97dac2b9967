"""CIFAR-10 from the ``.npz`` pair (``cifar10/{train,test}.npz``) or torchvision's
``cifar-10-batches-py`` folder, both read without any network access."""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import torch

from agmc_env.errors import ConfigError, CorruptFileError
from agmc_env.data.imageset import ImageSet
from agmc_env.paths import DataNotFoundError, data_dir_candidates

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)
_BATCH_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def _to_imageset(x: np.ndarray, y: np.ndarray, source: Path) -> ImageSet:
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
        raise CorruptFileError(
            f"{source}: expected x of shape (N, 32, 32, 3) uint8 (NHWC), got {x.shape} {x.dtype}"
        )
    if y.shape != (x.shape[0],):
        raise CorruptFileError(f"{source}: expected y of shape ({x.shape[0]},), got {y.shape}")
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    return ImageSet(images, torch.from_numpy(y.astype(np.int64)), f"cifar10/{source.stem}")


def _read_npz(path: Path) -> ImageSet:
    with np.load(path) as archive:
        if "x" not in archive or "y" not in archive:
            raise CorruptFileError(f"{path}: expected arrays 'x' and 'y', found {list(archive.keys())}")
        return _to_imageset(archive["x"], archive["y"], path)


def _read_batches(folder: Path, split: str) -> ImageSet:
    xs, ys = [], []
    for name in _BATCH_FILES[split]:
        with open(folder / name, "rb") as handle:
            # torchvision's own CIFAR10 reads these files the same way; they hold only arrays/lists.
            batch = pickle.load(handle, encoding="latin1")
        xs.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
        ys.append(np.asarray(batch["labels"], dtype=np.uint8))
    return _to_imageset(np.concatenate(xs), np.concatenate(ys), folder / split)


def load_cifar10(split: str, data_dir: str | os.PathLike | None = None) -> ImageSet:
    """Load the CIFAR-10 ``"train"`` or ``"test"`` split.

    Looks in each data root (see :mod:`agmc_env.paths`) for ``cifar10/<split>.npz``, then for
    ``cifar-10-batches-py/``. Both shipped archives are lossless.

    Raises:
        ConfigError: unknown split.
        CorruptFileError: arrays missing or of the wrong shape or type (names the file).
        DataNotFoundError: the file is in none of the data roots (lists every place looked at).
    """
    if split not in _BATCH_FILES:
        raise ConfigError(f"split must be one of {sorted(_BATCH_FILES)}, got {split!r}")
    roots = [Path(data_dir).expanduser()] if data_dir is not None else data_dir_candidates()
    looked_at: list[Path] = []
    for root in roots:
        npz = root / "cifar10" / f"{split}.npz"
        looked_at.append(npz)
        if npz.is_file():
            return _read_npz(npz)
        for folder in (root / "cifar-10-batches-py", root / "cifar10" / "cifar-10-batches-py"):
            looked_at.append(folder)
            if all((folder / name).is_file() for name in _BATCH_FILES[split]):
                return _read_batches(folder, split)
    places = "\n  ".join(str(p) for p in looked_at)
    raise DataNotFoundError(
        f"CIFAR-10 {split} split not found. Looked at:\n  {places}\n"
        "Pass data_dir=... (CLI: --data-dir) or set AGMC_DATA to a folder holding "
        "cifar10/{train,test}.npz or cifar-10-batches-py/."
    )
