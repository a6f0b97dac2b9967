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
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn

from agmc_env.data import DATASETS
from agmc_env.errors import ConfigError
from agmc_env.evaluate import DEVICES, PRECISIONS
from agmc_env.models import available_models

from agmc_env.pruning import IMPORTANCES, PRUNING_METHODS, TARGETS, UNIT_SETS

EMBEDDINGS = ("gnn", "rule")
OBSERVATIONS = ("vector", "graph")
ACTION_MODES = ("per_layer", "one_shot")
RENDER_MODES = ("ansi", "rgb_array")
FILL_MODES = ("none", "give_back", "two_sided")  # see agmc_env.pruning.budget

PRESETS: dict[str, dict[str, Any]] = {
    # The paper's CIFAR-10 settings (AGMC Table 1: ResNet-56 at 50 % FLOPs).
    "resnet20-cifar10-flops50": {"model": "resnet20", "dataset": "cifar10", "target": "flops", "preserve": 0.5},
    "resnet56-cifar10-flops50": {"model": "resnet56", "dataset": "cifar10", "target": "flops", "preserve": 0.5},
    "resnet56-cifar10-params50": {"model": "resnet56", "dataset": "cifar10", "target": "params", "preserve": 0.5},
    # AMC's rule-based state instead of the learned embedding, for the embedding comparison.
    "resnet56-cifar10-flops50-rule": {
        "model": "resnet56", "dataset": "cifar10", "target": "flops", "preserve": 0.5, "embedding": "rule",
    },
    # Seconds-long episodes for smoke tests: the ResNet-20 weights on random images.
    "resnet20-synthetic-smoke": {"model": "resnet20", "dataset": "synthetic", "val_size": 100},
}


def _choice(name: str, value: object, accepted: tuple[str, ...]) -> None:
    if value not in accepted:
        raise ConfigError(f"{name} must be one of {accepted}, got {value!r}")


def _fraction(name: str, value: object, low: float, high: float, *, include_high: bool) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and low < value and (value <= high if include_high else value < high)
    if not ok:
        bracket = "]" if include_high else ")"
        raise ConfigError(f"{name} must be a number in ({low}, {high}{bracket}, got {value!r}")


def _integer(name: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _boolean(name: str, value: object) -> None:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be True or False, got {value!r}")


def _optional_str(name: str, value: object) -> None:
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{name} must be a path string or None, got {value!r}")


@dataclass(frozen=True)
class EnvConfig:
    """Validated options of ``ModelCompression-v0`` (see the env's docstring for their meaning).

    Raises:
        ConfigError: (a ``ValueError``) at construction, naming the option and its accepted values.
    """

    model: str | nn.Module = "resnet20"
    dataset: str | None = None
    data_dir: str | None = None
    weights_path: str | None = None
    input_size: tuple[int, int, int] | None = None
    target: str = "flops"
    preserve: float = 0.5
    pruning: str = "channel"
    units: str = "inner"
    importance: str = "l1"
    embedding: str = "gnn"
    observation: str = "vector"
    action_mode: str = "per_layer"
    max_ratio: float = 0.8
    fill_budget: str = "none"
    reward: str | Callable[..., Any] = "accuracy"
    val_size: int = 1000
    split_seed: int = 0
    bn_recalibration: bool = False
    device: str = "auto"
    precision: str = "fp32"
    render_mode: str | None = None
    cache_dir: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Imported here: rewards imports nothing of the config, but keep the registry the one truth.
        from agmc_env.envs.rewards import REWARDS

        if isinstance(self.model, str):
            if self.model not in available_models():
                raise ConfigError(f"model must be an nn.Module or one of {tuple(available_models())}, got {self.model!r}")
        elif not isinstance(self.model, nn.Module):
            raise ConfigError(f"model must be a model name or an nn.Module, got {type(self.model).__name__}")
        if self.dataset is not None:
            _choice("dataset", self.dataset, DATASETS)
        for name in ("data_dir", "weights_path", "cache_dir"):
            _optional_str(name, getattr(self, name))
        if self.input_size is not None:
            size = self.input_size
            if not (isinstance(size, (tuple, list)) and len(size) == 3 and all(isinstance(s, int) and s > 0 for s in size)):
                raise ConfigError(f"input_size must be None or three positive integers (C, H, W), got {size!r}")
            object.__setattr__(self, "input_size", tuple(size))
        _choice("target", self.target, TARGETS)
        _fraction("preserve", self.preserve, 0.0, 1.0, include_high=True)
        _choice("pruning", self.pruning, tuple(PRUNING_METHODS))
        _choice("units", self.units, UNIT_SETS)
        _choice("importance", self.importance, IMPORTANCES)
        _choice("embedding", self.embedding, EMBEDDINGS)
        _choice("observation", self.observation, OBSERVATIONS)
        _choice("action_mode", self.action_mode, ACTION_MODES)
        _fraction("max_ratio", self.max_ratio, 0.0, 1.0, include_high=False)
        _choice("fill_budget", self.fill_budget, FILL_MODES)
        if not callable(self.reward) and self.reward not in REWARDS:
            raise ConfigError(f"reward must be a callable or one of {tuple(REWARDS)}, got {self.reward!r}")
        _integer("val_size", self.val_size, 1)
        _integer("split_seed", self.split_seed, 0)
        _boolean("bn_recalibration", self.bn_recalibration)
        if not isinstance(self.device, str) or self.device.split(":")[0] not in DEVICES:
            raise ConfigError(f"device must be one of {DEVICES} (or 'cuda:N'), got {self.device!r}")
        _choice("precision", self.precision, PRECISIONS)
        if self.render_mode is not None:
            _choice("render_mode", self.render_mode, RENDER_MODES)
        if self.extra:
            raise ConfigError(
                f"unknown option(s) {sorted(self.extra)}; accepted options: {', '.join(option_names())}"
            )

    @classmethod
    def create(cls, preset: str | None = None, **options: Any) -> EnvConfig:
        """A config from a named preset (or the defaults) with ``options`` overriding it."""
        if preset is not None and preset not in PRESETS:
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
    return tuple(f.name for f in dataclasses.fields(EnvConfig) if f.name != "extra")
