"""Find a data file, else download it into the user cache, verified; check what is where.

:func:`locate` is the one resolution order for every data set and weights file: the data roots of
:func:`agmc_env.paths.data_roots` (``data_dir``, ``AGMC_DATA``, ``../shared/data`` next to a source
checkout, the user cache), then a download into the user cache, unless offline (``AGMC_OFFLINE=1``)
or ``data_dir`` was given. Downloads use the libraries made for them: torchvision's
``download_and_extract_archive`` (md5-checked) for the CIFAR-10 archive, converted once to the
project's ``.npz`` arrays, and ``torch.hub.download_url_to_file`` (sha256-checked) for weights.
Nothing half-written is ever left under a data root: a failed check, a dropped connection or Ctrl-C
leaves the cache as it was.

Example:
    >>> from agmc_env.data.fetch import locate
    >>> locate("pretrained/resnet20-12fca82f.th")  # found, or downloaded into ~/.cache/agmc-env/data
"""

from __future__ import annotations

import hashlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.client import HTTPException
from pathlib import Path
from urllib.error import HTTPError, URLError

import numpy as np

from agmc_env.atomic import atomic_write
from agmc_env.data.cifar_arrays import BATCH_FILES, array_sha256, read_batches_arrays, read_npz_arrays, write_npz
from agmc_env.data.sources import SOURCES, DataFile, Source, get_source, source_of
from agmc_env.errors import CorruptFileError
from agmc_env.paths import (
    DATA_ENV_VAR, MIRROR_ENV_VAR, OFFLINE_ENV_VAR, DataNotFoundError, DataRoot, cache_data_dir, data_roots,
    looked_at_text, mirror_url, offline,
)  # fmt: skip

# Seconds a connection or a read may stall: without a network the first request fails at once
# (no name resolution) or after this, never hangs.
DOWNLOAD_TIMEOUT_S = 10.0
CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR_FOLDER = "cifar-10-batches-py"


def split_of(data_file: DataFile) -> str:
    return Path(data_file.path).stem  # "cifar10/train.npz" -> "train"


def candidates(root: Path, relative: str) -> list[Path]:
    """The paths under ``root`` that can hold the data file ``relative``: the file itself, and for
    CIFAR-10 also torchvision's ``cifar-10-batches-py`` folder (at the root or under ``cifar10/``)."""
    paths = [root / relative]
    if relative.startswith("cifar10/") and relative.endswith(".npz"):
        paths += [root / CIFAR_FOLDER, root / "cifar10" / CIFAR_FOLDER]
    return paths


def _present(path: Path, relative: str) -> bool:
    if path.name == CIFAR_FOLDER:  # a batches folder counts when it holds the split's batch files
        return all((path / name).is_file() for name in BATCH_FILES[Path(relative).stem])
    return path.exists()


def find(relative: str, data_dir: str | os.PathLike | None = None) -> tuple[Path, DataRoot] | None:
    """Where the data file ``relative`` is, and in which root; ``None`` when in none. No network."""
    for root in data_roots(data_dir):
        for path in candidates(root.path, relative):
            if _present(path, relative):
                return path, root
    return None


def _not_found(relative: str, data_dir: str | os.PathLike | None, reason: str, title: str = "") -> DataNotFoundError:
    """The error for a file that is nowhere: every place looked at, why nothing was downloaded, and
    the two ways out (put it there, or point ``AGMC_DATA`` at it)."""
    roots = data_roots(data_dir)
    looked_at = [path for root in roots for path in candidates(root.path, relative)]
    what = f"'{relative}'" + (f" ({title})" if title else "")
    if data_dir is not None:
        ways_out = (
            f"Either put the file at {roots[0].path / relative}, or leave out data_dir (--data-dir) and set "
            f"{DATA_ENV_VAR} to a folder that holds {relative}."
        )
    else:
        ways_out = (
            f"Either put the file at {cache_data_dir() / relative} (`agmc data --import DIR` verifies and "
            f"copies it there), or set {DATA_ENV_VAR} to a folder that holds {relative}."
        )
    return DataNotFoundError(
        f"could not find {what}. Looked at:\n  {looked_at_text(looked_at)}\n{reason}\n{ways_out}", path=looked_at[0]
    )


