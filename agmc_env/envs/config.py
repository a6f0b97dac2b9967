"""The options of ``ModelCompression-v0``, validated once into a frozen :class:`EnvConfig`.

Every option is a plain keyword argument of ``gymnasium.make`` and JSON-safe (names, numbers,
booleans), except two documented escape hatches: ``model`` may be an ``nn.Module`` and ``reward``
a callable. Named presets bundle common settings::

    gymnasium.make("agmc_env:ModelCompression-v0", preset="resnet56-cifar10-flops50")
    gymnasium.make("agmc_env:ModelCompression-v0", preset="resnet56-cifar10-flops50", val_size=500)

Explicit keyword arguments override the preset's values.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from agmc_env.data import DATASETS
from agmc_env.checks import (
    PRESERVE, SEED, Boolean, Device, Fraction, InputSize, Integer, NameOr, Number, OneOf, OutputPath, PathString,
    is_module,
)
from agmc_env.envs.rewards import LATENCY_REWARDS, REWARDS
from agmc_env.errors import ConfigError
from agmc_env.evaluate import DEVICES, PRECISIONS
from agmc_env.latency.timing import MAX_LATENCY_BATCH
from agmc_env.models import DEFAULT_MODEL, available_models
from agmc_env.pruning import IMPORTANCES, PRUNING_METHODS, TARGETS, UNIT_SETS

EMBEDDINGS = ("gnn", "rule")
OBSERVATIONS = ("vector", "graph")
ACTION_MODES = ("per_layer", "one_shot")
RENDER_MODES = ("ansi", "rgb_array")
FILL_MODES = ("none", "give_back", "two_sided")  # see agmc_env.pruning.budget
CALIBRATION_PRECISIONS = ("reward", "fp32")

PRESETS: dict[str, dict[str, Any]] = {
    # The paper's CIFAR-10 settings (AGMC Table 1: ResNet-56 at 50 % FLOPs).
    "resnet20-cifar10-flops50": {"model": "resnet20", "dataset": "cifar10", "target": "flops", "preserve": 0.5},
    "resnet56-cifar10-flops50": {"model": "resnet56", "dataset": "cifar10", "target": "flops", "preserve": 0.5},
    "resnet56-cifar10-params50": {"model": "resnet56", "dataset": "cifar10", "target": "params", "preserve": 0.5},
    # AMC's rule-based state instead of the learned embedding, for the embedding comparison.
    "resnet56-cifar10-flops50-rule": {
        "model": "resnet56", "dataset": "cifar10", "target": "flops", "preserve": 0.5, "embedding": "rule",
    },
    # What `agmc search` runs by default: minutes on a 2-core CPU, and a reward with signal (without
    # BN re-calibration most ResNets pruned to 50 % FLOPs score near chance). 1,000 reward images
    # re-calibrated on 256: on ResNet-56 the re-calibration on 256 images was as close to one on
    # 2,048 as on 512 (0.35 against 0.43 points, 30 policies) at half the time, while the reward's
    # sampling error fell from 2.1 points (500 images) to 1.5, for the same episode time
    # (benchmarks/calibration_size.py; benchmarks/RESULTS.md).
    "agmc-search": {
        "model": DEFAULT_MODEL, "val_size": 1000, "bn_recalibration": True, "calibration_size": 256,
        "fill_budget": "give_back",
    },
    # Seconds-long episodes for smoke tests: the ResNet-20 weights on random images.
    "resnet20-synthetic-smoke": {"model": "resnet20", "dataset": "synthetic", "val_size": 100},
    # No file at all: a randomly initialised ResNet-20 on random images (tests, CI without data).
    "resnet20-synthetic-random": {"model": "resnet20", "dataset": "synthetic", "pretrained": False, "val_size": 50},
}


def _option(default: Any, help: str, check: Callable[[str, Any], Any]) -> Any:
    """A field whose help text and check live next to it (front ends read both from the metadata)."""
    return field(default=default, metadata={"help": help, "check": check})


@dataclass(frozen=True)
class EnvConfig:
    """Validated options of ``ModelCompression-v0`` (see the env's docstring for their meaning).

    Each field carries its one-line help and its check (:mod:`agmc_env.checks`) in its
    metadata; :func:`option_help` and :func:`option_check` read them (the ``agmc search`` flags are
    built from them).

    Raises:
        ConfigError: (a ``ValueError``) at construction, naming the option (``error.option``) and
            its accepted values.
    """

    model: str | nn.Module = _option(
        DEFAULT_MODEL, "zoo model", NameOr(tuple(available_models()), is_module, "an nn.Module")
    )
    dataset: str | None = _option(
        None,
        "data set (default: the model's own; imagefolder with image_folder set): imagefolder is your own "
        "class-per-folder images, resized to the model's input size",
        OneOf(DATASETS, optional=True),
    )
    image_folder: str | None = _option(
        None,
        "folder of <class>/<image> files for dataset=imagefolder (torchvision ImageFolder layout); the "
        "model gets one output per class folder",
        PathString(directory=True, hint=" (it should hold one sub-folder of images per class)"),
    )
    data_dir: str | None = _option(
        None,
        "folder holding cifar10/ and pretrained/ (default: $AGMC_DATA, ../shared/data in a source checkout, "
        "the user cache, then a download into it; see `agmc data`)",
        PathString(directory=True, hint=" (it should hold cifar10/ and pretrained/)"),
    )
    weights_path: str | None = _option(None, "local weights file (state_dict) of the zoo model", PathString())
    pretrained: bool = _option(
        True,
        "load the zoo model's weights (weights_path, else the shipped file); off: random initialisation, "
        "which with dataset=synthetic needs no file at all",
        Boolean(),
    )
    input_size: tuple[int, int, int] | None = _option(None, "input size (C, H, W) (default: the model's)", InputSize())
    target: str = _option(
        "flops",
        "the budgeted cost: conv+linear FLOPs, parameters, or the latency measured on --device (a per-unit "
        "table, measured once per machine and cached)",
        OneOf(TARGETS),
    )
    preserve: float = _option(0.5, "fraction of the target cost to keep", PRESERVE)
    pruning: str = _option("channel", "structured channel or fine-grained magnitude pruning", OneOf(tuple(PRUNING_METHODS)))
    units: str = _option("inner", "which channels are prunable: block-internal ones, or all", OneOf(UNIT_SETS))
    importance: str = _option("l1", "which channels go", OneOf(IMPORTANCES))
    round_to: int | None = _option(
        None,
        "keep a multiple of this many channels per unit (channel pruning; e.g. 8: odd widths can run slower "
        "than the unpruned model on a CPU, benchmarks/RESULTS.md); None: any count",
        Integer(1, optional=True),
    )
    embedding: str = _option("gnn", "layer features: learned graph embedding or AMC's rule-based ones", OneOf(EMBEDDINGS))
    observation: str = _option("vector", "one unit's features, or the whole graph", OneOf(OBSERVATIONS))
    action_mode: str = _option("per_layer", "one ratio per step, or all ratios in one step", OneOf(ACTION_MODES))
    max_ratio: float = _option(0.8, "largest pruning ratio of a unit", Fraction(0.0, 1.0))
    fill_budget: str = _option(
        "none",
        "after the last unit, give unused budget back (give_back: scale the ratios down, then the cheapest "
        "channels) or cap every ratio so the budget is met exactly (two_sided); none: AMC's one-sided wall",
        OneOf(FILL_MODES),
    )
    reward: str | Callable[..., Any] = _option(
        "accuracy", "reward of the pruned model", NameOr(tuple(REWARDS), callable, "a callable")
    )
    val_size: int = _option(1000, "search-split images scored for each reward", Integer(1))
    split_seed: int = _option(0, "seed of the search/report split", SEED)
    bn_recalibration: bool = _option(
        False,
        "re-estimate batch-norm statistics of every pruned model on calibration images before scoring it; "
        "without it most ResNets pruned to 50% FLOPs score near chance",
        Boolean(),
    )
    calibration_size: int = _option(
        512,
        "training images (augmented once, as the weights were trained) that bn_recalibration estimates the "
        "statistics on: fewer is faster, more estimates them better (benchmarks/calibration_size.py)",
        Integer(2),
    )
    calibration_precision: str = _option(
        "reward",
        "precision of bn_recalibration: reward (the reward's, bf16 under precision=auto where native: about "
        "half fp32's time) or fp32 (the statistics an fp32 run computes; with recheck_margin the closest "
        "rewards to fp32's, for a slower episode: benchmarks/RESULTS.md)",
        OneOf(CALIBRATION_PRECISIONS),
    )
    device: str = _option("auto", "auto picks CUDA when present", Device(DEVICES))
    precision: str = _option(
        "auto", "autocast precision; auto: bf16 where the hardware runs it natively, else fp32",
        OneOf(PRECISIONS),
    )
    recheck_margin: float | None = _option(
        None,
        "with a bf16/fp16 precision, score again in fp32 each image whose two largest logits are closer "
        "than this (0.25 halved bf16's largest accuracy gap to fp32 on ResNet-20/56; None: off)",
        Number(0.0, optional=True),
    )
    latency_batch: int = _option(
        1,
        "images per forward pass that target=latency times: 1 (default) is the delay one request feels; "
        "a larger batch budgets throughput",
        Integer(1, MAX_LATENCY_BATCH),
    )
    render_mode: str | None = _option(None, "render mode", OneOf(RENDER_MODES, optional=True))
    cache_dir: str | None = _option(
        None, "cache root of embeddings and latency tables (default: $AGMC_CACHE or ~/.cache/agmc-env)", OutputPath(directory=True)
    )
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in option_names():
            value = getattr(self, name)
            checked = option_check(name)(name, value)
            if checked is not value:
                object.__setattr__(self, name, checked)
        if self.dataset == "imagefolder" and self.image_folder is None:
            raise ConfigError.for_option(
                "image_folder", "is needed with dataset='imagefolder': a folder of <class>/<image> files"
            )
        if self.image_folder is not None and self.dataset not in (None, "imagefolder"):
            raise ConfigError.for_option(
                "image_folder", f"is only read with dataset='imagefolder', not dataset={self.dataset!r}"
            )
        if self.target == "latency" and self.pruning != "channel":
            raise ConfigError.for_option(
                "target", f"'latency' needs pruning='channel': {self.pruning} masks keep every shape, so nothing runs faster"
            )
        if self.round_to is not None and self.pruning != "channel":
            raise ConfigError.for_option(
                "round_to",
                f"applies to pruning='channel' only (single weights have no widths to round), got pruning={self.pruning!r}",
            )
        if isinstance(self.reward, str) and self.reward in LATENCY_REWARDS and self.target != "latency":
            raise ConfigError.for_option("reward", f"{self.reward!r} needs target='latency', got target={self.target!r}")
        if self.extra:
            unknown = sorted(map(str, self.extra))
            raise ConfigError(
                f"unknown option(s) {unknown}; accepted options: {', '.join(option_names())}", option=unknown[0]
            )

    @classmethod
    def create(cls, preset: str | None = None, **options: Any) -> EnvConfig:
        """A config from a named preset (or the defaults) with ``options`` overriding it."""
        if preset is not None and (not isinstance(preset, str) or preset not in PRESETS):
            raise ConfigError(f"preset must be None or one of {tuple(PRESETS)}, got {preset!r}")
        merged = {**(PRESETS[preset] if preset else {}), **options}
        known = set(option_names())
        unknown = {k: v for k, v in merged.items() if k not in known}
        return cls(**{k: v for k, v in merged.items() if k in known}, extra=unknown)

    @property
    def model_name(self) -> str:
        """The zoo name, or ``"<ClassName>"`` for a user module."""
        return self.model if isinstance(self.model, str) else f"<{type(self.model).__name__}>"

    def to_dict(self) -> dict[str, Any]:
        """The options as a JSON-safe dict (a user module or reward callable by class/function name)."""
        out = {name: getattr(self, name) for name in option_names()}
        out["model"] = self.model_name
        if callable(self.reward):
            out["reward"] = f"<{getattr(self.reward, '__name__', type(self.reward).__name__)}>"
        if self.input_size is not None:
            out["input_size"] = list(self.input_size)
        return out

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)


def option_names() -> tuple[str, ...]:
    """Every keyword ``ModelCompression-v0`` accepts (besides ``preset``)."""
    return tuple(_FIELDS)


def option_help(name: str) -> str:
    """The one-line help of option ``name``."""
    return _FIELDS[name].metadata["help"]


def option_check(name: str) -> Callable[[str, Any], Any]:
    """The check of option ``name``; its ``type`` and ``choices`` say what the option accepts."""
    return _FIELDS[name].metadata["check"]


def option_default(name: str, preset: str | None = None) -> Any:
    """The default of option ``name``, or its value in ``preset`` when the preset sets it."""
    if preset is not None and name in PRESETS[preset]:
        return PRESETS[preset][name]
    return _FIELDS[name].default


_FIELDS = {f.name: f for f in dataclasses.fields(EnvConfig) if f.name != "extra"}
