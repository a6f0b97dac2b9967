"""Checkpoints of a search, written after every completed episode and safe against ``kill -9``.

Layout under ``DIR/checkpoint/``: the agent's files, each named after the episode count it belongs
to (``agent-000012.zip``, ``replay_buffer-000012.pkl``, ``rng-000012.pkl``...), written atomically;
then ``state.json``, also atomic, which names them: writing it is the commit. Files of older counts
are deleted only after the commit, so the files ``state.json`` names always exist.
"""

from __future__ import annotations

import json
import os
import pickle
import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agmc_env.atomic import atomic_write, atomic_write_json
from agmc_env.errors import AgmcError, CorruptFileError, reason

STATE_FILE = "state.json"
# What to do about a damaged checkpoint: the search cannot continue from it.
START_OVER = "start the search over: re-run without --resume, with --force"


def capture_rng() -> dict[str, Any]:
    """The global random states of Python, NumPy and torch (CUDA too when present)."""
    state: dict[str, Any] = {
        "python": random.getstate(),
        "numpy": np.random.get_state(),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Undo :func:`capture_rng`."""
    random.setstate(state["python"])
    np.random.set_state(state["numpy"])
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


class Checkpoint:
    """Reads and writes ``DIR/checkpoint``.

    Args:
        directory: the checkpoint folder (created when missing).
    """

    def __init__(self, directory: str | os.PathLike) -> None:
        self.directory = Path(directory)

    def exists(self) -> bool:
        return (self.directory / STATE_FILE).is_file()

    def file(self, name: str, episodes: int, suffix: str) -> Path:
        """The path of ``name`` for the checkpoint after ``episodes`` episodes."""
        return self.directory / f"{name}-{episodes:06d}{suffix}"

    def write_file(self, path: Path, write: Callable[[Path], Any]) -> str:
        """Atomically produce ``path`` with ``write(tmp_path)``; returns its name for ``state.json``."""
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write(path, write)
        return path.name

    def write_pickle(self, name: str, episodes: int, obj: Any) -> str:
        def write(tmp: Path) -> None:
            with open(tmp, "wb") as handle:
                pickle.dump(obj, handle)

        return self.write_file(self.file(name, episodes, ".pkl"), write)

    def commit(self, state: dict[str, Any]) -> None:
        """Write ``state.json`` (it must hold ``episodes`` and ``files``), then drop stale files."""
        self.directory.mkdir(parents=True, exist_ok=True)
        atomic_write_json(self.directory / STATE_FILE, state)
        keep = set(state["files"].values()) | {STATE_FILE}
        for path in self.directory.iterdir():
            if path.name not in keep:  # older counts and temporaries of a killed writer
                path.unlink()

    def read(self) -> dict[str, Any]:
        """The committed ``state.json``, with its files checked.

        Raises:
            CorruptFileError: ``state.json`` is unreadable or names a file that is missing.
        """
        path = self.directory / STATE_FILE
        try:
            state = json.loads(path.read_text())
            episodes, files = state["episodes"], state["files"]
            if not isinstance(episodes, int) or episodes < 0 or not isinstance(files, dict):
                raise ValueError(f"episodes {episodes!r}, files {files!r}")
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
            problem = f"missing key {error}" if isinstance(error, KeyError) else str(error)
            raise CorruptFileError(f"{path} is not a readable search checkpoint ({problem}); {START_OVER}", path) from None
        for name in files.values():
            if not (self.directory / name).is_file():
                raise CorruptFileError(f"{path} names {name}, which is missing from {self.directory}; {START_OVER}", path)
        return state

    def path(self, state: dict[str, Any], key: str) -> Path:
        return self.directory / state["files"][key]

    def read_file(self, state: dict[str, Any], key: str, read: Callable[[Path], Any]) -> Any:
        """``read(path)`` of the checkpoint's ``key`` file; any failure of it is a :class:`CorruptFileError`."""
        path = self.path(state, key)
        try:
            return read(path)
        except AgmcError:
            raise
        except Exception as error:  # pickle, zipfile and SB3 raise many types for a damaged file
            message = f"{path}: the search checkpoint's {key} file cannot be read ({reason(error)}); {START_OVER}"
            raise CorruptFileError(message, path) from error

    def read_pickle(self, state: dict[str, Any], key: str) -> Any:
        def read(path: Path) -> Any:
            with open(path, "rb") as handle:
                return pickle.load(handle)  # our own file, written by write_pickle

        return self.read_file(state, key, read)
