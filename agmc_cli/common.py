"""Arguments and output helpers shared by the ``agmc`` commands.

Flags that set an env option are built from :class:`agmc_env.envs.config.EnvConfig`: its fields
give the type, the default, the accepted values and the help text, so a flag never re-declares
them, and the option's own check validates the flag at parse time (:mod:`agmc_cli.flags`). What
only the library can tell (an option that contradicts another) it raises later, and
:func:`flag_error` words its complaint with the flag.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agmc_cli.flags import add_flag
from agmc_env.checks import Integer
from agmc_env.envs.config import option_check, option_default, option_help
from agmc_env.errors import ConfigError

# Env options whose flag is not simply --<name-with-dashes> (`agmc evaluate` has said --weights).
_FLAG_NAMES = {"weights_path": "--weights"}


def flag(option: str) -> str:
    """The command-line flag of env option ``option``, e.g. ``--val-size`` for ``val_size``."""
    return _FLAG_NAMES.get(option, "--" + option.replace("_", "-"))


def add_env_option(parser: argparse.ArgumentParser, option: str, preset: str | None = None, **overrides: Any) -> None:
    """Add the flag of env option ``option``, its default taken from ``preset`` when that sets it.

    The flag is checked at parse time by the option's own check (:func:`agmc_cli.flags.add_flag`).
    ``overrides`` are ``add_argument`` keywords that replace the derived ones (e.g. ``default``, ``help``).
    """
    default = overrides.pop("default") if "default" in overrides else option_default(option, preset)
    text = overrides.pop("help", option_help(option))
    add_flag(parser, flag(option), option_check(option), default, text, option=option, dest=option, **overrides)


def env_options(args: argparse.Namespace, options: tuple[str, ...], preset: str | None = None) -> dict[str, Any]:
    """The env keyword arguments ``args`` asks for: ``preset`` and the ``options`` set otherwise.

    Options left at their default are not passed, so an agent that implies one (``amc`` means
    ``embedding="rule"``) does not meet the default as a contradiction.
    """
    changed = {name: getattr(args, name) for name in options if getattr(args, name) != option_default(name, preset)}
    return {"preset": preset, **changed} if preset is not None else changed


def flag_error(error: ConfigError, flags: dict[str, str] | None = None) -> ConfigError:
    """``error`` worded with the flag of its option (``--preserve must be ...``) when it has one.

    Args:
        error: a ``ConfigError`` of the library; its ``option`` names a keyword.
        flags: flags of options that are not env options (e.g. ``{"episodes": "--episodes"}``).
    """
    if error.option is None:
        return error
    name = (flags or {}).get(error.option) or flag(error.option)
    return ConfigError(f"{name} {error.problem}", option=error.option, problem=error.problem)


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    add_env_option(parser, "data_dir")


def add_device_arguments(parser: argparse.ArgumentParser, precision: str | None = None) -> None:
    """``--device`` and ``--precision``; ``precision`` replaces the env's default (``"fp32"`` where
    accuracies are reported, so they are exact)."""
    add_env_option(parser, "device")
    add_env_option(parser, "precision", **({"default": precision} if precision else {}))


# More threads than this is a typo: torch would start them all.
MAX_THREADS = 1024


def add_threads_argument(parser: argparse.ArgumentParser) -> None:
    add_flag(
        parser, "--threads", Integer(1, MAX_THREADS),
        help="torch CPU threads (default: torch's choice, one per core); 1 is much faster on a busy machine",
    )  # fmt: skip


def apply_threads(args: argparse.Namespace) -> None:
    """Set torch's CPU threads to ``--threads`` when given."""
    if args.threads is not None:
        import torch  # only once the arguments are parsed

        torch.set_num_threads(args.threads)


def print_result(result: dict[str, Any], as_json: bool) -> None:
    """Results to stdout: one JSON object, or aligned ``key: value`` lines for people."""
    if as_json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        if isinstance(value, float):
            value = f"{value:.4f}".rstrip("0").rstrip(".")
        print(f"{key:<{width}}  {value}")
