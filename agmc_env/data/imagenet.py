"""ImageNet (or any class-per-folder tree) read into an in-memory :class:`ImageSet`."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torchvision import transforms
from torchvision.datasets import ImageFolder
from torchvision.datasets.folder import find_classes

from agmc_env.data.imageset import ImageSet
from agmc_env.errors import MissingFileError

_LAYOUT = "expected <root>/<class>/<image>, e.g. <root>/cat/1.jpg and <root>/dog/2.png"


def _check_root(root: str | os.PathLike) -> Path:
    root = Path(root).expanduser()
    if not root.is_dir():
        raise MissingFileError(f"ImageFolder root not found: {root} ({_LAYOUT})", path=root)
    return root


def image_folder_classes(root: str | os.PathLike) -> list[str]:
    """The class names of an ``ImageFolder`` tree: its sub-folders, sorted (label ``i`` is the ``i``-th).

    Raises:
        MissingFileError: ``root`` is not a folder or holds no class folder.
    """
    root = _check_root(root)
    try:
        return find_classes(str(root))[0]
    except FileNotFoundError as error:
        raise MissingFileError(f"ImageFolder root {root} holds no class folder ({_LAYOUT})", path=root) from error


def load_image_folder(
    root: str | os.PathLike, max_images: int | None = None, image_size: int = 224, seed: int = 0
) -> ImageSet:
    """Load up to ``max_images`` images of an ``ImageFolder`` tree, resized and centre-cropped.

    Each image is resized so its shorter side is ``image_size * 256 / 224`` and centre-cropped to
    ``image_size`` (the usual ImageNet evaluation transform, scaled to the model's input size), and
    converted to RGB. Images are drawn with a seeded permutation so a small subset still covers many
    classes.

    Raises:
        MissingFileError: ``root`` is not a folder, or holds no class folder with an image in it.
    """
    root = _check_root(root)
    image_folder_classes(root)  # a clear error for a folder without class folders
    to_uint8 = transforms.Compose([
        transforms.Resize(int(image_size * 256 / 224)),
        transforms.CenterCrop(image_size),
        transforms.PILToTensor(),
    ])
    try:
        folder = ImageFolder(str(root), transform=to_uint8)
    except FileNotFoundError as error:  # class folders, but no file with an image extension
        raise MissingFileError(f"ImageFolder root {root}: {error} ({_LAYOUT})", path=root) from error
    order = torch.randperm(len(folder), generator=torch.Generator().manual_seed(seed))
    if max_images is not None:
        order = order[:max_images]
    pairs = [folder[int(i)] for i in order]
    images = torch.stack([image for image, _ in pairs])
    labels = torch.tensor([label for _, label in pairs], dtype=torch.int64)
    return ImageSet(images, labels, f"imagefolder/{root.name}")
