"""The errors agmc-env raises on purpose, and the exit code the ``agmc`` command gives each.

=============================  ======================================================  =========
class                          raised for                                              exit code
=============================  ======================================================  =========
:class:`ConfigError`           a bad option, argument or action (names it and what     2
                               it accepts); :class:`ConfigTypeError` for a value of
                               the wrong type
:class:`MissingFileError`      a data set, weights file or saved model that is not     1
                               where it was looked for (names every place)
:class:`CorruptFileError`      a file that exists but cannot be read as what it        1
                               should be (names the file and what to do)
:class:`UnsupportedModelError`  a model the library cannot trace, prune or score       1
                               (names the layer)
:class:`FolderInUseError`      an output folder another process is writing into now    1
                               (names its lock file)
:class:`InternalError`         an inconsistency inside agmc-env: a bug to report       1
=============================  ======================================================  =========

Each class also derives from the built-in exception a caller would expect (``ValueError``,
``FileNotFoundError``, ``RuntimeError``), so ``except ValueError`` keeps working around
configuration code.
"""

from __future__ import annotations

import os

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class AgmcError(Exception):
    """Base of every error agmc-env raises on purpose; ``exit_code`` is what ``agmc`` exits with."""

    exit_code = EXIT_FAILURE


class ConfigError(AgmcError, ValueError):
    """Bad configuration or usage: an option, argument or action the library does not accept.

    Args:
        message: what is wrong, naming the option and what it accepts.
        option: the option's keyword name, when the error is about one option (default: ``None``).
        problem: the message without the option's name (default: ``message``), so a front end can
            name the option its own way (the CLI says ``--preserve``).
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, option: str | None = None, problem: str | None = None) -> None:
        super().__init__(message)
        self.option = option
        self.problem = message if problem is None else problem

    @classmethod
    def for_option(cls, option: str, problem: str) -> ConfigError:
        """``"<option> <problem>"``, e.g. ``for_option("preserve", "must be in (0, 1], got 0")``."""
        return cls(f"{option} {problem}", option=option, problem=problem)


class ConfigTypeError(ConfigError, TypeError):
    """A :class:`ConfigError` about a value of the wrong type (a string or ``None`` where a number
    belongs); also a ``TypeError``, as Python's own functions raise for one."""


class DataError(AgmcError):
    """A file the library needs is missing or unreadable.

    Args:
        message: what is wrong and what to do about it.
        path: the file in question (default: ``None``).
    """

    def __init__(self, message: str, path: str | os.PathLike | None = None) -> None:
        super().__init__(message)
        self.path = None if path is None else os.fspath(path)


class MissingFileError(DataError, FileNotFoundError):
    """A data set, weights file or saved model was not found in any of the places looked at."""


class CorruptFileError(DataError, ValueError):
    """A file exists but cannot be read as what it should be (truncated, foreign, wrong format)."""


class UnsupportedModelError(AgmcError, ValueError):
    """A model (or one of its layers) that cannot be traced, pruned or scored; the message names it."""


class FolderInUseError(DataError, RuntimeError):
    """An output folder another running process holds (a second search on the same ``--out``)."""


class InternalError(AgmcError, RuntimeError):
    """Something inside agmc-env disagrees with itself: a bug, not a usage mistake."""


def exit_code(error: BaseException) -> int:
    """The ``agmc`` exit code for ``error``: its class's code, 1 for anything unexpected."""
    return error.exit_code if isinstance(error, AgmcError) else EXIT_FAILURE


def reason(error: BaseException, limit: int = 200) -> str:
    """``"Type: first line of its message"`` of an exception raised inside a library, short enough
    for the one-line message of an :class:`AgmcError` that wraps it (torch's are many lines long)."""
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    text = text if len(text) <= limit else text[: limit - 3] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
