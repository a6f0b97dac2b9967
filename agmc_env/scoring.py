"""Score a model on a data split: top-1 accuracy, throughput and cost, the job of ``agmc evaluate``."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch import nn

from agmc_env.cost import Cost, count_cost
from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator
from agmc_env.models import get_model, get_spec


@dataclass(frozen=True)
class Score:
    """What :func:`score_model` measured.

    Attributes:
        model: the zoo name of the (base) model.
        accuracy: top-1 accuracy in percent.
        flops, macs, params: the model's cost (conv + linear; ``flops = 2 x macs``).
        images: how many images were scored.
        seconds: the time the scoring took.
        device: the device it ran on.
        precision: the precision it ran in (``"auto"`` resolved).
    """

    model: str
    accuracy: float
    flops: int
    macs: int
    params: int
    images: int
    seconds: float
    device: str
    precision: str


def load_scored_model(
    model: str, weights_path: str | os.PathLike | None = None, pruned: str | os.PathLike | None = None,
    data_dir: str | os.PathLike | None = None,
) -> tuple[nn.Module, str]:
    """The model to score and its zoo name: the ``pruned`` folder's if given, else zoo ``model``."""
    if pruned is not None:
        from agmc_env.pruning import load_pruned  # only needed for pruned models

        loaded, spec = load_pruned(pruned)
        return loaded, spec["model"]
    return get_model(model, pretrained=True, weights_path=weights_path, data_dir=data_dir), model


@dataclass(frozen=True)
class PrunedCost:
    """A pruned model's cost next to that of the unpruned model it was cut from.

    Attributes:
        kept: the pruned model's cost.
        original: the unpruned model's cost (its architecture; no weights are read).
        input_size: the ``(C, H, W)`` both were counted at (the pruned folder's).
        target: the cost the search budgeted (``"flops"``, ``"params"``...), ``None`` when not recorded.
        preserve: the budget, the fraction of ``target`` allowed, ``None`` when not recorded.
    """

    kept: Cost
    original: Cost
    input_size: tuple[int, ...]
    target: str | None
    preserve: float | None

    @property
    def kept_flops_fraction(self) -> float:
        return self.kept.flops / self.original.flops if self.original.flops else 1.0

    @property
    def kept_params_fraction(self) -> float:
        return self.kept.params / self.original.params if self.original.params else 1.0


def pruned_cost(model: nn.Module, pruned: str | os.PathLike) -> PrunedCost:
    """The cost of ``model``, loaded from folder ``pruned`` (by :func:`load_scored_model`), and of its original.

    Args:
        model: the pruned model.
        pruned: its folder (``pruned.json`` names the zoo model, its input size and the search's budget).
    """
    from agmc_env.pruning.serialization import SPEC_FILE  # only needed for pruned models

    spec: dict[str, Any] = json.loads((Path(pruned) / SPEC_FILE).read_text())  # load_pruned has read it
    input_size = tuple(spec["input_size"])
    original = get_model(spec["model"], pretrained=False, num_classes=spec.get("num_classes"))
    budget = spec.get("env") or {}
    return PrunedCost(
        count_cost(model, input_size), count_cost(original, input_size), input_size, budget.get("target"),
        budget.get("preserve"),
    )  # fmt: skip


def split_evaluator(
    name: str,
    split: str = "test",
    *,
    dataset: str | None = None,
    size: int | None = None,
    split_seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "fp32",
    batch_size: int | None = None,
    image_folder: str | os.PathLike | None = None,
) -> Evaluator:
    """An :class:`~agmc_env.evaluate.Evaluator` on ``split`` with zoo model ``name``'s normalisation.

    Args:
        name: the zoo name of the (base) model: its data set, input size, mean and std.
        split: a data split (``agmc_env.data.SPLITS``). (default: ``"test"``)
        dataset: the data set instead of the model's (``"synthetic"`` for tests). (default: the model's)
        size: only the first ``size`` images of the split. (default: all)
        split_seed: seed of the search/report split. (default: ``0``)
        data_dir: the data root. (default: the resolution order of :mod:`agmc_env.paths`)
        device, precision, batch_size: of the :class:`~agmc_env.evaluate.Evaluator`.
        image_folder: the folder of ``dataset="imagefolder"``. (default: none)
    """
    spec = get_spec(name)
    images = load_split(
        split, dataset or spec.dataset, data_dir, split_seed, size, image_size=spec.input_size[-1],
        image_folder=image_folder,
    )  # fmt: skip
    return Evaluator(images, spec.mean, spec.std, device, precision, batch_size)


def score_model(
    model: nn.Module,
    name: str,
    split: str = "test",
    *,
    dataset: str | None = None,
    size: int | None = None,
    split_seed: int = 0,
    data_dir: str | os.PathLike | None = None,
    device: str = "auto",
    precision: str = "fp32",
    batch_size: int | None = None,
) -> Score:
    """Top-1 accuracy of ``model`` (zoo model ``name``'s input size and normalisation) on ``split``.

    Args:
        model: the model (a zoo model, or one pruned from zoo model ``name``).
        name: its zoo name.
        split, dataset, size, split_seed, data_dir, device, precision, batch_size: as
            :func:`split_evaluator`.
    """
    spec = get_spec(name)
    evaluator = split_evaluator(
        name, split, dataset=dataset, size=size, split_seed=split_seed, data_dir=data_dir, device=device,
        precision=precision, batch_size=batch_size,
    )  # fmt: skip
    start = time.perf_counter()
    accuracy = evaluator.accuracy(model)
    seconds = time.perf_counter() - start
    cost = count_cost(model, spec.input_size)
    return Score(
        name, accuracy, cost.flops, cost.macs, cost.params, len(evaluator), seconds, str(evaluator.device),
        evaluator.precision,
    )  # fmt: skip
