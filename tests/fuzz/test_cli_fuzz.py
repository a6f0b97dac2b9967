"""Fuzzing the ``agmc`` command line: argument vectors for every subcommand, run in-process.

Each case starts from a cheap valid command line of a subcommand (or from nothing, for a command
this file does not know yet: the subcommands and their flags are read from the parser, so a new
one is fuzzed too) and changes one to three things: a flag set to a hostile text, a required flag
dropped, an unknown flag or a stray word added. Property: exit 0 (inside the time limit), 2 for
bad usage with a message naming a flag, 1 for any other failure with one ``agmc <command>: error:``
line; never a traceback (an exception out of ``agmc_cli.main``), never a hang.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import re
import shutil
from pathlib import Path

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import agmc_cli
from agmc_env.errors import AgmcError
from tests.fuzz.harness import Tally, examples, time_limit
from tests.fuzz.strategies import WORK_FLAGS, flag_texts
from tests.pruned_folder import save_random_pruned_resnet20

# Cheap valid command lines: a second or two each, no file but the shipped data (evaluate).
BASES = {
    "search": [
        "--agent", "uniform", "--episodes", "1", "--dataset", "synthetic", "--no-pretrained", "--val-size", "16",
        "--device", "cpu", "--no-progress", "--out", "{tmp}/run",
    ],
    # One trial on an embedded Ray (or a one-line error where Ray is not installed).
    "sweep": [
        "--agents", "uniform", "--episodes", "1", "--dataset", "synthetic", "--no-pretrained", "--val-size", "16",
        "--rescore-top", "0", "--no-progress", "--out", "{tmp}/sweep",
    ],
    "evaluate": ["--model", "resnet20", "--size", "8", "--device", "cpu"],
    "graph": ["--model", "resnet20", "--epochs", "1", "--no-cache"],
    "finetune": [
        "--pruned", "{pruned}", "--epochs", "1", "--train-size", "16", "--report-size", "8", "--test-size", "8",
        "--batch-size", "8", "--device", "cpu", "--no-progress", "--out", "{tmp}/tuned",
    ],
    "export": ["--pruned", "{pruned}", "--onnx", "{tmp}/model.onnx"],
}  # fmt: skip
# What a usage error names: "argument --x:", "--x must ...", "required: --x", "unrecognized
# arguments: <word>", "argument COMMAND: invalid choice".
NAMES_A_FLAG = re.compile(r"argument \S+|unrecognized arguments: \S+|required: \S+|--[\w-]+")


def _subparsers() -> dict[str, argparse.ArgumentParser]:
    parser = agmc_cli.build_parser(load=agmc_cli.COMMANDS)
    (commands,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return dict(commands.choices)


COMMANDS = _subparsers()


def _flags(command: str) -> dict[str, argparse.Action]:
    """The long flags of ``command`` and their actions (``--help`` left out)."""
    flags = {}
    for action in COMMANDS[command]._actions:
        for option in action.option_strings:
            if option.startswith("--") and option != "--help":
                flags[option] = action
    return flags


def _arity(action: argparse.Action | None) -> int:
    """How many words follow the flag."""
    if action is None or action.nargs == 0:
        return 0
    return action.nargs if isinstance(action.nargs, int) else 1


# Values a flag may accept: each case draws valid values too, so that runs get past the parser.
_CANDIDATES = ["0", "1", "2", "3", "0.5", "0.25", "0.001", "17", "cpu", "fp32", "auto", "resnet20", "{tmp}/fresh"]


def _valid_texts(flag: str, action: argparse.Action) -> list[str]:
    """Texts ``flag`` accepts among a few candidates (small ones only for the work-size flags)."""
    if action.choices:
        return [str(choice) for choice in action.choices]
    valid = []
    for text in _CANDIDATES:
        if flag in WORK_FLAGS and text not in ("1", "2", "3"):
            continue
        try:
            (action.type or str)(text)
        except (argparse.ArgumentTypeError, ValueError, TypeError):
            continue
        valid.append(text)
    return valid


def _texts(flag: str, action: argparse.Action) -> st.SearchStrategy[str]:
    valid = _valid_texts(flag, action)
    return st.one_of(flag_texts(flag), st.sampled_from(valid)) if valid else flag_texts(flag)


def _set(argv: list[str], flag: str, arity: int, values: list[str]) -> list[str]:
    """``argv`` with ``flag`` (and its ``arity`` values) moved to the end with ``values``."""
    if flag in argv:
        index = argv.index(flag)
        argv = argv[:index] + argv[index + 1 + arity :]
    return [*argv, flag, *values]


@st.composite
def command_lines(draw: st.DrawFn) -> list[str]:
    """A subcommand's cheap base command line with one to three hostile changes."""
    command = draw(st.sampled_from([*sorted(COMMANDS), "", "bogus"]), label="command")
    if command not in COMMANDS:  # no subcommand, or an unknown one: argparse's usage error
        return [command] if command else []
    argv = list(BASES.get(command, []))
    flags = _flags(command)
    for _ in range(draw(st.integers(1, 3))):
        change = draw(st.sampled_from(["set", "set", "set", "drop", "unknown", "stray"]))
        if change == "set":
            flag = draw(st.sampled_from(sorted(flags)))
            arity = _arity(flags[flag])
            argv = _set(argv, flag, arity, [draw(_texts(flag, flags[flag]), label=flag) for _ in range(arity)])
        elif change == "drop":
            droppable = [t for t in argv if t in flags and t not in WORK_FLAGS]
            if droppable:
                flag = draw(st.sampled_from(droppable))
                index = argv.index(flag)
                argv = argv[:index] + argv[index + 1 + _arity(flags[flag]) :]
        elif change == "unknown":
            argv.append(draw(st.sampled_from(["--bogus", "--e", "--out=", "-x", "--val_size", "--episodes=="])))
        else:
            argv.append(draw(st.sampled_from(["extra", "-", "--", "1"])))
    return [command, *argv]


