"""Precision and evaluation batch size for this machine: resolved once, measured, cached on disk.

``precision="auto"`` resolves to bf16 autocast on a CPU only where the CPU computes bf16 natively
(AVX512-BF16 or AMX on x86, the BF16 extension on ARM); without native support bf16 is emulated and
several times slower (9x for ResNet-56 on an AVX2-only EPYC). On CUDA it is bf16 where supported,
else fp16. Everywhere else fp32. The choice reads the hardware only, never a clock: precision
changes the rewards, and a choice timed on a busy machine could flip between two runs of the same
seeded search (measured on this 2-core EPYC: bf16 1.35x to 1.86x faster than fp32 from one
measurement to the next), so a search with an empty cache and one with a full cache would score
the same policies differently.

The batch size is the fastest of a few candidates, timed on the model itself; it goes to
``<cache dir>/tuning.json`` keyed by the model, device, precision, thread count and software
versions, so the measurement runs once per machine and setting and again after an upgrade. The
batch size does not change a score on the CPU (each image's logits are the same in any batch:
``tests/test_evaluate.py`` checks it), so the measurement only decides the speed.
"""

from __future__ import annotations

import json
import os
import statistics
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agmc_env.atomic import atomic_write_text
from agmc_env.errors import ConfigError
from agmc_env.paths import cache_dir

PRECISIONS = ("auto", "fp32", "bf16", "fp16")
CPU_BATCH_SIZES = (50, 100, 250, 500)
CUDA_BATCH_SIZES = (250, 500, 1000, 2000)
CACHE_FILE = "tuning.json"

# Times one forward pass: (precision, batch_size) -> seconds per image.
BatchTimer = Callable[[str, int], float]


def bf16_native(capabilities: Mapping[str, Any] | None = None) -> bool:
    """Whether the CPU computes bf16 in hardware, from torch's CPU capability report.

    Args:
        capabilities: a mapping like ``torch.cpu.get_capabilities()`` (the default), for tests.
    """
    caps = capabilities if capabilities is not None else torch.cpu.get_capabilities()
    x86 = caps.get("architecture", "x86_64") in ("x86_64", "x86")
    flags = ("avx512_bf16", "amx_bf16") if x86 else ("bf16", "sve_bf16")
    return any(bool(caps.get(flag)) for flag in flags)


def resolve_precision(precision: str, device: torch.device, capabilities: Mapping[str, Any] | None = None) -> str:
    """The concrete precision (``"fp32"``, ``"bf16"`` or ``"fp16"``) that ``precision`` means here.

    Deterministic for a given machine: ``"auto"`` reads the device's capabilities, never a timing.

    Args:
        precision: one of :data:`PRECISIONS`; anything but ``"auto"`` is returned unchanged.
        device: the device the model runs on.
        capabilities: the CPU capability report (default: ``torch.cpu.get_capabilities()``).
    """
    if precision not in PRECISIONS:
        raise ConfigError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    if device.type != "cpu" or not bf16_native(capabilities):
        return "fp32"
    return "bf16"


def _interleaved(timer: BatchTimer, settings: list[tuple[str, int]], rounds: int = 3) -> list[float]:
    # Round-robin so that load changes on a shared machine hit every setting alike; the first round
    # warms up (allocator, oneDNN kernel choice) and is dropped; the median of the rest is kept.
    times: list[list[float]] = [[] for _ in settings]
    for round_index in range(rounds):
        for index, (precision, batch_size) in enumerate(settings):
            seconds = timer(precision, batch_size)
            if round_index:
                times[index].append(seconds)
    return [statistics.median(t) for t in times]


def fastest_batch_size(timer: BatchTimer, precision: str, candidates: tuple[int, ...]) -> int:
    """The candidate with the least time per image (ties go to the smaller batch)."""
    per_image = _interleaved(timer, [(precision, size) for size in candidates])
    return min(zip(per_image, candidates))[1]


def device_description(device: torch.device) -> str:
    """What the speed depends on: the CPU model and capability, or the GPU name."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    caps = torch.cpu.get_capabilities()
    return f"{caps.get('cpu_name', 'cpu')} ({torch.backends.cpu.get_cpu_capability()})"


def software_key(device: torch.device) -> dict[str, Any]:
    """The part of a cache key that invalidates results after an upgrade or a thread change."""
    from agmc_env import __version__  # here: the package imports this module while it loads

    return {
        "device": device_description(device),
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "agmc_env": __version__,
    }


class TuningCache:
    """A small JSON file of measured settings, keyed by a dict of what they depend on.

    Args:
        path: the file. (default: ``<cache dir>/tuning.json``)
    """

    def __init__(self, path: str | os.PathLike | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / CACHE_FILE

    def _read(self, warn: bool = True) -> dict[str, Any]:
        try:
            entries = json.loads(self.path.read_text())
            if not isinstance(entries, dict):
                raise ValueError(f"a JSON {type(entries).__name__}, not an object")
        except FileNotFoundError:
            return {}
        except (OSError, UnicodeDecodeError, ValueError) as error:
            # A damaged cache only means "measure again"; the next put() writes a good file.
            if warn:
                message = f"ignoring unreadable tuning cache {self.path} ({error}); measuring again"
                warnings.warn(message, RuntimeWarning, stacklevel=3)
            return {}
        return entries

    def get(self, key: Mapping[str, Any]) -> dict[str, Any] | None:
        return self._read().get(json.dumps(key, sort_keys=True))

    def put(self, key: Mapping[str, Any], value: dict[str, Any]) -> None:
        entries = self._read(warn=False)  # get() has warned about a damaged file already
        entries[json.dumps(key, sort_keys=True)] = value
        self.path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path, json.dumps(entries, indent=1, sort_keys=True))


@dataclass(frozen=True)
class Tuning:
    """What ``precision="auto"`` and an unset batch size resolved to, and whether it was measured now."""

    precision: str
    batch_size: int
    measured: bool


def tune(
    timer: BatchTimer,
    device: torch.device,
    model_key: str,
    images: int,
    precision: str = "auto",
    batch_size: int | None = None,
    cache: TuningCache | None = None,
) -> Tuning:
    """Resolve ``precision`` (from the hardware) and, when ``None``, ``batch_size`` (cached, or timed).

    Args:
        timer: times one batch of the model at a precision and batch size.
        device: the device the model runs on.
        model_key: names the model and input size in the cache key (e.g. ``"resnet56 3x32x32"``).
        images: images scored per call; no candidate batch is larger.
        precision: one of :data:`PRECISIONS`. (default: ``"auto"``)
        batch_size: a fixed batch size, or ``None`` to measure one. (default: ``None``)
        cache: where results are kept. (default: ``TuningCache()``)
    """
    resolved = resolve_precision(precision, device)
    if batch_size is not None:
        return Tuning(resolved, batch_size, measured=False)
    cache = cache if cache is not None else TuningCache()
    # Keyed by the resolved precision: an entry can never change what "auto" means.
    key = {"model": model_key, "images": images, "precision": resolved, **software_key(device)}
    hit = cache.get(key)
    if hit is not None and isinstance(hit.get("batch_size"), int) and hit["batch_size"] >= 1:
        return Tuning(resolved, hit["batch_size"], measured=False)
    candidates = CUDA_BATCH_SIZES if device.type == "cuda" else CPU_BATCH_SIZES
    candidates = tuple(size for size in candidates if size < images) + (min(images, max(candidates)),)
    chosen = fastest_batch_size(timer, resolved, tuple(sorted(set(candidates))))
    cache.put(key, {"batch_size": chosen})
    return Tuning(resolved, chosen, measured=True)
