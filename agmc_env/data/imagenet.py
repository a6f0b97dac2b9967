"""ImageNet (or any class-per-folder tree) read into an in-memory :class:`ImageSet`."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torchvision import transforms
from torchvision.datasets import ImageFolder

from agmc_env.errors import MissingFileError
from agmc_env.data.imageset import ImageSet


def load_image_folder(
    root: str | os.PathLike, max_images: int | None = None, image_size: int = 224, seed: int = 0
) -> ImageSet:
    """Load up to ``max_images`` images of an ``ImageFolder`` tree, resized and centre-cropped.

    Images are drawn with a seeded permutation so a small subset still covers many classes.
    """
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MissingFileError(f"ImageFolder root not found: {root} (expected <root>/<class>/<image>)", path=root)
    to_uint8 = transforms.Compose([
        transforms.Resize(int(image_size * 256 / 224)),
        transforms.CenterCrop(image_size),
        transforms.PILToTensor(),
    ])
    folder = ImageFolder(str(root), transform=to_uint8)
    order = torch.randperm(len(folder), generator=torch.Generator().manual_seed(seed))
    if max_images is not None:
        order = order[:max_images]
    pairs = [folder[int(i)] for i in order]
    images = torch.stack([image for image, _ in pairs])
    labels = torch.tensor([label for _, label in pairs], dtype=torch.int64)
    return ImageSet(images, labels, f"imagefolder/{root.name}")
