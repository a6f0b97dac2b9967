"""One writer per output folder: ``DIR/search.lock`` while a search runs, ``DIR/finetune.lock``
while a fine-tune runs, held with ``flock``.

The operating system releases a ``flock`` when its process ends, however it ends (``kill -9``
included), so a crashed job never leaves the folder locked: the next one finds the stale file
unlocked and takes it. A job that ends normally also deletes the file.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path

from agmc_env.errors import FolderInUseError


class FolderLock:
    """An exclusive, non-blocking lock on ``directory`` for the life of a ``with`` block.

    Args:
        directory: the folder to lock (it must exist); the lock file goes inside it.
        job: what holds the lock, for the lock file's name (``<job>.lock``) and the error message.

    Raises:
        FolderInUseError: another process holds the lock (names the lock file and that process).
    """

    def __init__(self, directory: str | os.PathLike, job: str = "search") -> None:
        self.path = Path(directory) / f"{job}.lock"
        self.job = job
        self._fd: int | None = None

    def acquire(self) -> None:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise FolderInUseError(
                    f"{self.path.parent} is in use by another {self.job} (process {holder} holds {self.path}); "
                    "wait for it to finish, or choose another --out",
                    path=self.path,
                ) from None
            # The holder before us may have deleted the file between our open and our lock: then we
            # locked a file nobody else can see, and must lock the one now at the path instead.
            try:
                same = os.stat(self.path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                break
            os.close(fd)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())  # for the message another job shows
        self._fd = fd

    def release(self) -> None:
        if self._fd is None:
            return
        # Delete while still holding the lock (see acquire), then let go.
        self.path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
