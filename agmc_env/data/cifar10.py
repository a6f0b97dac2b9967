"""CIFAR-10 from the ``.npz`` pair (``cifar10/{train,test}.npz``) or torchvision's
``cifar-10-batches-py`` folder, found in a data root or downloaded once (:mod:`agmc_env.data.fetch`)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import torch

from agmc_env.data.cifar_arrays import BATCH_FILES, REFETCH, read_batches_arrays, read_npz_arrays
from agmc_env.data.fetch import locate
from agmc_env.data.imageset import ImageSet
from agmc_env.errors import ConfigError, CorruptFileError

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)


def _to_imageset(x: np.ndarray, y: np.ndarray, source: Path) -> ImageSet:
    if x.ndim != 4 or x.shape[1:] != (32, 32, 3) or x.dtype != np.uint8:
        raise CorruptFileError(
            f"{source}: expected x of shape (N, 32, 32, 3) uint8 (NHWC), got {x.shape} {x.dtype}; {REFETCH}", source
        )
    if y.shape != (x.shape[0],):
        raise CorruptFileError(f"{source}: expected y of shape ({x.shape[0]},), got {y.shape}; {REFETCH}", source)
    images = torch.from_numpy(np.ascontiguousarray(x.transpose(0, 3, 1, 2)))
    return ImageSet(images, torch.from_numpy(y.astype(np.int64)), f"cifar10/{source.stem}")


def load_cifar10(split: str, data_dir: str | os.PathLike | None = None) -> ImageSet:
    """Load the CIFAR-10 ``"train"`` or ``"test"`` split.

    Looks in each data root (see :mod:`agmc_env.paths`) for ``cifar10/<split>.npz``, then for
    ``cifar-10-batches-py/``; when none has it (and ``data_dir`` is not given), downloads the
    archive once into the user cache unless offline. Both formats give the same arrays (the train
    split class-sorted, see :mod:`agmc_env.data.cifar_arrays`).

    Raises:
        ConfigError: unknown split.
        CorruptFileError: arrays missing or of the wrong shape or type (names the file).
        DataNotFoundError: the file is in none of the data roots and was not downloaded (lists every
            place looked at and what to do).
    """
    if split not in BATCH_FILES:
        raise ConfigError(f"split must be one of {sorted(BATCH_FILES)}, got {split!r}")
    path = locate(f"cifar10/{split}.npz", data_dir)
    if path.is_dir():
        return _to_imageset(*read_batches_arrays(path, split), path / split)
    return _to_imageset(*read_npz_arrays(path), path)
