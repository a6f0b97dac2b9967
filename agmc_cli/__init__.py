"""The ``agmc`` command line: ``agmc <command> --help`` explains each command.

Exit codes: 0 success, 1 failure, 2 bad usage (:mod:`agmc_env.errors` says which error is which);
an expected failure prints one line, never a traceback. Progress goes to stderr, results to stdout.
Each command lives in its own module exposing ``add_parser(subparsers)`` and ``run(args) -> int``,
and has its one-line help in :data:`COMMANDS`; the module (and with it torch, SB3, PyG) is imported
only when the command is parsed, so ``agmc --version`` and ``agmc --help`` start in a fraction of a
second. Its flags are declared with :mod:`agmc_cli.flags` (one call per flag, with the check of what it
accepts, run at parse time), and a command whose outputs depend on several flags (an output
folder and ``--force``) sets a ``check(args)`` default too, which runs after parsing and before
``run``: a bad command line exits with 2 before any work starts.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

from agmc_env import __version__
from agmc_env.errors import EXIT_FAILURE, AgmcError
from agmc_env.paths import OFFLINE_ENV_VAR

# The commands (modules under agmc_cli), in the order `agmc --help` lists them, with the line it shows.
COMMANDS = {
    "search": "search a pruning policy (RL agent or baseline), save the best pruned model",
    "sweep": "a grid of searches (models x agents x budgets x seeds) as Ray Tune trials, locally or on a cluster",
    "evaluate": "accuracy and cost of a model on a data split",
    "graph": "the model as a graph, and its GAE layer embeddings",
    "finetune": "fine-tune a pruned model (distilling the unpruned one) and report its accuracy",
    "export": "export a pruned model to ONNX (checked with onnxruntime when installed)",
    "data": "where the data sets and weights are; verify, download or import them",
}


class _Commands(argparse._SubParsersAction):
    """The subcommands, each declared when it is parsed: its module is imported only then.

    Until then a command is an empty placeholder parser (its name and help line are all that
    ``agmc --help`` needs); :meth:`load` replaces it with the parser the module's ``add_parser`` builds.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: set[str] = set()

    def add_placeholder(self, name: str, help: str) -> None:
        super().add_parser(name, help=help)
        self._pending.add(name)

    def add_parser(self, name: str, **kwargs: Any) -> argparse.ArgumentParser:
        if name in COMMANDS:
            kwargs.pop("help", None)  # the module's own parser: listed once already, with COMMANDS' line
        return super().add_parser(name, **kwargs)

    def load(self, name: str) -> argparse.ArgumentParser:
        """The parser of command ``name``, built (its module imported) on first use."""
        if name in self._pending:
            self._pending.discard(name)
            del self._name_parser_map[name]  # the module's add_parser registers the real one under the name
            importlib.import_module(f"agmc_cli.{name}").add_parser(self)
            self._name_parser_map[name].add_argument(  # every command may need a data file
                "--offline", action="store_true",
                help=f"never use the network: a missing data file is an error saying where to put it (as {OFFLINE_ENV_VAR}=1)",
            )  # fmt: skip
        return self._name_parser_map[name]

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any, option_string: str | None = None) -> None:  # fmt: skip
        self.load(values[0])  # argparse has checked that it names a command
        super().__call__(parser, namespace, values, option_string)


def build_parser(load: Iterable[str] = ()) -> argparse.ArgumentParser:
    """The ``agmc`` parser; a command's flags are declared when it is parsed.

    Args:
        load: commands whose flags are declared now (e.g. :data:`COMMANDS`, to inspect them).
    """
    parser = argparse.ArgumentParser(
        prog="agmc",
        description="Automated model compression with reinforcement learning (AGMC).",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True, action=_Commands)
    for name, help in COMMANDS.items():
        commands.add_placeholder(name, help)
    for name in load:
        commands.load(name)
    return parser


# Warnings a dependency raises on every run, about its own code, never about the user's command:
# (message regex, category, regex of the module the warning is attributed to). Each is matched
# exactly, so any other warning (a real one) still shows.
KNOWN_WARNINGS: tuple[tuple[str, type[Warning], str], ...] = (
    # PyTorch Geometric scripts its pooling helpers with torch.jit.script when imported
    # (torch_geometric/nn/pool/select/base.py, PyG 2.8), which recent torch (2.14 here) deprecates.
    (r"`torch\.jit\.script` is deprecated", FutureWarning, r"torch\.jit\._script$"),
)


def quiet_known_warnings() -> None:
    """Ignore the :data:`KNOWN_WARNINGS` of dependencies (idempotent: ``warnings`` keeps one copy of a filter)."""
    for message, category, module in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category, module=module)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``agmc`` console script."""
    quiet_known_warnings()
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
