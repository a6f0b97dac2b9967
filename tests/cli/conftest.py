"""The ``agmc`` command line as a fixture: ``agmc(*argv) -> exit code``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import agmc_cli


@pytest.fixture
def agmc() -> Callable[..., int]:
    """``agmc(*argv) -> exit code``, argparse's own usage errors included."""

    def run(*argv: str) -> int:
        try:
            return agmc_cli.main(list(argv))
        except SystemExit as exit_:  # argparse's own usage errors
            return int(exit_.code)

    return run
