"""The in-memory image set every loader returns: uint8 images and integer labels as tensors."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from agmc_env.errors import ConfigError


@dataclass(frozen=True)
class ImageSet:
    """Images kept as uint8 ``(N, C, H, W)`` (4x smaller than float) and int64 labels ``(N,)``.

    Normalisation is the model's business (see :mod:`agmc_env.evaluate`), so one image set serves
    models trained with different statistics.
    """

    images: torch.Tensor
    labels: torch.Tensor
    name: str = ""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.dim() != 4:
            raise ConfigError(
                f"images must be a uint8 tensor of shape (N, C, H, W), got {self.images.dtype} "
                f"{tuple(self.images.shape)}"
            )
        if self.labels.dim() != 1 or len(self.labels) != len(self.images):
            raise ConfigError(
                f"labels must have shape ({len(self.images)},), got {tuple(self.labels.shape)}"
            )

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, indices: torch.Tensor, name: str | None = None) -> ImageSet:
        """The images at ``indices`` (a new set; the order of ``indices`` is kept)."""
        return ImageSet(self.images[indices], self.labels[indices], name or self.name)
