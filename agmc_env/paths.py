"""Where data, pretrained weights and caches live.

The data root is resolved in this order: an explicit argument, the ``AGMC_DATA`` environment
variable, then ``../shared/data`` next to the repository checkout. Caches (trained graph
embeddings) go to ``AGMC_CACHE``, else the user cache directory (``$XDG_CACHE_HOME/agmc-env`` or
``~/.cache/agmc-env``); never into the data root or the package.
"""

from __future__ import annotations

import os
from pathlib import Path

from agmc_env.errors import ConfigError, MissingFileError

DATA_ENV_VAR = "AGMC_DATA"
CACHE_ENV_VAR = "AGMC_CACHE"

# agmc_env/paths.py -> repository root -> ../shared/data
_REPO_ROOT = Path(__file__).resolve().parent.parent
_FALLBACK_DATA_DIR = _REPO_ROOT.parent / "shared" / "data"


class DataNotFoundError(MissingFileError):
    """A data set or weights file was not found in any of the data roots looked at."""


def data_dir_candidates(data_dir: str | os.PathLike | None = None) -> list[Path]:
    """The data roots to try, in order of precedence."""
    candidates: list[Path] = []
    if data_dir is not None:
        candidates.append(Path(data_dir).expanduser())
    if os.environ.get(DATA_ENV_VAR):
        candidates.append(Path(os.environ[DATA_ENV_VAR]).expanduser())
    candidates.append(_FALLBACK_DATA_DIR)
    return candidates


def find_data_file(relative: str | os.PathLike, data_dir: str | os.PathLike | None = None) -> Path:
    """Return the first existing ``<root>/<relative>`` among the data roots.

    An explicit ``data_dir`` is the only root tried when given, so a typo there is not masked by a
    fallback.

    Raises:
        DataNotFoundError: naming every path looked at and how to provide the file.
    """
    roots = [Path(data_dir).expanduser()] if data_dir is not None else data_dir_candidates()
    looked_at = [root / relative for root in roots]
    for path in looked_at:
        if path.exists():
            return path
    places = "\n  ".join(str(p) for p in looked_at)
    raise DataNotFoundError(
        f"could not find '{relative}'. Looked at:\n  {places}\n"
        f"Pass data_dir=... (CLI: --data-dir) or set {DATA_ENV_VAR} to the folder that holds "
        "'cifar10/' and 'pretrained/'.",
        path=looked_at[0],
    )


def cache_dir(override: str | os.PathLike | None = None) -> Path:
    """The directory for caches (created on first use).

    Raises:
        ConfigError: the directory cannot be created (a file in the way, no permission), naming
            where its path came from.
    """
    if override is not None:
        path, source = Path(override).expanduser(), "cache_dir"
    elif os.environ.get(CACHE_ENV_VAR):
        path, source = Path(os.environ[CACHE_ENV_VAR]).expanduser(), CACHE_ENV_VAR
    else:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        path, source = Path(base) / "agmc-env", "the user cache directory"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (OSError, ValueError) as error:
        raise ConfigError.for_option("cache_dir", f"{path} (from {source}) cannot be used as a cache directory: {error}") from None
    return path
