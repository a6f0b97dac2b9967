"""Which data files are where (what ``agmc data`` shows), and importing files a user brought.

:func:`status` reports, for every file of :data:`agmc_env.data.sources.SOURCES`, where it was found
(or where a download or import would put it), its size, and optionally whether it verifies.
:func:`import_files` verifies and copies files from a folder (an air-gapped machine's USB stick, a
colleague's copy) into the user cache: the weights files, ``cifar10/{train,test}.npz``, torchvision's
``cifar-10-batches-py/`` folder or the original ``cifar-10-python.tar.gz`` archive.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agmc_env.atomic import atomic_write
from agmc_env.data.cifar_arrays import read_batches_arrays, write_npz
from agmc_env.data.fetch import (
    CIFAR_ARCHIVE, CIFAR_FOLDER, all_files, candidates, find, split_of, verify, verify_arrays, write_cifar_arrays,
)  # fmt: skip
from agmc_env.data.sources import SOURCES, DataFile, Source
from agmc_env.errors import CorruptFileError, MissingFileError
from agmc_env.paths import cache_data_dir, mirror_url


@dataclass(frozen=True)
class FileStatus:
    """Where one data file is.

    Attributes:
        name: its source (``"cifar10"``, ``"resnet20"``, ...).
        path: relative to a data root.
        found: whether some data root holds it.
        location: where it was found, else where a download or an import would put it.
        origin: the root it was found in (``"data_dir"``, ``"AGMC_DATA"``, ``"checkout"``, ``"cache"``).
        size: bytes on disk (a ``cifar-10-batches-py`` folder: its files together).
        verified: the checksum result, ``None`` when not checked (or not found).
        problem: what did not verify.
        url: where a download would come from (``AGMC_MIRROR`` applied).
    """

    name: str
    path: str
    found: bool
    location: Path
    origin: str | None
    size: int | None
    verified: bool | None
    problem: str | None
    url: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return {**self.__dict__, "location": str(self.location)}


def _size(path: Path) -> int:
    if path.is_dir():
        return sum(p.stat().st_size for p in path.iterdir() if p.is_file())
    return path.stat().st_size


def status(data_dir: str | os.PathLike | None = None, check: bool = False) -> list[FileStatus]:
    """Where every data file is; with ``check``, whether each one found verifies (reads every file)."""
    rows = []
    for source, data_file in all_files():
        found = find(data_file.path, data_dir)
        verified = problem = None
        if found is not None and check:
            problem = verify(found[0], data_file)
            verified = problem is None
        base = Path(data_dir).expanduser() if data_dir is not None else cache_data_dir()
        rows.append(FileStatus(
            name=source.name, path=data_file.path, found=found is not None,
            location=found[0] if found else base / data_file.path, origin=found[1].origin if found else None,
            size=_size(found[0]) if found else None, verified=verified, problem=problem, url=mirror_url(source.url),
        ))  # fmt: skip
    return rows


@dataclass(frozen=True)
class ImportRecord:
    """What became of one data file in :func:`import_files`.

    Attributes:
        path: the data file, relative to a data root.
        outcome: ``"imported"``, ``"rejected"`` (it failed its checksum; nothing was written) or
            ``"absent"`` (the folder does not hold it).
        source_path: the file or folder it was read from (``None`` when absent).
        detail: where it went, or what did not verify.
    """

    path: str
    outcome: str
    source_path: Path | None = None
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe fields."""
        return {**self.__dict__, "source_path": None if self.source_path is None else str(self.source_path)}


class _Rejected(Exception):
    pass


def _copy_verified(src: Path, data_file: DataFile, dst: Path) -> None:
    """Copy ``src`` to ``dst`` atomically, checking the copy itself: a bad file never lands."""

    def write(tmp: Path) -> None:
        if src.is_dir():  # a cifar-10-batches-py folder: converted to the project's arrays
            x, y = read_batches_arrays(src, split_of(data_file))
            if problem := verify_arrays({"x": x, "y": y}, data_file):
                raise _Rejected(problem)
            write_npz(tmp, x, y)
            return
        shutil.copyfile(src, tmp)
        if problem := verify(tmp, data_file):
            raise _Rejected(problem)

    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        atomic_write(dst, write)
    except CorruptFileError as error:
        raise _Rejected(str(error)) from error


def _import_archive(archive: Path, source: Source, target: Path) -> list[ImportRecord]:
    from torchvision.datasets.utils import calculate_md5, extract_archive

    got = calculate_md5(archive)
    if got != source.md5:
        detail = f"md5 {got}, expected {source.md5}"
        return [ImportRecord(f.path, "rejected", archive, detail) for f in source.files]
    staging = Path(tempfile.mkdtemp(prefix=".import-cifar10-", dir=target))
    try:
        extract_archive(archive, staging)
        paths = write_cifar_arrays(
            source, lambda split: read_batches_arrays(staging / CIFAR_FOLDER, split), target, str(archive)
        )
    except CorruptFileError as error:
        return [ImportRecord(f.path, "rejected", archive, str(error)) for f in source.files]
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [ImportRecord(f.path, "imported", archive, str(p)) for f, p in zip(source.files, paths)]


def import_files(folder: str | os.PathLike) -> list[ImportRecord]:
    """Verify the data files in ``folder`` and copy those that pass into the user cache.

    A file is looked for at its data-root path under ``folder`` (``pretrained/resnet20-12fca82f.th``)
    and by its bare name (``resnet20-12fca82f.th``); CIFAR-10 also as ``cifar-10-batches-py/`` or as
    the original ``cifar-10-python.tar.gz`` (md5-checked, converted once).

    Raises:
        MissingFileError: ``folder`` is not a directory.
    """
    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise MissingFileError(f"--import: {folder} is not a directory", path=folder)
    target = cache_data_dir()
    target.mkdir(parents=True, exist_ok=True)
    records: list[ImportRecord] = []
    for source in SOURCES.values():
        pending = []
        for data_file in source.files:
            options = [*candidates(folder, data_file.path), folder / Path(data_file.path).name]
            src = next((p for p in options if p.exists() and not (p.is_dir() and p.name != CIFAR_FOLDER)), None)
            if src is None:
                pending.append(data_file)
                continue
            dst = target / data_file.path
            try:
                _copy_verified(src, data_file, dst)
                records.append(ImportRecord(data_file.path, "imported", src, str(dst)))
            except _Rejected as rejected:
                records.append(ImportRecord(data_file.path, "rejected", src, str(rejected)))
        archives = [folder / CIFAR_ARCHIVE, folder / "cifar10" / CIFAR_ARCHIVE]
        archive = next((a for a in archives if a.is_file()), None) if source.md5 else None
        if pending and archive is not None:
            records += [r for r in _import_archive(archive, source, target) if r.path in {f.path for f in pending}]
        else:
            records += [ImportRecord(f.path, "absent") for f in pending]
    return records
