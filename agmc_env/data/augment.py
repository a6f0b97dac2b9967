"""CIFAR's training augmentation on whole uint8 batches: random crops of the zero-padded image and
random horizontal flips, as tensor ops (no per-image Python loop).

The shipped CIFAR ResNets learned their batch-norm statistics on images augmented this way
(torchvision's ``RandomCrop(32, padding=4)`` pads with black pixels, then ``RandomHorizontalFlip``),
so batch-norm re-calibration uses the same augmentation to reproduce them (see
:func:`agmc_env.pruning.recalibrate_batchnorm`), and fine-tuning trains with it.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn


def random_crop_flip(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random ``H x W`` crops of the zero-padded ``images`` and random horizontal flips.

    Args:
        images: ``(N, C, H, W)`` images of any dtype (uint8 pads with black, as torchvision does).
        generator: the CPU generator all offsets and flips are drawn from (seeded by the caller).
        padding: pixels of zeros added on each side before cropping. (default: ``4``)

    Returns:
        A new tensor with the shape, dtype and device of ``images``.

    Shapes:
        ``(N, C, H, W) -> (N, C, H, W)``
    """
    n, channels, height, width = images.shape
    padded = nn.functional.pad(images, (padding,) * 4)
    rows = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    cols = torch.randint(0, 2 * padding + 1, (n,), generator=generator).to(images.device)
    flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
    row_index = rows[:, None] + torch.arange(height, device=images.device)  # (N, H)
    col_offsets = torch.arange(width, device=images.device).expand(n, width)
    col_index = cols[:, None] + torch.where(flip[:, None], col_offsets.flip(1), col_offsets)  # (N, W)
    # One gather over the flattened padded planes: pixel (i, j) of image k comes from
    # (row_index[k, i], col_index[k, j]); a flipped image reads its columns right to left.
    flat_index = (row_index[:, :, None] * (width + 2 * padding) + col_index[:, None, :]).view(n, 1, -1)
    crops = padded.flatten(2).gather(2, flat_index.expand(n, channels, height * width))
    return crops.view(n, channels, height, width)


def training_augmentation(dataset: str) -> Callable[[torch.Tensor, torch.Generator], torch.Tensor] | None:
    """The augmentation the zoo's weights for ``dataset`` were trained with, when it is known.

    ``"cifar10"`` (and ``"synthetic"``, which stands in for it in tests): :func:`random_crop_flip`.
    ``"imagenet"``: ``None``; torchvision's random-resized crops are not reproduced, so batch norms
    are re-calibrated on plain images there.
    """
    return random_crop_flip if dataset in ("cifar10", "synthetic") else None
