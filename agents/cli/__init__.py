"""The ``agmc`` command line: ``agmc <command> --help`` explains each command.

Exit codes: 0 success, 1 failure, 2 bad usage. Progress goes to stderr, results to stdout.
Each command lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from agmc_env import __version__
from agmc_env.paths import DataNotFoundError

# Module names under agents.cli, in the order `agmc --help` lists them.
COMMANDS = ("search", "evaluate", "graph", "finetune", "export")

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class UsageError(ValueError):
    """Bad command-line input: reported with exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="agmc",
        description="Automated model compression with reinforcement learning (AGMC).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"agents.cli.{name}").add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agmc`` console script."""
    parser = build_parser()
    args = parser.parse_args(argv)  # exits with 2 on bad usage
    try:
        return int(args.run(args))
    except (UsageError, ValueError, DataNotFoundError, FileNotFoundError) as error:
        # Bad input (unknown names, out-of-range values, missing files) is a usage problem.
        print(f"agmc {args.command}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"agmc {args.command}: interrupted", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
