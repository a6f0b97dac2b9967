"""Checks of single options: each validates one value and tells a front end what it accepts.

A check is called as ``check(name, value) -> value`` (the value, normalised where needed, e.g. a list
``input_size`` becomes a tuple, a NumPy integer a Python ``int``) and raises
:class:`~agmc_env.errors.ConfigError` naming the option (``ConfigError.option``). Its ``type``
(``str``, ``int``, ``float``, ``bool``), ``choices`` (a tuple, or ``None`` for open values) and
``describe()`` (the accepted values in words) are what a command line needs to build and check a
flag from the option, so that the accepted values are written down once, here and in the
registries the checks read.
"""

from __future__ import annotations

import math
import numbers
import os
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from torch import nn

from agmc_env.errors import ConfigError


class Check(Protocol):
    """What every check offers (the classes below)."""

    type: type
    choices: tuple[str, ...] | None

    def __call__(self, name: str, value: Any) -> Any: ...

    def describe(self) -> str: ...


def _is_real(value: Any) -> bool:
    # numbers.Real takes NumPy scalars too; bool is an int to Python but never a number here.
    return isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_))


@dataclass(frozen=True)
class OneOf:
    """A name from ``choices`` (or ``None`` when ``optional``)."""

    choices: tuple[str, ...]
    optional: bool = False
    type: type = str

    def describe(self) -> str:
        return f"one of {self.choices}" + (" or None" if self.optional else "")

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        if not isinstance(value, str) or value not in self.choices:
            raise ConfigError.for_option(name, f"must be {self.describe()}, got {value!r}")
        return value


@dataclass(frozen=True)
class NameOr:
    """A name from ``choices``, or the documented escape hatch: an object that passes ``accepts``."""

    choices: tuple[str, ...]
    accepts: Callable[[Any], bool]
    what: str  # the escape hatch in words, e.g. "an nn.Module"
    type: type = str

    def describe(self) -> str:
        return f"one of {self.choices} or {self.what}"

    def __call__(self, name: str, value: Any) -> Any:
        if isinstance(value, str):
            if value not in self.choices:
                raise ConfigError.for_option(name, f"must be one of {self.choices}, got {value!r}")
        elif not self.accepts(value):
            raise ConfigError.for_option(name, f"must be a name or {self.what}, got {type(value).__name__}")
        return value


@dataclass(frozen=True)
class Number:
    """A finite real number (not a bool) in an interval whose ends may be open, closed or absent.

    Args:
        low, high: the ends (``None``: unbounded on that side).
        low_open, high_open: exclude that end. (default: ``False``)
        optional: ``None`` is accepted too. (default: ``False``)
    """

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    optional: bool = False
    type: type = float
    choices: None = None

    def describe(self) -> str:
        none = " or None" if self.optional else ""
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"a number in {left}{self.low:g}, {self.high:g}{right}{none}"
        if self.low is not None:
            return f"a number {'>' if self.low_open else '>='} {self.low:g}{none}"
        if self.high is not None:
            return f"a number {'<' if self.high_open else '<='} {self.high:g}{none}"
        return f"a finite number{none}"

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        ok = _is_real(value) and math.isfinite(value)
        if ok and self.low is not None:
            ok = value > self.low if self.low_open else value >= self.low
        if ok and self.high is not None:
            ok = value < self.high if self.high_open else value <= self.high
        if not ok:
            raise ConfigError.for_option(name, f"must be {self.describe()}, got {value!r}")
        return int(value) if isinstance(value, numbers.Integral) else float(value)


def Fraction(low: float = 0.0, high: float = 1.0, include_high: bool = False) -> Number:  # noqa: N802 (a check's name)
    """A finite number in ``(low, high)``, or ``(low, high]`` with ``include_high``."""
    return Number(low, high, low_open=True, high_open=not include_high)


# The budget: a fraction of the original cost to keep. The env's config and the budget wall (usable
# on its own) share this one check.
PRESERVE = Fraction(0.0, 1.0, include_high=True)


@dataclass(frozen=True)
class Integer:
    """An integer (a Python or NumPy one, not a ``bool``) in ``[minimum, maximum]``."""

    minimum: int = 0
    maximum: int | None = None
    optional: bool = False
    type: type = int
    choices: None = None

    def describe(self) -> str:
        none = " or None" if self.optional else ""
        if self.maximum is None:
            return f"an integer >= {self.minimum}{none}"
        return f"an integer in [{self.minimum}, {self.maximum}]{none}"

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return value
        ok = isinstance(value, numbers.Integral) and _is_real(value) and value >= self.minimum
        if not ok or (self.maximum is not None and value > self.maximum):
            raise ConfigError.for_option(name, f"must be {self.describe()}, got {value!r}")
        return int(value)


# Seeds go to NumPy too, which takes [0, 2**32 - 1] only.
SEED = Integer(0, 2**32 - 1)


@dataclass(frozen=True)
class ListOf:
    """A non-empty list of distinct values, each passing ``item`` (a grid axis: models, seeds...).

    Args:
        item: the check of each value.
    """

    item: Check

    @property
    def type(self) -> type:  # what a command-line text is parsed as, per value
        return self.item.type

    @property
    def choices(self) -> tuple[str, ...] | None:
        return self.item.choices

    def describe(self) -> str:
        return f"one or more distinct values, each {self.item.describe()}"

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, (list, tuple)) or not value:
            raise ConfigError.for_option(name, f"must be {self.describe()}, got {value!r}")
        checked = [self.item(name, v) for v in value]
        repeated = sorted({repr(v) for v in checked if checked.count(v) > 1})
        if repeated:
            raise ConfigError.for_option(name, f"must list each value once, got {', '.join(repeated)} more than once")
        return checked


