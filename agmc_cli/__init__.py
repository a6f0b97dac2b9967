"""The ``agmc`` command line: ``agmc <command> --help`` explains each command.

Exit codes: 0 success, 1 failure, 2 bad usage (:mod:`agmc_env.errors` says which error is which);
an expected failure prints one line, never a traceback. Progress goes to stderr, results to stdout.
Each command lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``;
its flags are declared with :mod:`agmc_cli.flags` (one call per flag, with the check of what it
accepts, run at parse time), and a command whose outputs depend on several flags (an output
folder and ``--force``) sets a ``check(args)`` default too, which runs after parsing and before
``run``: a bad command line exits with 2 before any work starts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from agmc_env import __version__
from agmc_env.errors import EXIT_FAILURE, AgmcError
from agmc_env.paths import OFFLINE_ENV_VAR

# Module names under agmc_cli, in the order `agmc --help` lists them.
COMMANDS = ("search", "evaluate", "graph", "finetune", "export", "data")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agmc",
        description="Automated model compression with reinforcement learning (AGMC).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"agmc_cli.{name}").add_parser(subparsers)
    for command in subparsers.choices.values():  # every command may need a data file
        command.add_argument(
            "--offline", action="store_true",
            help=f"never use the network: a missing data file is an error saying where to put it (as {OFFLINE_ENV_VAR}=1)",
        )  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agmc`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on bad usage
    previous = os.environ.get(OFFLINE_ENV_VAR)
    if args.offline:  # through the environment, so worker processes and every library call see it
        os.environ[OFFLINE_ENV_VAR] = "1"
    try:
        if getattr(args, "check", None) is not None:
            args.check(args)
        return int(args.run(args))
    except AgmcError as error:
        # Expected failures: a message, no traceback; the class says usage (2) or failure (1).
        print(f"agmc {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"agmc {args.command}: interrupted", file=sys.stderr)
        return EXIT_FAILURE
    finally:
        if args.offline:  # main() may be called again in the same process (tests, notebooks)
            if previous is None:
                os.environ.pop(OFFLINE_ENV_VAR, None)
            else:
                os.environ[OFFLINE_ENV_VAR] = previous


if __name__ == "__main__":
    sys.exit(main())
