"""``episodes.jsonl``: one JSON line per finished episode, flushed as soon as it is written.

On resume the log is cut back to the episodes the last checkpoint covers, so an episode that ended
after the checkpoint (and will run again) is neither lost nor logged twice.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from agmc_env.atomic import atomic_write_text
from agmc_env.errors import CorruptFileError


def read_episodes(path: str | os.PathLike) -> list[dict[str, Any]]:
    """The complete lines of an episode log (a torn last line, from a kill mid-write, is skipped)."""
    path = Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text(errors="replace").splitlines(keepends=True):  # garbage ends the records
        if not line.endswith("\n"):
            break
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return records


class EpisodeLog:
    """Append-only episode log that keeps exactly ``count`` records of a resumed search.

    Args:
        path: the ``episodes.jsonl`` file.
        keep: records to keep from an existing file (the checkpoint's episode count); ``0`` starts
            a new log. (default: ``0``)

    Raises:
        CorruptFileError: the file holds fewer than ``keep`` complete records (it lost lines the
            checkpoint covers; a torn line after them is only dropped).
    """

    def __init__(self, path: str | os.PathLike, keep: int = 0) -> None:
        self.path = Path(path)
        records = read_episodes(self.path)[:keep] if keep else []
        if len(records) < keep:
            raise CorruptFileError(
                f"{self.path} holds {len(records)} complete episodes but the search's checkpoint covers {keep}: "
                "the log lost lines it had written; start the search over: re-run without --resume, with --force",
                self.path,
            )
        atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in records))
        self.records = records
        self._handle = open(self.path, "a")

    def append(self, record: dict[str, Any]) -> None:
        self._handle.write(json.dumps(record) + "\n")
        self._handle.flush()
        os.fsync(self._handle.fileno())
        self.records.append(record)

    def __len__(self) -> int:
        return len(self.records)

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.close()
