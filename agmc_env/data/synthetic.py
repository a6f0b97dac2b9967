"""Synthetic image sets for tests and zoo-coverage runs (no files needed)."""

from __future__ import annotations

import torch

from agmc_env.data.imageset import ImageSet


def synthetic_imageset(
    num_images: int = 64, image_size: int = 32, num_classes: int = 10, seed: int = 0
) -> ImageSet:
    """Random uint8 images with random labels, reproducible from ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (num_images, 3, image_size, image_size), generator=generator, dtype=torch.uint8)
    labels = torch.randint(0, num_classes, (num_images,), generator=generator)
    return ImageSet(images, labels, "synthetic")