def _run(argv: list[str]) -> tuple[int, str, str]:
    """``agmc argv`` in this process: (exit code, stdout, stderr). Any exception but SystemExit escapes."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = agmc_cli.main(argv)
        except SystemExit as exit_:  # argparse's usage errors, --help, --version
            code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    return code, out.getvalue(), err.getvalue()


def _error_line(err: str) -> str:
    """The one line that says what went wrong (after argparse's usage lines)."""
    lines = [line for line in err.split("\n") if "error:" in line]
    assert len(lines) == 1, f"expected one error line: {err}"
    return lines[0]


def _check_outcome(argv: list[str], code: int, err: str) -> str:
    """Assert the contract for one finished case; return its class for the tally."""
    assert "Traceback" not in err, err
    assert code in (0, 1, 2), (code, err)
    if code == 0:
        return "exit 0"
    assert "error:" in err or "ONNX outputs differ" in err, err
    if code == 2:
        assert NAMES_A_FLAG.search(_error_line(err)), f"usage error names no flag: {err}"
        return "exit 2 (argparse)" if err.startswith("usage:") else "exit 2 (checked)"
    errors = [line for line in err.splitlines() if line.startswith("agmc") and "error:" in line]
    assert len(errors) <= 1, err
    return "exit 1"


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A pruned model folder (random ResNet-20, synthetic images) for finetune and export."""
    folder = tmp_path_factory.mktemp("pruned") / "best"
    save_random_pruned_resnet20(folder)
    return folder


@contextlib.contextmanager
def _case(tmp_path_factory: pytest.TempPathFactory, pruned: Path, argv: list[str]):
    """A fresh folder for the case (the working directory while it runs) and its argv filled in."""
    tmp = tmp_path_factory.mktemp("case")
    (tmp / "a_file").write_text("not a folder")
    (tmp / "a_folder").mkdir()
    (tmp / "a_folder" / "kept.txt").write_text("someone's file")
    shutil.copytree(pruned, tmp / "pruned")  # a case may write into it (--out {pruned} --force)
    filled = [token.replace("{tmp}", str(tmp)).replace("{pruned}", str(tmp / "pruned")) for token in argv]
    threads = torch.get_num_threads()
    try:
        with contextlib.chdir(tmp):  # relative outputs land in the case's folder
            yield filled
    finally:
        torch.set_num_threads(threads)  # --threads sets the process-wide count
        shutil.rmtree(tmp, ignore_errors=True)


@settings(max_examples=examples(60))
@given(argv=command_lines())
def test_every_command_line_parses_or_is_refused_naming_a_flag(argv, tmp_path_factory, pruned, tally: Tally) -> None:
    # Parsing and the pre-run checks alone: many cases, each in milliseconds.
    with _case(tmp_path_factory, pruned, argv) as filled, tally.case("cli parse") as outcome, time_limit(10):
        err = io.StringIO()
        try:
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                args = agmc_cli.build_parser().parse_args(filled)
                if getattr(args, "check", None) is not None:
                    args.check(args)
        except SystemExit as exit_:
            assert exit_.code in (0, 2)
            if exit_.code == 2:
                assert NAMES_A_FLAG.search(_error_line(err.getvalue())), err.getvalue()
            outcome[f"exit {exit_.code} (argparse)"] += 1
            return
        except AgmcError as error:  # the check hook: an output folder it must not write into
            assert error.exit_code == 2 and str(error).startswith("argument --"), error
            outcome["exit 2 (checked)"] += 1
            return
        outcome["parsed"] += 1


@settings(max_examples=examples(20))
@given(argv=command_lines())
def test_every_command_line_runs_or_fails_cleanly(argv, tmp_path_factory, pruned, tally: Tally) -> None:
    with _case(tmp_path_factory, pruned, argv) as filled, tally.case("cli run") as outcome, time_limit():
        code, _, err = _run(filled)
        outcome[_check_outcome(filled, code, err)] += 1
