"""The latency of any kept-channel vector, from a measured :class:`~agmc_env.latency.table.LatencyTable`.

``latency(kept) = g(sum_u table_u(kept_u))``: each unit's isolated latency interpolated linearly
between its measured kept counts, summed, and mapped onto whole-model time by ``g``, the piecewise
linear curve through the table's calibration points (uniformly pruned models timed whole; see
:mod:`agmc_env.latency.table`). Both the unit tables and ``g`` are made non-decreasing, so keeping
more channels never predicts a faster model (the budget wall's bisection relies on it), and the
unpruned model predicts its measured latency (up to the smoothing of a calibration point that was
slower than a less-pruned one: timing noise, pooled with its neighbours). Every unit's table is
expanded once to one entry per kept count, so a query is a gather, a sum and one interpolation
(10-25 µs), and the budget wall asks thousands of times per episode.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from agmc_env.errors import ConfigError
from agmc_env.latency.table import LatencyTable
from agmc_env.pruning import PrunableUnit


def _isotonic(values: Sequence[float]) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in least squares (pool adjacent violators).

    A load spike during one calibration timing is averaged with its neighbours instead of lifting
    every later point, as a running maximum would.
    """
    blocks: list[list[float]] = []  # [mean, count]
    for value in values:
        blocks.append([float(value), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            mean, count = blocks.pop()
            blocks[-1] = [(blocks[-1][0] * blocks[-1][1] + mean * count) / (blocks[-1][1] + count), blocks[-1][1] + count]
    return np.concatenate([np.full(int(count), mean) for mean, count in blocks])


class LatencyModel:
    """Predicted latency (milliseconds per forward pass) of pruned versions of one model.

    Args:
        table: the measured table.
        units: the prunable units, in the table's order (their ``kept`` rule maps ratios to counts).
        round_to: the pruning method's ``round_to`` (ratios keep multiples of it). (default: ``None``)

    Attributes:
        base_ms: the predicted (= measured) latency of the unpruned model.

    Raises:
        ConfigError: the table describes other units.
    """

    def __init__(self, table: LatencyTable, units: Sequence[PrunableUnit], round_to: int | None = None) -> None:
        described = [(u.name, u.channels) for u in table.units]
        if described != [(u.name, u.channels) for u in units]:
            raise ConfigError("the latency table describes other units than the model's; delete it to measure again")
        self.table = table
        self.units = list(units)
        self.round_to = round_to
        dense = []
        for unit in table.units:
            # Never faster with more channels; a spike in one timing is pooled with its neighbours.
            dense.append(np.interp(np.arange(unit.channels + 1), unit.kept, _isotonic(unit.ms)))
        self._offsets = np.cumsum([0] + [len(d) for d in dense[:-1]]).astype(np.int64)
        self._flat = np.concatenate(dense) if dense else np.zeros(0)
        self._full = self._offsets + np.array([u.channels for u in table.units], dtype=np.int64)
        # The calibration curve, on the sums as the dense tables give them, increasing in both axes.
        points = sorted((self._isolated_sum(self._uniform_index(r)), t) for r, _, t in table.calibration)
        xs, ys = [], []
        for x, y in points:
            if xs and x <= xs[-1]:  # equal sums (a unit set too small to differ): keep the slower time
                ys[-1] = max(ys[-1], y)
                continue
            xs.append(x)
            ys.append(y)
        self._xs, self._ys = np.array(xs), _isotonic(ys)
        self.base_ms = self._map(self._isolated_sum(self._full))

    def _uniform_index(self, ratio: float) -> np.ndarray:
        return self._offsets + np.array([u.kept(ratio, self.round_to) for u in self.units], dtype=np.int64)

    def _isolated_sum(self, index: np.ndarray) -> float:
        return float(self._flat[index].sum())

    def _map(self, isolated: float) -> float:
        if len(self._xs) == 1:  # one calibration point: a constant offset
            return isolated + float(self._ys[0] - self._xs[0])
        return float(np.interp(isolated, self._xs, self._ys))

    def predict(self, kept: Sequence[int]) -> float:
        """Milliseconds of the model pruned to ``kept`` channels per unit."""
        return self._map(self._isolated_sum(self._offsets + np.asarray(kept, dtype=np.int64)))

    def kept(self, ratios: Sequence[float]) -> list[int]:
        """The kept channels of each unit at ``ratios`` (one ratio per unit)."""
        if len(ratios) != len(self.units):
            raise ConfigError(f"ratios must have one entry per unit ({len(self.units)}), got {len(ratios)}")
        return [u.kept(float(r), self.round_to) for u, r in zip(self.units, ratios)]

    def predict_ratios(self, ratios: Sequence[float]) -> float:
        """Milliseconds of the model pruned at ``ratios``."""
        return self.predict(self.kept(ratios))

    def _slope(self, isolated: float) -> float:
        """d(whole-model ms) / d(sum of isolated ms) at ``isolated``: how much a unit's ms count."""
        if len(self._xs) == 1:
            return 1.0
        segment = int(np.clip(np.searchsorted(self._xs, isolated) - 1, 0, len(self._xs) - 2))
        return float((self._ys[segment + 1] - self._ys[segment]) / (self._xs[segment + 1] - self._xs[segment]))

    def unit_ms(self, kept: Sequence[int] | None = None) -> list[float]:
        """Each unit's part of the predicted latency in ms: its isolated time times the calibration
        curve's slope there (the rest of the network is the remainder). Default: the unpruned model."""
        index = self._full if kept is None else self._offsets + np.asarray(kept, dtype=np.int64)
        times = self._flat[index]
        slope = self._slope(float(times.sum()))
        return [float(t) * slope for t in times]

    def __repr__(self) -> str:
        return f"LatencyModel(units={len(self.units)}, base_ms={self.base_ms:.3f}, calibration={len(self._xs)} points)"
