"""Latency tables cached on disk: measured once per device, model, input, batch and software.

A table goes to ``<cache dir>/latency/<model>-<hash>.json``; the hash is of its key: the model and
its prunable units (names and widths), the input size, the batch, the unit set, the pruning method's
``round_to`` (when set), the measurement settings, and :func:`agmc_env.tuning.software_key` (the CPU
model and capability or the GPU name, torch's thread count, the torch and agmc-env versions). Another device, thread count or upgrade is
another key, so its table is measured afresh. The key is also stored in the file and compared on
reading; a damaged file is measured again (with a warning) and replaced.
"""

from __future__ import annotations

import hashlib
import json
import re
import warnings
from pathlib import Path
from typing import Any

import torch

from agmc_env.atomic import atomic_write_json
from agmc_env.latency.model import LatencyModel
from agmc_env.latency.table import GRID_POINTS, LatencyTable, measure_table
from agmc_env.latency.timing import TimingSettings, check_device, check_latency_batch
from agmc_env.paths import cache_dir
from agmc_env.pruning import ChannelPruning
from agmc_env.tuning import software_key

FOLDER = "latency"
FORMAT = 1  # of the table records: a new format is a new key, never a misread file


def table_key(
    method: ChannelPruning, model_name: str, batch: int, device: torch.device, settings: TimingSettings, points: int
) -> dict[str, Any]:
    """What a latency table depends on (JSON-safe)."""
    units = [[u.name, u.channels] for u in method.units]
    return {
        "model": model_name, "input_size": list(method.input_size), "batch": batch, "unit_set": method.unit_set,
        "units": hashlib.sha256(json.dumps(units).encode()).hexdigest()[:16],
        "warmup": settings.warmup, "repeats": settings.repeats, "points": points,
        "device_type": device.type, "format": FORMAT, **software_key(device),
        # Only when set, so that the tables measured before round_to existed keep their keys.
        **({"round_to": method.round_to} if method.round_to else {}),
    }  # fmt: skip


def table_path(key: dict[str, Any], cache: str | None = None) -> Path:
    """Where the table of ``key`` is kept."""
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", str(key["model"])).strip("_") or "model"
    return cache_dir(cache) / FOLDER / f"{stem}-{digest}.json"


def _read(path: Path, key: dict[str, Any]) -> LatencyTable | None:
    try:
        record = json.loads(path.read_text())
        if record.get("key") != key:
            return None  # a hash collision or a hand-edited file: not this table
        return LatencyTable.from_dict(record["table"])
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError) as error:
        warnings.warn(f"ignoring unreadable latency table {path} ({error}); measuring again", RuntimeWarning, stacklevel=3)
        return None


def load_latency_model(
    method: ChannelPruning,
    model_name: str,
    batch: int = 1,
    device: str | torch.device = "cpu",
    cache: str | None = None,
    settings: TimingSettings = TimingSettings(),
    points: int = GRID_POINTS,
    progress: bool = True,
) -> LatencyModel:
    """The latency model of ``method``'s model: read from the cache, or measured now and cached.

    Args:
        method: the channel pruning method of the model (its units are the table's units).
        model_name: names the model in the key (a zoo name, or ``"<ClassName>"`` for a user module).
        batch: images per forward pass, in ``[1, 4096]``. (default: ``1``)
        device: where the model runs (``"auto"``, ``"cpu"``, ``"cuda[:N]"``). (default: ``"cpu"``)
        cache: the cache root (default: ``AGMC_CACHE`` or the user cache).
        settings: warm-up and repeats of every timing. (default: ``TimingSettings()``)
        points: kept counts measured per unit. (default: :data:`~agmc_env.latency.table.GRID_POINTS`)
        progress: a progress bar on stderr while measuring. (default: ``True``)

    Raises:
        ConfigError: ``batch`` outside ``[1, 4096]`` (option ``latency_batch``) or an unknown ``device``
            (option ``device``).
        UnsupportedModelError: ``method`` is not channel pruning.
    """
    batch = check_latency_batch(batch)
    where = check_device(device)
    key = table_key(method, model_name, batch, where, settings, points)
    path = table_path(key, cache)
    table = _read(path, key)
    if table is None:
        label = f"latency table {model_name} batch {batch} on {where.type}"
        table = measure_table(method, batch, where, settings, points, progress, label)
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_json(path, {"key": key, "table": table.to_dict()})
    return LatencyModel(table, method.units, method.round_to)