@dataclass(frozen=True)
class Boolean:
    """``True`` or ``False`` (not ``1``, not ``"yes"``)."""

    type: type = bool
    choices: None = None

    def describe(self) -> str:
        return "True or False"

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, bool):
            raise ConfigError.for_option(name, f"must be True or False, got {value!r}")
        return value


def show_path(path: str | os.PathLike) -> str:
    """``path`` for a one-line message: as is, or quoted when it holds a newline or another
    unprintable character."""
    text = os.fspath(path)
    return text if isinstance(text, str) and text.isprintable() else repr(text)


def path_problem(value: Any) -> str | None:
    """Why ``value`` is not a usable path string (``None`` when it is one)."""
    if not isinstance(value, (str, os.PathLike)):
        return f"must be a path string, got {value!r}"
    text = os.fspath(value)
    if not isinstance(text, str) or not text or "\x00" in text:
        return f"must be a non-empty path string, got {value!r}"
    try:
        Path(text).exists()
    except (OSError, ValueError) as error:  # a name too long for the file system, ...
        return f"is not a usable path ({error})"
    return None


@dataclass(frozen=True)
class PathString:
    """``None`` or a path string; with ``directory``, one naming an existing directory."""

    directory: bool = False
    hint: str = ""  # what the directory should hold, for the message
    type: type = str
    choices: None = None

    def describe(self) -> str:
        return "an existing directory" if self.directory else "a path"

    def __call__(self, name: str, value: Any) -> Any:
        if value is None:
            return None
        problem = path_problem(value)
        if problem is None and self.directory and not os.path.isdir(value):
            problem = f"{show_path(value)} is not a directory{self.hint}"
        if problem is not None:
            raise ConfigError.for_option(name, problem)
        return os.fspath(value)


def writable_problem(path: str | os.PathLike, directory: bool) -> str | None:
    """Why ``path`` cannot be written as a directory (or a file), ``None`` when it can.

    Nothing is created: a missing path is fine when its nearest existing ancestor is a writable
    directory (the rest can then be created).
    """
    problem = path_problem(path)
    if problem is not None:
        return problem
    target = Path(path).expanduser()
    if target.exists():
        if directory and not target.is_dir():
            return f"{show_path(target)} exists and is not a directory"
        if not directory and target.is_dir():
            return f"{show_path(target)} is an existing directory; give a file name"
        if not directory and not target.is_file():
            return f"{show_path(target)} exists and is not a regular file"  # a device, a pipe: never replaced
        folder = target if directory else target.parent
        return None if os.access(folder, os.W_OK) else f"{show_path(folder)} is not writable"
    ancestor = target.parent
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        return f"{show_path(ancestor)} is a file, so {show_path(target)} cannot be created"
    if not os.access(ancestor, os.W_OK | os.X_OK):
        return f"{show_path(ancestor)} is not writable, so {show_path(target)} cannot be created"
    return None


@dataclass(frozen=True)
class OutputPath:
    """``None`` (when ``optional``) or a path the caller can write: a directory, or a file.

    The path may be missing as long as it can be created (see :func:`writable_problem`); an
    existing folder named where a file belongs (or a file where a folder belongs) is refused.
    """

    directory: bool = False
    optional: bool = True
    type: type = str
    choices: None = None

    def describe(self) -> str:
        return "a writable " + ("directory" if self.directory else "file path")

    def __call__(self, name: str, value: Any) -> Any:
        if value is None and self.optional:
            return None
        problem = writable_problem(value, self.directory) if value is not None else "must be a path, got None"
        if problem is not None:
            raise ConfigError.for_option(name, problem)
        return os.fspath(value)


@dataclass(frozen=True)
class Device:
    """A name from ``choices``, or ``"cuda:N"``."""

    choices: tuple[str, ...]
    type: type = str

    def describe(self) -> str:
        return f"one of {self.choices} (or 'cuda:N')"

    def __call__(self, name: str, value: Any) -> Any:
        if not isinstance(value, str) or not (value in self.choices or re.fullmatch(r"cuda:\d{1,4}", value)):
            raise ConfigError.for_option(name, f"must be {self.describe()}, got {value!r}")
        return value


# Larger inputs than these are a typo, not a model: a ResNet-20 forward pass at 4096x4096 alone
# needs gigabytes.
MAX_INPUT_CHANNELS, MAX_INPUT_SIDE = 64, 4096


@dataclass(frozen=True)
class InputSize:
    """``None`` or three positive integers ``(C, H, W)`` (returned as a tuple)."""

    type: type = int
    choices: None = None

    def describe(self) -> str:
        return f"None or three integers (C, H, W) with C in [1, {MAX_INPUT_CHANNELS}] and H, W in [1, {MAX_INPUT_SIDE}]"

    def __call__(self, name: str, value: Any) -> Any:
        if value is None:
            return value
        ok = isinstance(value, Sequence) and not isinstance(value, str) and len(value) == 3
        ok = ok and all(isinstance(s, numbers.Integral) and _is_real(s) and s >= 1 for s in value)
        ok = ok and value[0] <= MAX_INPUT_CHANNELS and max(value[1:]) <= MAX_INPUT_SIDE
        if not ok:
            raise ConfigError.for_option(name, f"must be {self.describe()}, got {value!r}")
        return tuple(int(s) for s in value)


def is_module(value: Any) -> bool:
    return isinstance(value, nn.Module)
