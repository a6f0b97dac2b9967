"""Fine-tuning a pruned model: SGD with momentum, a cosine schedule, standard CIFAR augmentation.

The augmentation is the usual one for CIFAR (random 32x32 crops of the image padded by 4 pixels,
random horizontal flips), applied to uint8 batches on the training device. :func:`finetune` trains
a model in memory; :func:`finetune_pruned` is the whole job of ``agmc finetune``: load a saved
pruned model, score it, train it, score it again and save it with a record of the training.
"""

from __future__ import annotations

import copy
import math
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from agmc_env.cost import count_cost
from agmc_env.data import load_split
from agmc_env.data.imageset import ImageSet
from agmc_env.errors import ConfigError
from agmc_env.evaluate import Evaluator, normalize_images, resolve_device
from agmc_env.models import get_spec
from agmc_env.pruning import load_pruned, save_pruned

# The training images fine-tuning may use: never the search or test split.
TRAIN_SPLITS = ("calibration", "train")


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
            raise ConfigError.for_option("epochs", f"must be >= 1, got {self.epochs}")
        if not self.lr > 0:
            raise ConfigError.for_option("lr", f"must be > 0, got {self.lr}")
        if self.batch_size < 1:
            raise ConfigError.for_option("batch_size", f"must be >= 1, got {self.batch_size}")


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


@dataclass(frozen=True)
class FinetuneResult:
    """What :func:`finetune_pruned` did.

    Attributes:
        model: the zoo name of the base model.
        test_accuracy_before: top-1 accuracy (percent) on the test images before training.
        test_accuracy: the same after training.
        test_images: how many test images were scored.
        train_images: how many training images were used.
        final_loss: mean training loss of the last epoch.
        flops: FLOPs of the model (conv + linear, ``2 x MACs``).
        params: its parameter count.
        seconds: the training time.
        model_path: where the fine-tuned model was saved.
    """

    model: str
    test_accuracy_before: float
    test_accuracy: float
    test_images: int
    train_images: int
    final_loss: float
    flops: int
    params: int
    seconds: float
    model_path: Path


def default_output(pruned: str | os.PathLike) -> Path:
    """Where a fine-tuned copy of ``pruned`` goes by default: ``<pruned>-finetuned`` beside it."""
    return Path(str(Path(pruned)).rstrip("/") + "-finetuned")


def finetune_pruned(
    pruned: str | os.PathLike,
    out: str | os.PathLike | None = None,
    config: FinetuneConfig = FinetuneConfig(),
    *,
    split: str = "calibration",
    train_size: int | None = None,
    test_size: int | None = None,
    split_seed: int = 0,
    dataset: str | None = None,
    data_dir: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "fp32",
    progress: bool = True,
) -> FinetuneResult:
    """Fine-tune the pruned model saved in ``pruned``, score it before and after, and save it.

    Args:
        pruned: a folder written by ``save_pruned`` (e.g. a search's ``best/``).
        out: where to save the fine-tuned model. (default: :func:`default_output` of ``pruned``)
        config: the training settings.
        split: training images, one of :data:`TRAIN_SPLITS`. (default: ``"calibration"``, the
            training set minus the held-out images)
        train_size, test_size: use only the first N images of the split. (default: all)
        split_seed: seed of the data splits. (default: ``0``)
        dataset: the data set. (default: the one the model was searched on, else the base model's own)
        data_dir: the data root. (default: ``AGMC_DATA``, then ``../shared/data``)
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``. (default: ``"auto"``)
        precision: autocast precision of the scoring. (default: ``"fp32"``)
        progress: show a progress bar on stderr. (default: ``True``)

    Raises:
        ConfigError: a bad split or training setting.
        MissingFileError, CorruptFileError: ``pruned`` is not a readable pruned model.
    """
    if split not in TRAIN_SPLITS:
        raise ConfigError.for_option("split", f"must be one of {TRAIN_SPLITS}, got {split!r}")
    model, spec = load_pruned(pruned)
    zoo = get_spec(spec["model"])
    dataset = dataset or spec.get("env", {}).get("dataset") or zoo.dataset  # the search's, else the model's
    device_ = resolve_device(device)
    train = load_split(split, dataset, data_dir, split_seed, train_size)
    test = load_split("test", dataset, data_dir, split_seed, test_size)
    evaluator = Evaluator(test, zoo.mean, zoo.std, device_, precision)
    # A copy: Evaluator moves the model to channels_last under inference_mode, which leaves its
    # parameters as inference tensors that autograd refuses to train.
    before = evaluator.accuracy(copy.deepcopy(model))
    start = time.perf_counter()
    losses = finetune(model, train, zoo.mean, zoo.std, device_, config, progress=progress)
    seconds = time.perf_counter() - start
    after = evaluator.accuracy(model)
    path = Path(out) if out is not None else default_output(pruned)
    record = {"epochs": config.epochs, "lr": config.lr, "split": split, "images": len(train), "test_accuracy": after}
    save_pruned(path, model.cpu(), {**spec, "finetune": record})
    cost = count_cost(model, tuple(spec["input_size"]))
    return FinetuneResult(
        spec["model"], before, after, len(test), len(train), losses[-1], cost.flops, cost.params, seconds, path
    )
