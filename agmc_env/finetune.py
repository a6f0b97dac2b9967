"""Fine-tuning a pruned model: SGD with momentum, a cosine schedule, standard CIFAR augmentation.

The augmentation is the usual one for CIFAR (random 32x32 crops of the image padded by 4 pixels,
random horizontal flips), applied to uint8 batches on the training device.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

import torch
from torch import nn

from agmc_env.errors import ConfigError
from agmc_env.data.imageset import ImageSet
from agmc_env.evaluate import normalize_images


@dataclass(frozen=True)
class FinetuneConfig:
    """Fine-tuning settings.

    Attributes:
        epochs: passes over the training images. (default: ``10``)
        lr: initial learning rate, annealed to 0 by a cosine schedule over all steps. (default: ``0.01``)
        momentum: SGD momentum (Nesterov). (default: ``0.9``)
        weight_decay: L2 penalty. (default: ``5e-4``)
        batch_size: images per step. (default: ``128``)
        augment: random crop (padding 4) and horizontal flip. (default: ``True``)
        seed: seed of the shuffling and the augmentation. (default: ``0``)
    """

    epochs: int = 10
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 128
    augment: bool = True
    seed: int = 0

    def __post_init__(self) -> None:
        if self.epochs < 1:
            raise ConfigError(f"epochs must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise ConfigError(f"lr must be > 0, got {self.lr}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")


def augment_batch(images: torch.Tensor, generator: torch.Generator, padding: int = 4) -> torch.Tensor:
    """Random crops of the zero-padded images (same size as the input) and random horizontal flips."""
    n, _, height, width = images.shape
    padded = nn.functional.pad(images, (padding,) * 4)
    rows = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
    cols = torch.randint(0, 2 * padding + 1, (n,), generator=generator).tolist()
    out = torch.stack([padded[i, :, r : r + height, c : c + width] for i, (r, c) in enumerate(zip(rows, cols))])
    flip = torch.rand(n, generator=generator) < 0.5
    out[flip] = out[flip].flip(-1)
    return out


def finetune(
    model: nn.Module,
    train: ImageSet,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    device: torch.device,
    config: FinetuneConfig = FinetuneConfig(),
    progress: bool = True,
) -> list[float]:
    """Train ``model`` in place on ``train``; returns the mean training loss of every epoch."""
    from tqdm import tqdm

    generator = torch.Generator().manual_seed(config.seed)
    model.to(device).train()
    optimizer = torch.optim.SGD(
        model.parameters(), lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay, nesterov=True
    )
    steps_per_epoch = math.ceil(len(train) / config.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=config.epochs * steps_per_epoch)
    loss_fn = nn.CrossEntropyLoss()
    losses = []
    with tqdm(total=config.epochs * steps_per_epoch, desc="finetune", unit="step", file=sys.stderr, disable=not progress) as bar:
        for epoch in range(config.epochs):
            order = torch.randperm(len(train), generator=generator)
            total = 0.0
            for start in range(0, len(train), config.batch_size):
                index = order[start : start + config.batch_size]
                images = train.images[index]
                if config.augment:
                    images = augment_batch(images, generator)
                inputs = normalize_images(images, mean, std, device)
                loss = loss_fn(model(inputs), train.labels[index].to(device))
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item() * len(index)
                bar.update(1)
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", refresh=False)
            losses.append(total / len(train))
    model.eval()
    return losses
