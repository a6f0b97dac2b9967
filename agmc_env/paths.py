"""Where data, pretrained weights and caches live, and whether the network may be used.

A data root is a folder holding ``cifar10/`` and ``pretrained/``. Every data set and weights file is
looked for under these roots, in this order (:func:`data_roots`):

1. the explicit ``data_dir`` argument (CLI: ``--data-dir``): when given, the only root, so a typo
   there is not masked by a fallback, and nothing is downloaded;
2. the ``AGMC_DATA`` environment variable;
3. ``../shared/data`` next to a source checkout (a development fallback, used only when it exists);
4. the user cache, ``<cache>/data`` (:func:`cache_data_dir`), where downloads and imports go.

What is in none of them is downloaded into the user cache, unless offline (``AGMC_OFFLINE=1`` or
``--offline``); ``AGMC_MIRROR`` replaces the public hosts. :mod:`agmc_env.data.fetch` does that last
step. Caches (trained graph embeddings, downloads) go to ``AGMC_CACHE``, else the user cache
directory (``$XDG_CACHE_HOME/agmc-env`` or ``~/.cache/agmc-env``); never into a data root or the
package.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from agmc_env.errors import ConfigError, MissingFileError

DATA_ENV_VAR = "AGMC_DATA"
CACHE_ENV_VAR = "AGMC_CACHE"
OFFLINE_ENV_VAR = "AGMC_OFFLINE"
MIRROR_ENV_VAR = "AGMC_MIRROR"

# agmc_env/paths.py -> repository root -> ../shared/data
_REPO_ROOT = Path(__file__).resolve().parent.parent
_FALLBACK_DATA_DIR = _REPO_ROOT.parent / "shared" / "data"
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("", "0", "false", "no", "off")


class DataNotFoundError(MissingFileError):
    """A data set or weights file was not found in any of the data roots looked at."""


@dataclass(frozen=True)
class DataRoot:
    """One folder looked at for data, and why it is looked at.

    Attributes:
        path: the folder.
        origin: ``"data_dir"``, ``"AGMC_DATA"``, ``"checkout"`` or ``"cache"``.
    """

    path: Path
    origin: str


def _checkout_data_dir() -> Path | None:
    # Only a source checkout has a pyproject.toml beside the package; an installed package's
    # ``../shared/data`` would be somewhere inside the virtual environment, never meant as data.
    if (_REPO_ROOT / "pyproject.toml").is_file() and _FALLBACK_DATA_DIR.is_dir():
        return _FALLBACK_DATA_DIR
    return None


def data_roots(data_dir: str | os.PathLike | None = None) -> list[DataRoot]:
    """The data roots to look at, in order (see the module docstring).

    Args:
        data_dir: an explicit data root; when given it is the only one. (default: ``None``)
    """
    if data_dir is not None:
        return [DataRoot(Path(data_dir).expanduser(), "data_dir")]
    roots: list[DataRoot] = []
    if os.environ.get(DATA_ENV_VAR):
        roots.append(DataRoot(Path(os.environ[DATA_ENV_VAR]).expanduser(), DATA_ENV_VAR))
    checkout = _checkout_data_dir()
    if checkout is not None:
        roots.append(DataRoot(checkout, "checkout"))
    roots.append(DataRoot(cache_data_dir(), "cache"))
    return roots


def data_dir_candidates(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The folders of :func:`data_roots`, in order of precedence."""
    return [root.path for root in data_roots(data_dir)]


def looked_at_text(paths: list[Path]) -> str:
    """``paths`` as the indented list an error message shows."""
    return "\n  ".join(str(p) for p in paths)


def find_data_file(relative: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the first existing ``<root>/<relative>`` among the data roots; never downloads.

    An explicit ``data_dir`` is the only root tried when given, so a typo there is not masked by a
    fallback. (:func:`agmc_env.data.fetch.locate` downloads what this does not find.)

    Raises:
        DataNotFoundError: naming every path looked at and how to provide the file.
    """
    looked_at = [root / relative for root in data_dir_candidates(data_dir)]
    for path in looked_at:
        if path.exists():
            return path
    raise DataNotFoundError(
        f"could not find '{relative}'. Looked at:\n  {looked_at_text(looked_at)}\n"
        f"Pass data_dir=... (CLI: --data-dir) or set {DATA_ENV_VAR} to the folder that holds "
        "'cifar10/' and 'pretrained/'.",
        path=looked_at[0],
    )


def _cache_root(override: str | os.PathLike | None = None) -> Path:
    if override is not None:
        return Path(override).expanduser()
    if os.environ.get(CACHE_ENV_VAR):
        return Path(os.environ[CACHE_ENV_VAR]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "agmc-env"


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The directory for caches (created on first use).

    Raises:
        ConfigError: the directory cannot be created (a file in the way, no permission), naming
            where its path came from.
    """
    path = _cache_root(override)
    if override is not None:
        source = "cache_dir"
    elif os.environ.get(CACHE_ENV_VAR):
        source = CACHE_ENV_VAR
    else:
        source = "the user cache directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        raise ConfigError.for_option("cache_dir", f"{path} (from {source}) cannot be used as a cache directory: {error}") from None
    return path


def cache_data_dir() -> Path:
    """The data root inside the user cache (``<cache>/data``), where downloads and imports go.

    Not created here: looking for a file must not leave folders behind.
    """
    return _cache_root() / "data"


def offline() -> bool:
    """Whether ``AGMC_OFFLINE`` forbids network access.

    Raises:
        ConfigError: a value other than ``1/true/yes/on`` or ``0/false/no/off`` (or empty).
    """
    value = os.environ.get(OFFLINE_ENV_VAR, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{OFFLINE_ENV_VAR} must be one of {', '.join(_TRUE)} (offline) or {', '.join(_FALSE[1:])} "
        f"(downloads allowed), got {os.environ[OFFLINE_ENV_VAR]!r}"
    )


def mirror_url(url: str) -> str:
    """``url`` with its scheme and host replaced by ``AGMC_MIRROR`` when that is set; path kept.

    ``AGMC_MIRROR=http://mirror.local/agmc`` turns
    ``https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz`` into
    ``http://mirror.local/agmc/~kriz/cifar-10-python.tar.gz``.

    Raises:
        ConfigError: ``AGMC_MIRROR`` is not an ``http://``, ``https://`` or ``file://`` URL.
    """
    base = os.environ.get(MIRROR_ENV_VAR, "").strip()
    if not base:
        return url
    if urlsplit(base).scheme not in ("http", "https", "file"):
        raise ConfigError(
            f"{MIRROR_ENV_VAR} must be a base URL starting with http://, https:// or file://, got {base!r}"
        )
    return base.rstrip("/") + urlsplit(url).path
