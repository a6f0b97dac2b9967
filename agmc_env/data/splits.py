"""Explicit, seeded data splits with no leak between the search and the report split.

=================  ==========================================================================
split              images
=================  ==========================================================================
``search``         a seeded half of the lossless test set (5,000): the reward during a search
``report``         the other half (5,000): final accuracy, never seen by the search
``test``           the full test set (10,000), reported alongside
``train_holdout``  AMC/AGMC's choice: 1,000 seeded images held out of the training set
``calibration``    training images outside ``train_holdout`` (BN re-calibration, fine-tuning)
``train``          the whole training set
=================  ==========================================================================

Why ``search`` comes from the test set by default: the shipped weights were trained on all 50,000
training images, so accuracy on a held-out part of the training set is close to training accuracy
and barely separates good policies from bad. ``train_holdout`` remains available for AMC-faithful
runs.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import torch

from agmc_env.errors import ConfigError
from agmc_env.data.cifar10 import load_cifar10
from agmc_env.data.imagenet import load_image_folder
from agmc_env.data.imageset import ImageSet
from agmc_env.data.synthetic import synthetic_imageset
from agmc_env.paths import find_data_file

SPLITS = ("search", "report", "test", "train_holdout", "calibration", "train")
DATASETS = ("cifar10", "imagenet", "imagefolder", "synthetic")
# Side of the square images of each data set when no image_size is asked for.
_DEFAULT_IMAGE_SIZE = {"cifar10": 32, "synthetic": 32, "imagenet": 224, "imagefolder": 224}
TRAIN_HOLDOUT_SIZE = 1000
# Synthetic images are generated in memory (twice the requested count, uint8): at most this much.
SYNTHETIC_MAX_BYTES = 2**30


@lru_cache(maxsize=4)
def _cached_cifar10(split: str, data_dir: str | None) -> ImageSet:
    # One decoded copy per process: several envs of one process share it.
    return load_cifar10(split, data_dir)


def _permutation(n: int, seed: int) -> torch.Tensor:
    return torch.randperm(n, generator=torch.Generator().manual_seed(seed))


def _split_source(full_test: ImageSet, full_train: ImageSet | None, split: str, seed: int) -> ImageSet:
    if split in ("search", "report"):
        order = _permutation(len(full_test), seed)
        half = len(order) // 2
        return full_test.subset(order[:half] if split == "search" else order[half:], split)
    if split == "test":
        return full_test
    assert full_train is not None
    order = _permutation(len(full_train), seed)
    if split == "train":
        # Shuffled, like every other split: the CIFAR-10 training set is stored class by class, so
        # its first N images (``size=N``) would otherwise all be airplanes.
        return full_train.subset(order, split)
    holdout = min(TRAIN_HOLDOUT_SIZE, len(order) // 2)
    return full_train.subset(order[:holdout] if split == "train_holdout" else order[holdout:], split)


def load_split(
    split: str,
    dataset: str = "cifar10",
    data_dir: str | os.PathLike | None = None,
    split_seed: int = 0,
    size: int | None = None,
    image_size: int | None = None,
    image_folder: str | os.PathLike | None = None,
) -> ImageSet:
    """Load one split (see the module docstring), optionally its first ``size`` images.

    Args:
        split: one of :data:`SPLITS`.
        dataset: ``"cifar10"``, ``"imagenet"`` (an ImageFolder tree at ``<data>/imagenet/val``; all
            splits are carved out of it), ``"imagefolder"`` (any ImageFolder tree, ``image_folder``;
            the same) or ``"synthetic"`` (random images, for tests).
        data_dir: the data root (default: the resolution order of :mod:`agmc_env.paths`).
        split_seed: seed of the permutation that defines the splits. (default: ``0``)
        size: keep the first ``size`` images of the split (a seeded subset, since splits are
            already shuffled). (default: all)
        image_size: side of the square images, to match a model's input size: the size of
            ``"synthetic"`` images, the centre crop of ``"imagenet"``/``"imagefolder"`` ones; CIFAR-10
            has its own. (default: 32 for CIFAR-10 and synthetic, 224 for the image folders)
        image_folder: the class-per-folder tree of ``dataset="imagefolder"`` (``<dir>/<class>/<image>``).
    """
    if split not in SPLITS:
        raise ConfigError(f"split must be one of {SPLITS}, got {split!r}")
    if dataset not in DATASETS:
        raise ConfigError(f"dataset must be one of {DATASETS}, got {dataset!r}")
    if size is not None and size <= 0:
        raise ConfigError(f"size must be a positive number of images, got {size}")
    root = None if data_dir is None else str(Path(data_dir).expanduser())
    image_size = image_size or _DEFAULT_IMAGE_SIZE[dataset]
    if dataset == "cifar10":
        full_test = _cached_cifar10("test", root)
        full_train = _cached_cifar10("train", root) if split not in ("search", "report", "test") else None
        chosen = _split_source(full_test, full_train, split, split_seed)
    elif dataset == "synthetic":
        count = max(2 * (size or 256), 64)
        if count * 3 * image_size**2 > SYNTHETIC_MAX_BYTES:  # a typo, not a data set: refuse, do not swap
            largest = SYNTHETIC_MAX_BYTES // (2 * 3 * image_size**2)
            raise ConfigError.for_option(
                "size", f"must be at most {largest} for {image_size}x{image_size} synthetic images, got {size}"
            )
        full = synthetic_imageset(num_images=count, image_size=image_size, seed=split_seed)
        chosen = _split_source(full, full, split, split_seed)
    else:
        if dataset == "imagefolder" and image_folder is None:
            raise ConfigError.for_option(
                "image_folder", "is needed with dataset='imagefolder': a folder of <class>/<image> files"
            )
        folder = image_folder if dataset == "imagefolder" else find_data_file("imagenet/val", data_dir)
        limit = None if size is None else 2 * size
        full = load_image_folder(folder, max_images=limit, image_size=image_size, seed=split_seed)
        chosen = _split_source(full, full, split, split_seed)
    if size is not None:
        if size > len(chosen):
            raise ConfigError.for_option("size", f"must be at most {len(chosen)}, the images of split {split!r}, got {size}")
        chosen = chosen.subset(torch.arange(size), chosen.name)
    return chosen
