"""Helpers shared by the agent tests: a tiny search setting and the ``agmc`` CLI with our commands."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import agents.cli

OUR_COMMANDS = ("search", "finetune", "export")


@pytest.fixture
def agmc(monkeypatch: pytest.MonkeyPatch) -> Callable[..., int]:
    """``agmc(*argv) -> exit code``, with search/finetune/export registered even before the lead adds them."""
    commands = tuple(agents.cli.COMMANDS) + tuple(c for c in OUR_COMMANDS if c not in agents.cli.COMMANDS)
    monkeypatch.setattr(agents.cli, "COMMANDS", commands)

    def run(*argv: str) -> int:
        try:
            return agents.cli.main(list(argv))
        except SystemExit as exit_:  # argparse's own usage errors
            return int(exit_.code)

    return run
