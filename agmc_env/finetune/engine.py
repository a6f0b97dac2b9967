"""The training loop of a fine-tune, built for speed on the machine it runs on.

What makes it fast (the ideas of the fastest CIFAR-10 trainers, e.g. Keller Jordan's airbench,
that fit a pruned pretrained network):

- all training images live on the device as one uint8 tensor; a batch is an index into it, and
  the augmentation (:func:`~agmc_env.data.random_crop_flip`) runs on the whole batch with tensor
  ops: no DataLoader, no worker processes, no per-image Python;
- convolutions in channels_last; ``bf16``/``fp16`` autocast where the device runs it natively
  (``fp16`` with a gradient scaler);
- no host synchronisation per step: the loss is summed on the device and read once per epoch
  (and every few dozen steps for the progress bar);
- the teacher's logits come from the same augmented batch, in eval mode, without autograd;
- large batches with a linearly scaled learning rate, SGD with Nesterov momentum, a warm-up then
  cosine decay (:func:`warmup_cosine`), label smoothing, an optional weight average (EMA).

A fine-tune is deterministic for a given seed (on one thread), and with ``checkpoint_dir`` it
saves its whole state after every epoch, so that ``resume=True`` after a kill ends with the same
weights as a run that was never interrupted.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from tqdm import tqdm

from agmc_env.data.augment import random_crop_flip
from agmc_env.data.imageset import ImageSet
from agmc_env.finetune.checkpoint import TrainingState, load_state, save_state
from agmc_env.finetune.config import FinetuneConfig
from agmc_env.finetune.distill import FinetuneLoss
from agmc_env.tuning import resolve_precision

# Steps between progress-bar refreshes of the loss: each refresh is a host sync on a GPU.
_POSTFIX_EVERY = 25
# The schedule starts at peak * _START and decays to peak * _END.
_START, _END = 0.1, 0.001


@dataclass(frozen=True)
class EpochRecord:
    """One point of the training curve.

    Attributes:
        epoch: the epoch (1-based).
        loss: mean training loss over the epoch.
        lr: the learning rate at the end of the epoch.
        images_per_s: training throughput of the epoch (scoring excluded).
        seconds: training time of the epoch.
        accuracy: what ``evaluate`` returned after the epoch (``None`` without one).
    """

    epoch: int
    loss: float
    lr: float
    images_per_s: float
    seconds: float
    accuracy: float | None


def warmup_cosine(step: int, warmup_steps: int, total_steps: int) -> float:
    """The learning rate of ``step`` as a fraction of the peak: a linear warm-up from 0.1 over
    ``warmup_steps``, then a cosine decay to 0.001 at ``total_steps``."""
    if step < warmup_steps:
        return _START + (1 - _START) * step / warmup_steps
    progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
    return _END + (1 - _END) * 0.5 * (1 + math.cos(math.pi * progress))


def _autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def _epoch_generator(seed: int, epoch: int) -> torch.Generator:
    # One stream per (seed, epoch): a resumed run draws exactly what an uninterrupted one would.
    return torch.Generator().manual_seed(seed * 100_003 + epoch)


class _Trainer:
    """The stateful parts of a fine-tune (model, optimizer, schedule, scaler, weight average) and
    one epoch of training over the device-resident images."""

    def __init__(
        self, model: nn.Module, teacher: nn.Module | None, train: ImageSet, mean: Sequence[float],
        std: Sequence[float], device: torch.device, config: FinetuneConfig,
    ) -> None:  # fmt: skip
        self.model, self.teacher, self.config, self.device = model, teacher, config, device
        # The autocast dtype (or none) this device trains in; "auto" trusts the capability report
        # (bf16 only where the CPU runs it natively, fp32 on an AVX2-only CPU).
        self.precision = resolve_precision(config.precision, device)
        self.memory_format = torch.channels_last if config.channels_last else torch.contiguous_format
        model.to(device, memory_format=self.memory_format)
        if teacher is not None:
            teacher.eval().to(device, memory_format=self.memory_format)
        self.images, self.labels = train.images.to(device), train.labels.to(device)
        # (x / 255 - mean) / std as one multiply-subtract on the batch.
        std_t = torch.tensor(std, device=device).view(1, -1, 1, 1)
        self.scale, self.shift = 1.0 / (255.0 * std_t), torch.tensor(mean, device=device).view(1, -1, 1, 1) / std_t
        self.steps_per_epoch = math.ceil(len(train) / config.batch_size)
        steps = config.epochs * self.steps_per_epoch
        self.loss_fn = FinetuneLoss(config.label_smoothing, config.distill_weight, config.temperature)
        self.optimizer = torch.optim.SGD(
            model.parameters(), lr=config.peak_lr, momentum=config.momentum,
            weight_decay=config.weight_decay, nesterov=config.momentum > 0,
        )  # fmt: skip
        warmup_steps = round(steps * config.warmup_epochs / config.epochs)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, functools.partial(warmup_cosine, warmup_steps=warmup_steps, total_steps=steps)
        )
        self.scaler = torch.amp.GradScaler(device.type, enabled=self.precision == "fp16")
        self.ema = None
        if config.ema_decay is not None:
            self.ema = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(config.ema_decay), use_buffers=True)

    def train_epoch(self, epoch: int, bar: tqdm) -> float:
        """One pass over the images in the seeded order of ``epoch``; returns the mean loss."""
        self.model.train()
        generator = _epoch_generator(self.config.seed, epoch)
        count, batch_size = len(self.labels), self.config.batch_size
        order = torch.randperm(count, generator=generator).to(self.device)
        loss_sum = torch.zeros((), device=self.device)
        for step, first in enumerate(range(0, count, batch_size)):
            index = order[first : first + batch_size]
            batch = random_crop_flip(self.images[index], generator) if self.config.augment else self.images[index]
            inputs = (batch.float() * self.scale - self.shift).contiguous(memory_format=self.memory_format)
            with _autocast(self.device, self.precision):
                loss = self.loss_fn(self.model(inputs), self.labels[index], self._teacher_logits(inputs))
            self._step(loss)
            loss_sum += loss.detach() * len(index)
            bar.update(1)
            if step % _POSTFIX_EVERY == 0:
                bar.set_postfix(epoch=epoch + 1, loss=f"{loss.item():.3f}", lr=f"{self.lr:.4f}", refresh=False)
        return loss_sum.item() / count  # the epoch's one host sync

    def _teacher_logits(self, inputs: torch.Tensor) -> torch.Tensor | None:
        if self.teacher is None:
            return None
        # no_grad, not inference_mode: the KL term saves the teacher's output for backward.
        with torch.no_grad():
            return self.teacher(inputs)

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.scheduler.step()
        if self.ema is not None:
            self.ema.update_parameters(self.model)

    @property
    def result(self) -> nn.Module:
        """The model to score and keep: the weight average when there is one."""
        return self.model if self.ema is None else self.ema.module

    @property
    def lr(self) -> float:
        return self.optimizer.param_groups[0]["lr"]

    def state_dicts(self) -> dict[str, object]:
        parts = {"model": self.model, "optimizer": self.optimizer, "scheduler": self.scheduler, "scaler": self.scaler}
        if self.ema is not None:
            parts["ema"] = self.ema
        return {name: part.state_dict() for name, part in parts.items()}

    def load_state_dicts(self, states: dict[str, object]) -> None:
        self.model.load_state_dict(states["model"])
        self.optimizer.load_state_dict(states["optimizer"])
        self.scheduler.load_state_dict(states["scheduler"])
        self.scaler.load_state_dict(states["scaler"])
        if self.ema is not None:
            self.ema.load_state_dict(states["ema"])


def finetune(
    model: nn.Module,
    train: ImageSet,
    mean: Sequence[float],
    std: Sequence[float],
    device: torch.device,
    config: FinetuneConfig = FinetuneConfig(),
    *,
    teacher: nn.Module | None = None,
    evaluate: Callable[[nn.Module], float] | None = None,
    checkpoint_dir: str | os.PathLike | None = None,
    resume: bool = False,
    on_epoch: Callable[[list[EpochRecord]], None] | None = None,
    progress: bool = True,
) -> list[EpochRecord]:
    """Train ``model`` in place on ``train``; returns the curve, one record per epoch.

    Args:
        model: the (pruned) model; ends in eval mode on ``device``, holding the weight average
            when ``config.ema_decay`` is set.
        train: the training images (uint8) and labels.
        mean, std: the model's input normalisation.
        device: where to train.
        config: the training settings.
        teacher: a model whose logits the student learns as well (knowledge distillation, weighted
            by ``config.distill_weight``); ``None`` trains on the labels only. (default: ``None``)
        evaluate: scores the model after every epoch (e.g. ``Evaluator(...).accuracy``).
            (default: ``None``)
        checkpoint_dir: save the training state there after every epoch. (default: ``None``)
        resume: continue from the state in ``checkpoint_dir`` if there is one. (default: ``False``)
        on_epoch: called with the curve so far after each epoch's checkpoint. (default: ``None``)
        progress: a progress bar on stderr. (default: ``True``)

    Raises:
        ConfigError: resuming a checkpoint trained with other settings.
    """
    trainer = _Trainer(model, teacher, train, mean, std, device, config)
    identity = {**config.to_dict(), "distill": teacher is not None, "train_images": len(train)}
    history: list[EpochRecord] = []
    saved = load_state(checkpoint_dir, identity) if resume and checkpoint_dir is not None else None
    if saved is not None:
        trainer.load_state_dicts(saved.modules)
        torch.set_rng_state(saved.rng)
        history = [EpochRecord(**record) for record in saved.history]
    steps = trainer.steps_per_epoch
    bar = tqdm(
        total=config.epochs * steps, initial=len(history) * steps, desc="finetune", unit="step",
        file=sys.stderr, disable=not progress, dynamic_ncols=True,
    )  # fmt: skip
    with bar:
        for epoch in range(len(history), config.epochs):
            start = time.perf_counter()
            loss = trainer.train_epoch(epoch, bar)
            seconds = time.perf_counter() - start
            accuracy = evaluate(trainer.result) if evaluate is not None else None
            history.append(EpochRecord(epoch + 1, loss, trainer.lr, len(train) / seconds, seconds, accuracy))
            if checkpoint_dir is not None:
                records = [asdict(r) for r in history]
                state = TrainingState(len(history), records, identity, trainer.state_dicts(), torch.get_rng_state())
                save_state(checkpoint_dir, state)
            bar.set_postfix(_postfix(history[-1]), refresh=True)
            if on_epoch is not None:
                on_epoch(history)
    if trainer.ema is not None:
        model.load_state_dict(trainer.ema.module.state_dict())
    model.eval()
    return history


def _postfix(record: EpochRecord) -> dict[str, str]:
    text = {
        "epoch": str(record.epoch), "loss": f"{record.loss:.3f}", "lr": f"{record.lr:.4f}",
        "img/s": f"{record.images_per_s:.0f}",
    }  # fmt: skip
    if record.accuracy is not None:
        text["acc"] = f"{record.accuracy:.2f}%"
    return text
