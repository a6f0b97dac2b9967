"""The settings of a fine-tune, checked once when they are made."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from agmc_env.errors import ConfigError
from agmc_env.evaluate import PRECISIONS  # one list of accepted precisions for scoring and training
# The batch size ``lr`` is quoted for: the effective peak rate grows linearly with the batch
# (Goyal et al., 2017), so a larger batch needs no retuning.
LR_REFERENCE_BATCH = 128


@dataclass(frozen=True)
class FinetuneConfig:
    """How a pruned model is trained back to accuracy.

    Attributes:
        epochs: passes over the training images. (default: ``10``)
        lr: peak learning rate for a batch of 128 images; the rate used is
            ``lr * batch_size / 128`` (linear scaling). (default: ``0.02``)
        batch_size: images per step. 256 measured fastest on a 2-core CPU. (default: ``256``)
        momentum: SGD momentum (Nesterov). (default: ``0.9``)
        weight_decay: L2 penalty. (default: ``5e-4``)
        warmup_epochs: epochs of linear warm-up from ``peak / 10`` before the cosine decay (a
            pruned network's batch-norm statistics are off; a full-rate first step would undo the
            pretrained weights). (default: ``0.5``)
        label_smoothing: of the label term of the loss. (default: ``0.1``)
        distill_weight: weight of the distillation term when a teacher is given; the label term
            gets ``1 - distill_weight``. (default: ``0.7``)
        temperature: softening of both models' logits in the distillation term. (default: ``4.0``)
        ema_decay: keep an exponential moving average of the weights with this decay and use it as
            the result; ``None`` for none. (default: ``None``)
        augment: random crops (padding 4) and horizontal flips. (default: ``True``)
        channels_last: run convolutions in NHWC (faster on CPUs and tensor cores).
            (default: ``True``)
        precision: ``"fp32"``, or ``"bf16"``/``"fp16"`` autocast (``"fp16"`` with a gradient
            scaler, CUDA only). (default: ``"fp32"``)
        seed: seed of the shuffling and the augmentation. (default: ``0``)
    """

    epochs: int = 10
    lr: float = 0.02
    batch_size: int = 256
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 0.5
    label_smoothing: float = 0.1
    distill_weight: float = 0.7
    temperature: float = 4.0
    ema_decay: float | None = None
    augment: bool = True
    channels_last: bool = True
    precision: str = "fp32"
    seed: int = 0

    def __post_init__(self) -> None:
        checks = {
            "epochs": (self.epochs >= 1, ">= 1"),
            "lr": (self.lr > 0, "> 0"),
            "batch_size": (self.batch_size >= 1, ">= 1"),
            "momentum": (0 <= self.momentum < 1, "in [0, 1)"),
            "weight_decay": (self.weight_decay >= 0, ">= 0"),
            "warmup_epochs": (0 <= self.warmup_epochs <= self.epochs, f"in [0, epochs={self.epochs}]"),
            "label_smoothing": (0 <= self.label_smoothing < 1, "in [0, 1)"),
            "distill_weight": (0 <= self.distill_weight <= 1, "in [0, 1]"),
            "temperature": (self.temperature > 0, "> 0"),
            "ema_decay": (self.ema_decay is None or 0 < self.ema_decay < 1, "in (0, 1) or None"),
        }
        for option, (ok, accepted) in checks.items():
            if not ok:
                raise ConfigError.for_option(option, f"must be {accepted}, got {getattr(self, option)}")
        if self.precision not in PRECISIONS:
            raise ConfigError.for_option("precision", f"must be one of {PRECISIONS}, got {self.precision!r}")

    @property
    def peak_lr(self) -> float:
        """The learning rate at the end of the warm-up: ``lr`` scaled to ``batch_size``."""
        return self.lr * self.batch_size / LR_REFERENCE_BATCH

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-safe dict (what a checkpoint must agree with to be resumed)."""
        return asdict(self)
