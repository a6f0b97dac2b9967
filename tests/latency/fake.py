"""A latency table made up in microseconds (no clock), for tests that need a latency model, not a timing."""

from __future__ import annotations

from agmc_env.latency.table import CALIBRATION_RATIOS, LatencyTable, UnitLatency, grid, isolated_ms
from agmc_env.pruning import ChannelPruning


def fake_table(method: ChannelPruning, *args: object, **kwargs: object) -> LatencyTable:
    """Unit ``i`` costs ``0.002 * (i + 1) * kept**1.5`` ms (uneven and non-linear, as real layers); the
    whole model is ``0.4 + 1.3 * sum``, bent by a floor near the bottom. Same signature as ``measure_table``."""
    units = []
    for index, unit in enumerate(method.units):
        kept = grid(unit, 4)
        units.append(UnitLatency(unit.name, unit.channels, kept, tuple(0.002 * (index + 1) * k**1.5 for k in kept)))
    calibration = []
    for ratio in CALIBRATION_RATIOS:
        total = sum(isolated_ms(table, unit.kept(ratio)) for table, unit in zip(units, method.units))
        calibration.append((ratio, total, 0.4 + 1.3 * total + (0.2 if ratio == 1.0 else 0.0)))
    return LatencyTable(tuple(units), tuple(calibration))
