"""Pictures of a pruning policy: an ``"ansi"`` table and an ``"rgb_array"`` bar chart.

Both take a :class:`PolicyView`, a plain snapshot of the units and the ratios chosen so far, so they
know nothing of the env.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class PolicyView:
    """The units of a model and the ratios decided so far (units without one are not decided yet).

    Attributes:
        names: each unit's root layer name.
        channels: each unit's prunable channels.
        unit_macs: MACs attributed to each unit in the unpruned model.
        ratios: the pruning ratios decided so far (a prefix of the units).
        kept_channels: kept channels of the decided units.
        kept_fraction: cost kept by the decided ratios (undecided units unpruned), of the target.
        target: ``"flops"``, ``"params"`` or ``"latency"`` (predicted).
        preserve: the budget, a fraction of the original cost to keep.
    """

    names: Sequence[str]
    channels: Sequence[int]
    unit_macs: Sequence[int]
    ratios: Sequence[float]
    kept_channels: Sequence[int]
    kept_fraction: float
    target: str
    preserve: float


def render_ansi(view: PolicyView) -> str:
    """A text table: one row per unit with its ratio, kept channels and MACs."""
    width = max([len("unit"), *(len(n) for n in view.names)])
    lines = [f"{'#':>3}  {'unit':<{width}}  {'ratio':>5}  {'channels':>13}  {'MACs (M)':>8}"]
    for i, (name, channels, macs) in enumerate(zip(view.names, view.channels, view.unit_macs)):
        if i < len(view.ratios):
            ratio, kept = f"{view.ratios[i]:.3f}", f"{view.kept_channels[i]:>5} / {channels:<5}"
        else:
            ratio, kept = "  -  ", f"{'-':>5} / {channels:<5}"
        lines.append(f"{i:>3}  {name:<{width}}  {ratio:>5}  {kept:>13}  {macs / 1e6:>8.2f}")
    lines.append(
        f"decided {len(view.ratios)}/{len(view.names)} units; {view.target} kept {view.kept_fraction:.1%} "
        f"(budget {view.preserve:.1%})"
    )
    return "\n".join(lines) + "\n"


def render_rgb(view: PolicyView, width_px: int = 640, height_px: int = 320) -> np.ndarray:
    """A bar chart of per-unit channels, original vs kept, as an ``(H, W, 3)`` uint8 array."""
    # The object API with the Agg canvas: no pyplot global state, safe in worker processes.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    dpi = 80
    figure = Figure(figsize=(width_px / dpi, height_px / dpi), dpi=dpi)
    canvas = FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    positions = np.arange(len(view.names))
    axes.bar(positions, view.channels, color="#c9d6e8", label="original")
    decided = positions[: len(view.kept_channels)]
    axes.bar(decided, view.kept_channels, color="#2b5d9c", label="kept")
    axes.set_xlabel("prunable unit")
    axes.set_ylabel("channels")
    axes.set_title(f"{view.target} kept {view.kept_fraction:.1%} (budget {view.preserve:.1%})", fontsize=10)
    axes.legend(loc="upper left", fontsize=8)
    figure.tight_layout()
    canvas.draw()
    return np.asarray(canvas.buffer_rgba())[..., :3].copy()
