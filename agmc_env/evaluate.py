"""Top-1 accuracy of any ``nn.Module`` on an :class:`ImageSet`, with the data held on the device.

The images are normalised once and kept as one float tensor on the device (CUDA when present), so a
call costs only the forward passes: no DataLoader start-up, no per-batch host-to-device copies.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import torch
from torch import nn

from agmc_env.errors import ConfigError
from agmc_env.data.imageset import ImageSet

PRECISIONS = ("fp32", "bf16", "fp16")
DEVICES = ("auto", "cpu", "cuda")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """``"auto"`` picks CUDA when present, else the CPU; ``"cuda"`` without a GPU raises."""
    if isinstance(device, torch.device):
        return device
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.split(":")[0] not in DEVICES:
        raise ConfigError(f"device must be one of {DEVICES} (or 'cuda:N'), got {device!r}")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"device={device!r} but no CUDA device is available; use 'cpu' or 'auto'")
    return torch.device(device)


def normalize_images(
    images: torch.Tensor, mean: Sequence[float], std: Sequence[float], device: torch.device
) -> torch.Tensor:
    """uint8 ``(N, C, H, W)`` → float32 on ``device``, scaled to [0, 1] and normalised."""
    mean_t = torch.tensor(mean, device=device).view(1, -1, 1, 1)
    std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
    return (images.to(device).float().div_(255.0) - mean_t) / std_t


class Evaluator:
    """Accuracy of models on one fixed image set.

    Args:
        imageset (ImageSet): the images and labels to score on.
        mean (sequence of float): per-channel normalisation mean of the model's training data.
        std (sequence of float): per-channel normalisation std.
        device (str): ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``. (default: ``"auto"``)
        precision (str): ``"fp32"``, or ``"bf16"``/``"fp16"`` autocast (opt-in). (default: ``"fp32"``)
        batch_size (int): images per forward pass; 250 measured fastest on a 2-core CPU. (default: ``250``)
        channels_last (bool): run convolutions in NHWC, faster on CPU and on tensor cores.
            (default: ``True``)

    Note:
        :meth:`accuracy` moves the model to the evaluator's device and memory format in place.
    """

    def __init__(
        self,
        imageset: ImageSet,
        mean: Sequence[float],
        std: Sequence[float],
        device: str | torch.device = "auto",
        precision: str = "fp32",
        batch_size: int = 250,
        channels_last: bool = True,
    ) -> None:
        if precision not in PRECISIONS:
            raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
        if batch_size <= 0:
            raise ConfigError(f"batch_size must be positive, got {batch_size}")
        if imageset.images.shape[1] != len(mean):
            raise ConfigError(
                f"images have {imageset.images.shape[1]} channels but the normalisation has {len(mean)}"
            )
        self.device = resolve_device(device)
        self.precision = precision
        self.batch_size = batch_size
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.images = normalize_images(imageset.images, mean, std, self.device).contiguous(
            memory_format=self.memory_format
        )
        self.labels = imageset.labels.to(self.device)

    def __len__(self) -> int:
        return len(self.labels)

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.precision == "fp32":
            return contextlib.nullcontext()
        dtype = torch.bfloat16 if self.precision == "bf16" else torch.float16
        return torch.autocast(device_type=self.device.type, dtype=dtype)

    def accuracy(self, model: nn.Module) -> float:
        """Top-1 accuracy in percent."""
        # Move the model outside inference_mode: parameters converted inside it become inference
        # tensors, and the model could not be trained afterwards.
        model.eval().to(self.device, memory_format=self.memory_format)
        with torch.inference_mode():
            return self._accuracy(model)

    def _accuracy(self, model: nn.Module) -> float:
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        with self._autocast():
            for start in range(0, len(self.labels), self.batch_size):
                logits = model(self.images[start : start + self.batch_size])
                correct += (logits.argmax(1) == self.labels[start : start + self.batch_size]).sum()
        # One host sync per call, not per batch.
        return 100.0 * correct.item() / len(self.labels)

    def __repr__(self) -> str:
        return (
            f"{self.__class__.__name__}(images={len(self)}, device={self.device}, "
            f"precision={self.precision}, batch_size={self.batch_size})"
        )
