"""The settings of a fine-tune, checked once when they are made."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

from agmc_env.checks import SEED, Boolean, Check, Integer, Number, OneOf
from agmc_env.errors import ConfigError
from agmc_env.evaluate import PRECISIONS  # one list of accepted precisions for scoring and training
# The batch size ``lr`` is quoted for: the effective peak rate grows linearly with the batch
# (Goyal et al., 2017), so a larger batch needs no retuning.
LR_REFERENCE_BATCH = 128


def _setting(default: Any, check: Check, help: str | None = None) -> Any:
    """A field with its check and, when it has a command-line flag, that flag's help text."""
    return field(default=default, metadata={"check": check, "help": help})


def setting_check(name: str) -> Check:
    """The check of setting ``name`` (its ``type`` and ``describe()`` say what it accepts)."""
    return _FIELDS[name].metadata["check"]


def flag_settings() -> dict[str, str]:
    """The settings a command line offers as flags, with their help text, in declaration order."""
    return {name: f.metadata["help"] for name, f in _FIELDS.items() if f.metadata["help"] is not None}


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

    epochs: int = _setting(10, Integer(1), "passes over the training images")
    lr: float = _setting(
        0.02, Number(0.0, low_open=True), "peak learning rate for a batch of 128 images, scaled linearly to --batch-size"
    )
    batch_size: int = _setting(256, Integer(1), "images per step")
    momentum: float = _setting(0.9, Number(0.0, 1.0, high_open=True))
    weight_decay: float = _setting(5e-4, Number(0.0), "L2 penalty")
    warmup_epochs: float = _setting(0.5, Number(0.0), "epochs of linear warm-up before the cosine decay")
    label_smoothing: float = _setting(0.1, Number(0.0, 1.0, high_open=True), "label smoothing of the cross-entropy")
    distill_weight: float = _setting(
        0.7, Number(0.0, 1.0), "weight of the distillation term (the label term gets 1 - it)"
    )
    temperature: float = _setting(4.0, Number(0.0, low_open=True), "softening temperature of the distillation term")
    ema_decay: float | None = _setting(
        None, Number(0.0, 1.0, low_open=True, high_open=True, optional=True),
        "keep an exponential moving average of the weights with this decay, e.g. 0.999",
    )  # fmt: skip
    augment: bool = _setting(True, Boolean())
    channels_last: bool = _setting(True, Boolean())
    precision: str = _setting("fp32", OneOf(PRECISIONS))
    seed: int = _setting(0, SEED, "seed of the shuffling and the augmentation")

    def __post_init__(self) -> None:
        for item in fields(self):
            value = getattr(self, item.name)
            checked = item.metadata["check"](item.name, value)
            if checked is not value:
                object.__setattr__(self, item.name, checked)
        if self.warmup_epochs > self.epochs:  # the one setting checked against another
            raise ConfigError.for_option(
                "warmup_epochs", f"must be in [0, epochs={self.epochs}], got {self.warmup_epochs}"
            )

    @property
    def peak_lr(self) -> float:
        """The learning rate at the end of the warm-up: ``lr`` scaled to ``batch_size``."""
        return self.lr * self.batch_size / LR_REFERENCE_BATCH

    def to_dict(self) -> dict[str, Any]:
        """The settings as a JSON-safe dict (what a checkpoint must agree with to be resumed)."""
        return asdict(self)


_FIELDS = {f.name: f for f in fields(FinetuneConfig)}
