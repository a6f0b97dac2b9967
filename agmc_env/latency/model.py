"""The latency of any kept-channel vector, from a measured :class:`~agmc_env.latency.table.LatencyTable`.

``latency(kept) = rest + scale * sum_u table_u(kept_u)``: each unit's table interpolated linearly
between its measured kept counts and made non-decreasing in the kept count (so a larger ratio never
predicts a slower model: the budget wall's bisection relies on it), with ``rest`` chosen so the
unpruned model predicts exactly its measured latency. Every unit's table is expanded once to one
entry per kept count, so a query is one gather and one sum: the budget wall asks thousands of
times per episode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agmc_env.errors import ConfigError
from agmc_env.latency.table import LatencyTable
from agmc_env.pruning import PrunableUnit


class LatencyModel:
    """Predicted latency (milliseconds per forward pass) of pruned versions of one model.

    Args:
        table: the measured table.
        units: the prunable units, in the table's order (their ``kept`` rule maps ratios to counts).

    Raises:
        ConfigError: the table describes other units.
    """

    def __init__(self, table: LatencyTable, units: Sequence[PrunableUnit]) -> None:
        described = [(u.name, u.channels) for u in table.units]
        if described != [(u.name, u.channels) for u in units]:
            raise ConfigError("the latency table describes other units than the model's; delete it to measure again")
        self.table = table
        self.units = list(units)
        dense = []
        for unit in table.units:
            values = np.interp(np.arange(unit.channels + 1), unit.kept, unit.ms) * table.scale
            dense.append(np.maximum.accumulate(values))  # never faster with more channels
        self._offsets = np.cumsum([0] + [len(d) for d in dense[:-1]]).astype(np.int64)
        self._flat = np.concatenate(dense) if dense else np.zeros(0)
        self._full = self._offsets + np.array([u.channels for u in table.units], dtype=np.int64)
        self.base_ms = table.base_ms
        self.rest_ms = table.base_ms - float(self._flat[self._full].sum())

    def predict(self, kept: Sequence[int]) -> float:
        """Milliseconds of the model pruned to ``kept`` channels per unit."""
        index = self._offsets + np.asarray(kept, dtype=np.int64)
        return self.rest_ms + float(self._flat[index].sum())

    def kept(self, ratios: Sequence[float]) -> list[int]:
        """The kept channels of each unit at ``ratios`` (one ratio per unit)."""
        if len(ratios) != len(self.units):
            raise ConfigError(f"ratios must have one entry per unit ({len(self.units)}), got {len(ratios)}")
        return [u.kept(float(r)) for u, r in zip(self.units, ratios)]

    def predict_ratios(self, ratios: Sequence[float]) -> float:
        """Milliseconds of the model pruned at ``ratios``."""
        return self.predict(self.kept(ratios))

    def unit_ms(self, kept: Sequence[int] | None = None) -> list[float]:
        """Each unit's share of the predicted latency, in ms (default: unpruned)."""
        index = self._full if kept is None else self._offsets + np.asarray(kept, dtype=np.int64)
        return [float(t) for t in self._flat[index]]

    def __repr__(self) -> str:
        return f"LatencyModel(units={len(self.units)}, base_ms={self.base_ms:.3f}, rest_ms={self.rest_ms:.3f})"
