"""``random_crop_flip``: CIFAR's crop-and-flip on whole batches, checked pixel by pixel."""

from __future__ import annotations

import torch
from torch import nn

from agmc_env.data.augment import random_crop_flip


def _reference(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """The same draws, applied image by image: what the batched version must equal."""
    n, _, height, width = images.shape
    padded = nn.functional.pad(images, (padding,) * 4)
    rows = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
    cols = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
    flips = (torch.rand(n, generator=generator) < 0.5).tolist()
    out = []
    for image, row, col, flip in zip(padded, rows, cols, flips):
        crop = image[:, row : row + height, col : col + width]
        out.append(crop.flip(-1) if flip else crop)
    return torch.stack(out)


def test_equals_the_per_image_reference_and_keeps_shape_and_dtype() -> None:
    images = torch.randint(0, 256, (37, 3, 32, 32), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(5))
    assert out.shape == images.shape and out.dtype == torch.uint8
    assert torch.equal(out, _reference(images, torch.Generator().manual_seed(5)))


def test_without_padding_it_flips_exactly_the_chosen_images() -> None:
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(1), padding=0)
    generator = torch.Generator().manual_seed(1)
    torch.randint(0, 1, (64,), generator=generator), torch.randint(0, 1, (64,), generator=generator)
    flipped = torch.rand(64, generator=generator) < 0.5
    assert 0 < int(flipped.sum()) < 64
    assert torch.equal(out[flipped], images[flipped].flip(-1))
    assert torch.equal(out[~flipped], images[~flipped])


def test_padding_is_black_and_seeded_runs_are_equal() -> None:
    images = torch.full((200, 3, 4, 4), 255, dtype=torch.uint8)
    out = random_crop_flip(images, torch.Generator().manual_seed(0), padding=2)
    assert (out == 0).any() and (out == 255).any()
    again = random_crop_flip(images, torch.Generator().manual_seed(0), padding=2)
    assert torch.equal(out, again)
