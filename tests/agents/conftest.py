"""Helpers shared by the agent tests: a tiny search setting and the ``agmc`` CLI with our commands."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import agents.cli


@pytest.fixture
def agmc() -> Callable[..., int]:
    """``agmc(*argv) -> exit code``, argparse's own usage errors included."""

    def run(*argv: str) -> int:
        try:
            return agents.cli.main(list(argv))
        except SystemExit as exit_:  # argparse's own usage errors
            return int(exit_.code)

    return run