def locate(relative: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The path of the data file ``relative`` (e.g. ``"pretrained/resnet20-12fca82f.th"``), downloaded
    into the user cache when it is in no data root (see the module docstring).

    For ``cifar10/<split>.npz`` the path may be a ``cifar-10-batches-py`` folder a user put there.

    Raises:
        DataNotFoundError: nowhere and not downloaded (offline, ``data_dir`` given, no network); the
            message lists every place looked at, the URL and what to do.
        CorruptFileError: the download did not pass its checksum (nothing was kept).
    """
    found = find(relative, data_dir)
    if found is not None:
        return found[0]
    known = source_of(relative)
    if known is None:
        raise _not_found(relative, data_dir, "agmc-env knows no download for it.")
    source, _ = known
    if data_dir is not None:
        raise _not_found(
            relative, data_dir,
            f"Not downloaded: an explicit data_dir is the only place looked at (without it, {DATA_ENV_VAR}, "
            f"the cache and a download from {mirror_url(source.url)} are tried).",
            source.title,
        )  # fmt: skip
    download(source.name, relative)
    return cache_data_dir() / relative


@contextmanager
def _socket_timeout(seconds: float) -> Iterator[None]:
    # urllib (under torchvision and torch.hub) waits forever by default; its sockets take this default.
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


def download(name: str, wanted: str | None = None) -> list[Path]:
    """Download the source ``name`` (a key of :data:`~agmc_env.data.sources.SOURCES`) into the user
    cache, verify it and return the paths of its data files there. Progress goes to stderr.

    Args:
        name: the source.
        wanted: the data file an error should name (default: the source's first).

    Raises:
        ConfigError: unknown name.
        DataNotFoundError: offline, or the download failed (names the URL and the ways out).
        CorruptFileError: the download failed its checksum; nothing was kept.
    """
    source = get_source(name)
    first = wanted or source.files[0].path
    url = mirror_url(source.url)
    if offline():
        reason = f"Not downloaded: offline ({OFFLINE_ENV_VAR}=1 or --offline); it comes from {url}."
        raise _not_found(first, None, reason, source.title)
    target = cache_data_dir()
    print(f"downloading {source.title} ({source.size / 2**20:.1f} MiB) from {url} into {target}", file=sys.stderr)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with _socket_timeout(DOWNLOAD_TIMEOUT_S):
            if source.md5 is not None:
                return _download_cifar10(source, url, target)
            return [_download_weights(source, url, target)]
    except (URLError, HTTPException, OSError) as error:  # no network, HTTP error, dropped connection
        unreachable = not isinstance(error, HTTPError) and not os.environ.get(MIRROR_ENV_VAR)
        hint = f" (behind a firewall? set {MIRROR_ENV_VAR}=<base URL of a mirror>)" if unreachable else ""
        raise _not_found(first, None, f"Downloading {url} failed: {error}{hint}.", source.title) from error


def _download_weights(source: Source, url: str, target: Path) -> Path:
    import torch.hub  # the weights' download only

    path = target / source.files[0].path
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # torch.hub writes to a temporary file beside `path` and moves it in only once the sha256
        # matches (the full digest serves as the "prefix"); it deletes the temporary file otherwise.
        torch.hub.download_url_to_file(url, os.fspath(path), hash_prefix=source.sha256, progress=True)
    except RuntimeError as error:  # torch.hub's "invalid hash value (expected ..., got ...)"
        raise CorruptFileError(
            f"{url} failed its sha256 check (a dropped connection, or another file), so nothing was kept: {error}",
            path=path,
        ) from error
    return path


def _download_cifar10(source: Source, url: str, target: Path) -> list[Path]:
    from torchvision.datasets.utils import calculate_md5, download_and_extract_archive

    # A private staging folder inside the cache, removed whatever happens: the archive and its
    # extracted batches never stay, and only verified arrays are written (atomically) beside it.
    staging = Path(tempfile.mkdtemp(prefix=".download-cifar10-", dir=target))
    try:
        try:
            download_and_extract_archive(url, staging, filename=CIFAR_ARCHIVE, md5=source.md5)
        except RuntimeError as error:  # torchvision's "File not found or corrupted." after the md5 check
            archive = staging / CIFAR_ARCHIVE
            got = f"md5 {calculate_md5(archive)}" if archive.is_file() else str(error)
            raise CorruptFileError(
                f"{url} failed its checksum (expected md5 {source.md5}, got {got}: a dropped connection, or "
                "another file), so nothing was kept",
                path=archive,
            ) from error
        return write_cifar_arrays(source, lambda split: read_batches_arrays(staging / CIFAR_FOLDER, split), target, url)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def write_cifar_arrays(
    source: Source, read: Callable[[str], tuple[np.ndarray, np.ndarray]], target: Path, origin: str
) -> list[Path]:
    """Read each split with ``read(split)``, check all against the table, then write them under
    ``target`` atomically; ``origin`` (a URL or a path) is named in the error.

    Raises:
        CorruptFileError: an array differs from the table; nothing was written.
    """
    arrays = {}
    for data_file in source.files:
        x, y = read(split_of(data_file))
        problem = verify_arrays({"x": x, "y": y}, data_file)
        if problem:
            message = f"{origin}: {data_file.path} {problem}, so nothing was kept"
            raise CorruptFileError(message, path=target / data_file.path)
        arrays[data_file] = (x, y)
    paths = []
    for data_file, (x, y) in arrays.items():  # only once every split verified
        path = target / data_file.path
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda tmp, x=x, y=y: write_npz(tmp, x, y))
        paths.append(path)
    return paths


def verify_arrays(arrays: dict[str, np.ndarray], data_file: DataFile) -> str | None:
    """``None`` when every array of ``data_file`` in the table has its sha256, else what differs."""
    for member, expected in data_file.arrays:
        got = array_sha256(arrays[member])
        if got != expected:
            return f"array '{member}' has sha256 {got}, expected {expected}"
    return None


def file_sha256(path: str | os.PathLike) -> str:
    """The sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: str | os.PathLike, data_file: DataFile) -> str | None:
    """``None`` when ``path`` holds the data file ``data_file`` exactly, else what is wrong.

    Weights: the file's sha256. CIFAR-10: the sha256 of the ``x`` and ``y`` arrays of the ``.npz``
    (or of a ``cifar-10-batches-py`` folder, read as :mod:`~agmc_env.data.cifar_arrays` does).
    """
    path = Path(path)
    if data_file.sha256 is not None:
        got = file_sha256(path)
        return None if got == data_file.sha256 else f"sha256 {got}, expected {data_file.sha256}"
    try:
        if path.is_dir():
            x, y = read_batches_arrays(path, split_of(data_file))
        else:
            x, y = read_npz_arrays(path)
    except CorruptFileError as error:
        return str(error)
    return verify_arrays({"x": x, "y": y}, data_file)


def all_files() -> list[tuple[Source, DataFile]]:
    """Every data file of the table, with its source, in table order."""
    return [(source, data_file) for source in SOURCES.values() for data_file in source.files]
