"""``target="latency"`` for the env: its latency model (built once per process) and its ``info`` keys."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from agmc_env.envs.config import EnvConfig
from agmc_env.evaluate import resolve_device
from agmc_env.latency import LatencyModel, TimingSettings, latency_report, load_latency_model
from agmc_env.pruning import PruningMethod


@lru_cache(maxsize=8)
def _latency_model(method: PruningMethod, model_name: str, batch: int, device: str, cache_dir: str | None) -> LatencyModel:
    return load_latency_model(method, model_name, batch, device, cache_dir)


def env_latency_model(config: EnvConfig, method: PruningMethod) -> LatencyModel | None:
    """The latency model the env's budget uses (``None`` unless ``target="latency"``).

    Measured on the env's device at ``latency_batch`` the first time (a progress bar on stderr),
    then read from ``<cache dir>/latency/``; shared by the envs of a process.
    """
    if config.target != "latency":
        return None
    device = str(resolve_device(config.device))
    # Keyed by the shared method object (one per model bundle): envs of one model share the table.
    return _latency_model(method, config.model_name, config.latency_batch, device, config.cache_dir)


def latency_info(latency: LatencyModel, kept: Sequence[int], batch: int) -> dict[str, Any]:
    """The final ``info`` keys of a latency-budgeted episode (predicted; see the env's docstring)."""
    predicted = latency.predict(kept)
    return {
        "latency_predicted_ms": predicted,
        "base_latency_ms": latency.base_ms,
        "kept_latency_fraction": predicted / latency.base_ms,
        "speedup_predicted": latency.base_ms / predicted,
        "latency_batch": batch,
    }


def measured_report(
    config: EnvConfig, method: PruningMethod, latency: LatencyModel | None, ratios: Sequence[float],
    settings: TimingSettings = TimingSettings(),
) -> dict[str, Any]:
    """Predicted (where the env has a latency model) and measured latency of ``ratios`` on the env's device."""
    device = resolve_device(config.device)
    return latency_report(method, ratios, latency, config.latency_batch, device, settings)


def clear_latency_models() -> None:
    """Forget the latency models of this process (the disk cache stays)."""
    _latency_model.cache_clear()
