"""``DIR/best/``: the best pruned model so far and its policy, kept consistent with the checkpoint.

A new best is written to ``best.tmp/`` and swapped in by renames. The best the last checkpoint
knows is parked in ``best.prev/`` until the next checkpoint commits, so a search killed in between
can fall back to it: on resume, a ``best/`` from an episode the checkpoint does not cover is
dropped and ``best.prev/`` restored.
"""

from __future__ import annotations

import json
import os
import shutil
import warnings
from pathlib import Path
from typing import Any

import gymnasium as gym

from agmc_env.atomic import atomic_write_json
from agmc_env.errors import DataError
from agmc_env.pruning import read_pruned_files

POLICY_FILE = "policy.json"


def _read_policy(directory: Path) -> dict[str, Any] | None:
    """``policy.json`` of ``directory``; ``None`` (with a warning when the file is there) if unreadable."""
    path = directory / POLICY_FILE
    try:
        policy = json.loads(path.read_text())
        if not isinstance(policy, dict):
            raise ValueError(f"a JSON {type(policy).__name__}, not an object")
        return policy
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError) as error:
        # Not fatal: the episode log has every policy, and the search rebuilds best/ from it.
        message = f"ignoring unreadable {path} ({error}); the best model is rebuilt from the episode log"
        warnings.warn(message, RuntimeWarning, stacklevel=2)
        return None


class BestModel:
    """Saves the best episode's pruned model (``env.unwrapped.save_pruned``) and ``policy.json``.

    Args:
        out: the search directory; the model goes to ``out/best``.
    """

    def __init__(self, out: str | os.PathLike) -> None:
        self.path = Path(out) / "best"
        self._tmp = self.path.with_name("best.tmp")
        self._prev = self.path.with_name("best.prev")

    def save(self, env: gym.Env, policy: dict[str, Any]) -> None:
        """Write the episode that just ended in ``env`` as the new best."""
        shutil.rmtree(self._tmp, ignore_errors=True)
        env.unwrapped.save_pruned(self._tmp)
        atomic_write_json(self._tmp / POLICY_FILE, policy)
        if self.path.exists():
            if self._prev.exists():  # best.prev already holds the checkpointed best
                shutil.rmtree(self.path)
            else:
                os.replace(self.path, self._prev)
        os.replace(self._tmp, self.path)

    def policy(self) -> dict[str, Any] | None:
        """The policy of the model in ``best/`` (``None`` when there is none)."""
        return _read_policy(self.path) if self.path.exists() else None

    def discard_partial(self) -> None:
        """Remove a ``best.tmp/`` left by a save that did not finish (an error or Ctrl-C in it)."""
        shutil.rmtree(self._tmp, ignore_errors=True)

    def commit(self) -> None:
        """The checkpoint now covers ``best/``: forget the previous one."""
        shutil.rmtree(self._prev, ignore_errors=True)

    def recover(self, episodes_done: int) -> dict[str, Any] | None:
        """After a restart: keep the best of the first ``episodes_done`` episodes; return its policy.

        A ``best/`` whose files are damaged is dropped with a warning (the search saves the best
        again from the episode log).
        """
        shutil.rmtree(self._tmp, ignore_errors=True)
        policy = _read_policy(self.path) if self.path.exists() else None
        if policy is not None:
            try:
                read_pruned_files(self.path)
            except DataError as error:
                message = f"ignoring {self.path}: {error}; the best model is rebuilt from the episode log"
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                policy = None
        if policy is None or policy.get("episode", episodes_done) >= episodes_done:
            shutil.rmtree(self.path, ignore_errors=True)
            if self._prev.exists():
                os.replace(self._prev, self.path)
            policy = _read_policy(self.path) if self.path.exists() else None
        self.commit()
        return policy
