"""Measured latency as a budget: per-unit lookup tables, cached per device, and their predictions.

``ModelCompression-v0`` with ``target="latency"`` budgets a fraction of the unpruned model's
measured latency on the env's device at ``latency_batch`` images per forward pass. The pieces,
usable on their own:

- :func:`measure_latency`: the one timing method (warm-up, repeats, median; see :mod:`.timing`).
- :func:`measure_table`: each unit's latency over a grid of kept channels (see :mod:`.table`).
- :class:`LatencyModel`: the predicted latency of any kept-channel vector, cheap enough for the
  budget wall.
- :func:`load_latency_model`: the table read from the cache, or measured and cached (:mod:`.cache`).

Example:
    >>> from agmc_env.models import get_model
    >>> from agmc_env.pruning import make_pruning_method
    >>> from agmc_env.latency import load_latency_model
    >>> method = make_pruning_method("channel", get_model("resnet56"), (3, 32, 32))
    >>> latency = load_latency_model(method, "resnet56", batch=1, device="cpu")
    >>> latency.predict_ratios([0.5] * len(method.units))  # milliseconds
"""

from agmc_env.latency.cache import load_latency_model, table_key, table_path
from agmc_env.latency.model import LatencyModel
from agmc_env.latency.report import latency_report
from agmc_env.latency.table import GRID_POINTS, LatencyTable, UnitLatency, measure_table
from agmc_env.latency.timing import (
    MAX_LATENCY_BATCH, TimingSettings, check_device, check_latency_batch, measure_latency,
)  # fmt: skip

__all__ = [
    "GRID_POINTS",
    "MAX_LATENCY_BATCH",
    "LatencyModel",
    "LatencyTable",
    "TimingSettings",
    "UnitLatency",
    "check_device",
    "check_latency_batch",
    "latency_report",
    "load_latency_model",
    "measure_latency",
    "measure_table",
    "table_key",
    "table_path",
]
