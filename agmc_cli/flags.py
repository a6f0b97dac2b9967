"""Command-line flags declared once, with the check that says what each accepts, checked at parse time.

A flag is one call: its name, a check from :mod:`agmc_env.checks` (its type and its range or
choices), its default and its help::

    add_flag(parser, "--opset", Integer(7, 20), default=17, help="ONNX opset")

The check turns the text into a value and validates it while ``argparse`` parses, so a bad value
exits with 2 before any work starts, with a message that names the flag and what it accepts
(``argument --opset: must be an integer in [7, 20], got 0``); ``--help`` shows what it accepts.
Flags built from a library config (the env options, the fine-tune settings) pass that config's
own check, so the accepted values are written down once, in the library.

Output paths are flags too: :func:`add_output` checks at parse time that the path can be written
(its parent exists or can be created, is writable, and the path does not name a folder where a
file belongs). Whether an existing non-empty folder may be written into (``--force``, or
``--resume`` where a command can continue) depends on other flags, so a command checks it in its
``check(args)`` hook with :func:`check_output_folder`; ``agmc_cli.main`` calls that hook after
parsing and before ``run``. A new command needs nothing else.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from agmc_env.checks import Check, OutputPath, show_path
from agmc_env.errors import ConfigError


def _parse_text(text: str, kind: type) -> Any:
    """``text`` as ``kind`` (``int``, ``float`` or ``str``); ``ValueError`` when it is not one."""
    if kind is int:
        return int(text)
    if kind is float:
        return float(text)  # "nan", "inf" and "1e999" parse: the check refuses them
    return text


class CheckedType:
    """An ``argparse`` ``type``: the text parsed as the check's type, then validated by the check.

    Args:
        check: a check of :mod:`agmc_env.checks`.
        option: the name the check reports (the library's keyword, e.g. ``"val_size"``).
    """

    def __init__(self, check: Check, option: str) -> None:
        self.check, self.option = check, option
        self.__name__ = check.type.__name__  # what argparse calls the type in its own messages

    def __call__(self, text: str) -> Any:
        try:
            value = _parse_text(text, self.check.type)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be {self.check.describe()}, got {text!r}") from None
        try:
            return self.check(self.option, value)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(error.problem) from None


class CheckedList(argparse.Action):
    """An ``argparse`` action for a flag of several values (``nargs``): the check sees the list."""

    def __init__(self, option_strings: Sequence[str], dest: str, check: Check, option: str, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, **kwargs)
        self.check, self.option = check, option

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:  # fmt: skip
        try:
            setattr(namespace, self.dest, self.check(self.option, list(values)))
        except ConfigError as error:
            raise argparse.ArgumentError(self, error.problem) from None


_LONG_CHOICES = 6  # longer lists (the model zoo) go into the help text, not the usage line


def _option_name(flag: str) -> str:
    return flag.lstrip("-").replace("-", "_")


def add_flag(
    parser: argparse.ArgumentParser,
    flag: str,
    check: Check,
    default: Any = None,
    help: str = "",
    option: str | None = None,
    **kwargs: Any,
) -> argparse.Action:
    """Add ``flag``, parsed and validated by ``check``; its help says what it accepts.

    Args:
        parser: the command's parser.
        flag: e.g. ``"--val-size"``.
        check: a check of :mod:`agmc_env.checks` (``type``, ``choices``, ``describe()``).
        default: the value when the flag is absent (not checked: it is the program's own).
        help: what the flag does; the accepted values and the default are appended.
        option: the keyword the check names in its errors (default: the flag without dashes).
        **kwargs: more ``add_argument`` keywords (``dest``, ``metavar``, ``nargs``...).
    """
    option = option or _option_name(flag)
    text = help.replace("%", "%%")  # argparse formats help with %
    if check.type is bool:
        kwargs.setdefault("action", argparse.BooleanOptionalAction)
        text += f" (default: {'on' if default else 'off'})"
        return parser.add_argument(flag, default=default, help=text, **kwargs)
    if check.choices and len(check.choices) <= _LONG_CHOICES:
        kwargs.setdefault("choices", check.choices)  # argparse checks them and lists them in the usage
    elif check.choices:  # a long list (the model zoo); a library escape hatch (an nn.Module) is no text
        text += f"; one of: {', '.join(check.choices)}"
    else:
        text += f"; {check.describe()}"
    if default is not None:
        text += f" (default: {default})"
    if kwargs.get("nargs") not in (None, "?"):
        kwargs.update(action=CheckedList, check=check, option=option, type=check.type)  # each text converted first
    elif "choices" not in kwargs:
        kwargs["type"] = CheckedType(check, option)
    return parser.add_argument(flag, default=default, help=text, **kwargs)


def add_output(
    parser: argparse.ArgumentParser, flag: str, directory: bool, help: str, **kwargs: Any
) -> argparse.Action:
    """Add an output-path flag, checked at parse time (see the module docstring)."""
    return add_flag(parser, flag, OutputPath(directory=directory), help=help, **kwargs)


def add_force_flag(parser: argparse.ArgumentParser, what: str) -> None:
    """``--force``: write into an existing non-empty output folder (``what`` says what is replaced)."""
    parser.add_argument("--force", action="store_true", help=f"write into an existing non-empty output folder ({what})")


def check_output_folder(flag: str, path: str | os.PathLike, force: bool, resume: bool | None = None) -> None:
    """Refuse an output folder the command must not write into (``ConfigError`` naming ``flag``).

    Args:
        flag: the flag that gave ``path`` (or whose default it is).
        path: the folder.
        force: ``--force`` was given: an existing non-empty folder is fine.
        resume: ``--resume`` was given (``None``: the command has no such flag).
    """
    try:
        OutputPath(directory=True, optional=False)(flag, path)
    except ConfigError as error:
        raise usage_error(flag, error.problem) from None
    folder = Path(path).expanduser()
    if force or resume or not folder.is_dir() or next(folder.iterdir(), None) is None:
        return
    ways = "pass --resume to continue the run in it, --force" if resume is not None else "pass --force"
    raise usage_error(
        flag, f"{show_path(folder)} is a non-empty folder; {ways} to write into it anyway, or choose another {flag}"
    )


def usage_error(flag: str, problem: str) -> ConfigError:
    """A ``ConfigError`` worded like ``argparse``'s own: ``argument --out: <problem>``."""
    return ConfigError(f"argument {flag}: {problem}", option=_option_name(flag), problem=problem)
