"""The whole job of ``agmc finetune``: load a saved pruned model and the model it was cut from,
train the pruned one back to accuracy (distilling the unpruned one), and save it with its curve.

The output folder (default ``<PRUNED>-finetuned``) holds the fine-tuned model in the format of a
search's ``best/`` (``pruned.json`` + ``weights.pt``: ``agmc evaluate --pruned`` and ``agmc export``
read it), ``finetune.json`` (settings, curve, accuracies, each labelled with its split),
``accuracy.png`` and ``checkpoint/`` (what ``resume=True`` continues from). ``finetune.json`` and
the PNG are rewritten after every epoch, so a long run can be watched.

Training images come from the training set (by default all 50,000 of CIFAR-10); the accuracy after
each epoch is measured on the report split and at the end on the full test set, both of the test
set, which training never sees.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agmc_env.atomic import atomic_write_json
from agmc_env.cost import count_cost
from agmc_env.data import load_split
from agmc_env.errors import ConfigError, MissingFileError
from agmc_env.evaluate import Evaluator, resolve_device
from agmc_env.finetune.config import FinetuneConfig
from agmc_env.finetune.engine import EpochRecord, finetune
from agmc_env.finetune.plot import plot_curve
from agmc_env.folder_lock import FolderLock
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import load_pruned, save_pruned
from agmc_env.tuning import resolve_precision

# The training images fine-tuning may use: never the search, report or test split.
TRAIN_SPLITS = ("train", "calibration")
RECORD_FILE, PLOT_FILE, CHECKPOINT_DIR = "finetune.json", "accuracy.png", "checkpoint"


@dataclass(frozen=True)
class FinetuneResult:
    """What :func:`finetune_pruned` did.

    Attributes:
        model: the zoo name of the base model.
        teacher: the distillation teacher, or ``"none (<why>)"``.
        report_accuracy_before, report_accuracy: top-1 (percent) on the report split before and
            after training (after: the last epoch of :attr:`curve`).
        report_images: images of the report split scored.
        test_accuracy_before, test_accuracy: the same on the test set.
        test_images: images of the test set scored (all 10,000 of CIFAR-10 by default).
        train_split: the split trained on.
        train_images: how many training images were used.
        final_loss: mean training loss of the last epoch.
        flops: FLOPs of the model (conv + linear, ``2 x MACs``).
        params: its parameter count.
        seconds: the training time (all epochs, this run and any resumed one).
        model_path: the output folder (the model, ``finetune.json``, ``accuracy.png``).
        curve: one record per epoch; its ``accuracy`` is on the report split.
    """

    model: str
    teacher: str
    report_accuracy_before: float
    report_accuracy: float
    report_images: int
    test_accuracy_before: float
    test_accuracy: float
    test_images: int
    train_split: str
    train_images: int
    final_loss: float
    flops: int
    params: int
    seconds: float
    model_path: Path
    curve: list[EpochRecord] = field(repr=False)

    def summary(self) -> dict[str, Any]:
        """The result as a flat JSON-safe dict (the curve left out)."""
        record = {k: v for k, v in asdict(self).items() if k != "curve"}
        return {**record, "model_path": str(self.model_path)}


def default_output(pruned: str | os.PathLike) -> Path:
    """Where a fine-tuned copy of ``pruned`` goes by default: ``<pruned>-finetuned`` beside it."""
    return Path(str(Path(pruned)).rstrip("/") + "-finetuned")


def build_teacher(spec: dict[str, Any], data_dir: str | os.PathLike | None) -> tuple[nn.Module | None, str]:
    """The unpruned model a pruned one was cut from, with the weights it was cut from.

    Returns:
        ``(teacher, description)``, or ``(None, "none (<why>)")`` when it cannot be rebuilt: the
        base model had random weights, or its weights file is not found.
    """
    env = spec.get("env", {})
    name, weights_path = spec["model"], env.get("weights_path")
    if weights_path is None and not env.get("pretrained", True):
        return None, f"none ({name} was pruned from randomly initialised weights)"
    try:
        teacher = get_model(
            name, pretrained=True, num_classes=spec.get("num_classes"), weights_path=weights_path,
            data_dir=data_dir or env.get("data_dir"),
        )  # fmt: skip
    except MissingFileError as error:
        return None, f"none ({error})"
    return teacher, f"{name} ({weights_path or 'shipped weights'})"


def finetune_pruned(
    pruned: str | os.PathLike,
    out: str | os.PathLike | None = None,
    config: FinetuneConfig = FinetuneConfig(),
    *,
    distill: bool | None = None,
    split: str = "train",
    train_size: int | None = None,
    report_size: int | None = None,
    test_size: int | None = None,
    split_seed: int | None = None,
    data_dir: str | os.PathLike | None = None,
    device: str = "auto",
    resume: bool = False,
    progress: bool = True,
) -> FinetuneResult:
    """Fine-tune the pruned model saved in ``pruned``, score it before and after, and save it.

    Args:
        pruned: a folder written by ``save_pruned`` (e.g. a search's ``best/``).
        out: the output folder (see the module docstring). (default: :func:`default_output`)
        config: the training settings.
        distill: learn from the unpruned model too: ``None`` whenever it can be rebuilt (see
            :func:`build_teacher`), ``True`` to insist, ``False`` for labels only. (default: ``None``)
        split: training images, one of :data:`TRAIN_SPLITS`. (default: ``"train"``, all of them)
        train_size: use a seeded subset of N training images. (default: all)
        report_size, test_size: score the first N images of the report split / test set. (default: all)
        split_seed: seed of the splits. (default: the search's, else ``0``)
        data_dir: the data root. (default: the search's, else the resolution order of :mod:`agmc_env.paths`)
        device: ``"auto"``, ``"cpu"`` or ``"cuda[:N]"``. (default: ``"auto"``)
        resume: continue from the checkpoint in ``out`` if there is one. (default: ``False``)
        progress: a progress bar on stderr. (default: ``True``)

    Raises:
        ConfigError: a bad split or setting, ``distill=True`` without a teacher, or resuming a
            checkpoint made with other settings.
        MissingFileError, CorruptFileError: ``pruned`` is not a readable pruned model.
        FolderInUseError: another fine-tune is writing to ``out`` (``out/finetune.lock``).
    """
    if split not in TRAIN_SPLITS:
        raise ConfigError.for_option("split", f"must be one of {TRAIN_SPLITS}, got {split!r}")
    model, spec = load_pruned(pruned)
    env, zoo = spec.get("env", {}), get_spec(spec["model"])
    data_dir = data_dir or env.get("data_dir")
    dataset = env.get("dataset") or zoo.dataset  # the search's, else the model's own
    split_seed = env.get("split_seed", 0) if split_seed is None else split_seed
    teacher, teacher_text = (None, "none (switched off)") if distill is False else build_teacher(spec, data_dir)
    if distill and teacher is None:
        raise ConfigError.for_option("distill", f"is on but there is no teacher: {teacher_text}")
    device_ = resolve_device(device)

    def split_of(name: str, size: int | None):
        return load_split(
            name, dataset, data_dir, split_seed, size, image_size=zoo.input_size[-1], image_folder=env.get("image_folder")
        )

    path = Path(out) if out is not None else default_output(pruned)
    path.mkdir(parents=True, exist_ok=True)
    # One fine-tune per folder: a second one would interleave checkpoints and overwrite the model.
    with FolderLock(path, job="finetune"):
        train = split_of(split, train_size)
        # Scored in fp32 whatever the training's precision: the reported accuracies are exact.
        report = Evaluator(split_of("report", report_size), zoo.mean, zoo.std, device_, "fp32")
        test = Evaluator(split_of("test", test_size), zoo.mean, zoo.std, device_, "fp32")
        report_before, test_before = report.accuracy(model), test.accuracy(model)
        record = {
            "model": spec["model"], "pruned_from": str(pruned), "teacher": teacher_text, "config": config.to_dict(),
            "peak_lr": config.peak_lr, "device": str(device_),
            # What precision="auto" became on this machine (config.precision keeps what was asked).
            "training_precision": resolve_precision(config.precision, device_),
            "train": {"dataset": dataset, "split": split, "images": len(train)},
            "report": {"split": "report", "images": len(report), "accuracy_before": report_before},
            "test": {"split": "test", "images": len(test), "accuracy_before": test_before},
            "curve_accuracy": "report split",
        }  # fmt: skip

        def write_progress(history: list[EpochRecord]) -> None:
            atomic_write_json(path / RECORD_FILE, {**record, "complete": False, "curve": [asdict(r) for r in history]})
            label = f"report split, {len(report):,} images"
            title = f"fine-tuning pruned {spec['model']}"
            plot_curve(history, report_before, path / PLOT_FILE, label=label, title=title)

        history = finetune(
            model, train, zoo.mean, zoo.std, device_, config, teacher=teacher, evaluate=report.accuracy,
            checkpoint_dir=path / CHECKPOINT_DIR, resume=resume, on_epoch=write_progress, progress=progress,
        )  # fmt: skip
        write_progress(history)  # also when a resumed run had nothing left to do
        test_after = test.accuracy(model)
        final = history[-1]
        record["report"]["accuracy"], record["test"]["accuracy"] = final.accuracy, test_after
        seconds = sum(r.seconds for r in history)
        curve = [asdict(r) for r in history]
        atomic_write_json(path / RECORD_FILE, {**record, "complete": True, "seconds": seconds, "curve": curve})
        summary = {"epochs": config.epochs, "teacher": teacher_text, "split": split, "images": len(train),
                   "report_accuracy": final.accuracy, "test_accuracy": test_after}  # fmt: skip
        save_pruned(path, model.cpu().to(memory_format=torch.contiguous_format), {**spec, "finetune": summary})
        cost = count_cost(model, tuple(spec["input_size"]))
        return FinetuneResult(
            spec["model"], teacher_text, report_before, final.accuracy, len(report), test_before, test_after, len(test),
            split, len(train), final.loss, cost.flops, cost.params, seconds, path, history,
        )  # fmt: skip
