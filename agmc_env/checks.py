"""Checks of single options: each validates one value and tells a front end what it accepts.

A check is called as ``check(name, value) -> value`` (the value, normalised where needed, e.g. a list
``input_size`` becomes a tuple) and raises :class:`~agmc_env.errors.ConfigError` naming the option
(``ConfigError.option``). Its ``type`` (``str``, ``int``, ``float``, ``bool``) and ``choices`` (a
tuple, or ``None`` for open values) are what a command line needs to build a flag from the option,
so that the accepted values are written down once, here and in the registries the checks read.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from torch import nn

from agmc_env.errors import ConfigError


@dataclass(frozen=True)
class OneOf:
    """A name from ``choices`` (or ``None`` when ``optional``)."""

    choices: tuple[str, ...]
    optional: bool = False
    type: type = str

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        if value not in self.choices:
            none = " or None" if self.optional else ""
            raise ConfigError.for_option(name, f"must be one of {self.choices}{none}, got {value!r}")
        return value


@dataclass(frozen=True)
class NameOr:
    """A name from ``choices``, or the documented escape hatch: an object that passes ``accepts``."""

    choices: tuple[str, ...]
    accepts: Callable[[Any], bool]
    what: str  # the escape hatch in words, e.g. "an nn.Module"
    type: type = str

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            if value not in self.choices:
                raise ConfigError.for_option(name, f"must be one of {self.choices}, got {value!r}")
        elif not self.accepts(value):
            raise ConfigError.for_option(name, f"must be a name or {self.what}, got {type(value).__name__}")
        return value


@dataclass(frozen=True)
class Fraction:
    """A finite number in ``(low, high)``, or ``(low, high]`` with ``include_high``."""

    low: float = 0.0
    high: float = 1.0
    include_high: bool = False
    type: type = float
    choices: None = None

    def __call__(self, name: str, value: Any) -> Any:
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        ok = ok and self.low < value and (value <= self.high if self.include_high else value < self.high)
        if not ok:
            bracket = "]" if self.include_high else ")"
            raise ConfigError.for_option(name, f"must be a number in ({self.low:g}, {self.high:g}{bracket}, got {value!r}")
        return value


# The budget: a fraction of the original cost to keep. The env's config and the budget wall (usable
# on its own) share this one check.
PRESERVE = Fraction(0.0, 1.0, include_high=True)


@dataclass(frozen=True)
class Integer:
    """An ``int`` (not a ``bool``) of at least ``minimum``."""

    minimum: int = 0
    type: type = int
    choices: None = None

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, int) or isinstance(value, bool) or value < self.minimum:
            raise ConfigError.for_option(name, f"must be an integer >= {self.minimum}, got {value!r}")
        return value


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False`` (not ``1``, not ``"yes"``)."""

    type: type = bool
    choices: None = None

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ConfigError.for_option(name, f"must be True or False, got {value!r}")
        return value


@dataclass(frozen=True)
class PathString:
    """``None`` or a path string; with ``directory``, one naming an existing directory."""

    directory: bool = False
    hint: str = ""  # what the directory should hold, for the message
    type: type = str
    choices: None = None

    def __call__(self, name: str, value: Any) -> Any:
        if value is not None and not isinstance(value, (str, os.PathLike)):
            raise ConfigError.for_option(name, f"must be a path string or None, got {value!r}")
        if value is not None and self.directory and not os.path.isdir(value):
            raise ConfigError.for_option(name, f"{os.fspath(value)} is not a directory{self.hint}")
        return None if value is None else os.fspath(value)


@dataclass(frozen=True)
class Device:
    """A name from ``choices``, or ``"cuda:N"``."""

    choices: tuple[str, ...]
    type: type = str

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, str) or value.split(":")[0] not in self.choices:
            raise ConfigError.for_option(name, f"must be one of {self.choices} (or 'cuda:N'), got {value!r}")
        return value


@dataclass(frozen=True)
class InputSize:
    """``None`` or three positive integers ``(C, H, W)`` (returned as a tuple)."""

    type: type = int
    choices: None = None

    def __call__(self, name: str, value: Any) -> Any:
        if value is None:
            return value
        if not (isinstance(value, Sequence) and len(value) == 3 and all(isinstance(s, int) and s > 0 for s in value)):
            raise ConfigError.for_option(name, f"must be None or three positive integers (C, H, W), got {value!r}")
        return tuple(value)


def is_module(value: Any) -> bool:
    return isinstance(value, nn.Module)
