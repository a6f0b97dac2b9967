"""Measure a latency lookup table: each prunable unit's latency over a grid of kept-channel counts.

A unit cuts a few layers (its convs' output channels, their batch norms, its consumers' input
channels). For each unit and each kept count of a small grid, those layers are rebuilt at their
pruned widths (random weights: a layer's speed does not depend on its values) and timed on inputs
of their traced shapes, the other units unpruned (NetAdapt's layer-wise tables, Yang et al. 2018).
Isolated layers do not run exactly as fast as inside the network (caches, call overhead, the
layers no unit cuts), so the whole model is also timed pruned uniformly at a few ratios
(:data:`CALIBRATION_RATIOS`, round-robin, the unpruned model first): each gives one point (sum of
the units' isolated times, measured whole-model time), and the latency model maps any policy's sum
onto whole-model time through these points (piecewise linear). The map's offset is the constant
rest of the network; its slope corrects the isolated times; its bend catches what stops shrinking
(on a CPU at batch 1 a very thin network stays bound by per-layer overhead).

Approximation: a layer cut by two units at once (``units="all"``: a conv's input by one, its output
by the other) is counted as the sum of the two savings, which overstates the saving when both are
pruned; block-internal units (``units="inner"``, the default) cut disjoint layers and are exact up
to timing noise.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from agmc_env.errors import UnsupportedModelError
from agmc_env.latency.timing import TimingSettings, random_input, time_calls
from agmc_env.pruning import ChannelPruning, PrunableUnit
from agmc_env.pruning.tp_adapter import is_depthwise

GRID_POINTS = 8  # kept counts measured per unit; linear interpolation in between
CALIBRATION_RATIOS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0)  # uniform policies timed whole (0: the unpruned model)
CALIBRATION_ROUNDS = 3  # at most, while the timings say a more pruned model is slower
_TOLERANCE = 1.02  # timing noise allowed between neighbouring calibration models


@dataclass(frozen=True)
class UnitLatency:
    """One unit's measured latency (ms, isolated layers, before scaling) at a few kept counts."""

    name: str
    channels: int
    kept: tuple[int, ...]  # ascending
    ms: tuple[float, ...]


@dataclass(frozen=True)
class LatencyTable:
    """What was measured for one model, device, batch and software (JSON-safe via :meth:`to_dict`).

    Attributes:
        units: the per-unit tables, in unit order.
        calibration: ``(ratio, sum of the units' isolated ms, whole-model ms)`` of each uniform policy
            of :data:`CALIBRATION_RATIOS` (ratio 0: the unpruned model).
    """

    units: tuple[UnitLatency, ...]
    calibration: tuple[tuple[float, float, float], ...]

    @property
    def base_ms(self) -> float:
        """The unpruned model's measured latency."""
        return min(self.calibration)[2]

    def to_dict(self) -> dict:
        return {
            "units": [{"name": u.name, "channels": u.channels, "kept": list(u.kept), "ms": list(u.ms)} for u in self.units],
            "calibration": [list(point) for point in self.calibration],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict) -> LatencyTable:
        """Inverse of :meth:`to_dict`; ``KeyError``/``TypeError``/``ValueError`` on a damaged record."""
        units = tuple(
            UnitLatency(str(u["name"]), int(u["channels"]), tuple(int(k) for k in u["kept"]), tuple(float(t) for t in u["ms"]))
            for u in data["units"]
        )
        if any(len(u.kept) != len(u.ms) or not u.kept for u in units):
            raise ValueError("a unit's kept counts and times differ in length")
        calibration = tuple((float(r), float(s), float(t)) for r, s, t in data["calibration"])
        if not calibration:
            raise ValueError("no calibration points")
        return cls(units, calibration)


def _decreasing(seconds: Sequence[float]) -> bool:
    return all(later <= earlier * _TOLERANCE for earlier, later in zip(seconds, seconds[1:]))


def isolated_ms(unit: UnitLatency, kept: int) -> float:
    """The unit's isolated latency at ``kept`` channels, interpolated in its table."""
    return float(np.interp(kept, unit.kept, unit.ms))


def grid(unit: PrunableUnit, points: int = GRID_POINTS, round_to: int | None = None) -> tuple[int, ...]:
    """The kept counts measured for ``unit``: ``points`` ratios from 0 to 1, as the unit keeps them
    (multiples of ``round_to`` where the pruning method rounds: those are the only widths it makes)."""
    return tuple(sorted({unit.kept(float(r), round_to) for r in np.linspace(0.0, 1.0, points)}))


def _cuts(unit: PrunableUnit) -> dict[str, list[int]]:
    """Per module the unit cuts: entries of its [input, output] dimension lost per removed channel."""
    cuts: dict[str, list[int]] = {}
    for item in unit.items:
        per_channel = item.count // unit.channels
        cut = cuts.setdefault(item.module_name, [0, 0])
        if item.kind in ("in", "depthwise", "channel"):
            cut[0] += per_channel
        if item.kind in ("out", "depthwise", "channel"):
            cut[1] += per_channel
    return cuts


def _replica(module: nn.Module, lost_in: int, lost_out: int) -> nn.Module | None:
    """``module`` rebuilt with fewer input/output entries (random weights); ``None`` if not timed."""
    if isinstance(module, nn.modules.conv._ConvNd):
        width_in, width_out = module.in_channels - lost_in, module.out_channels - lost_out
        groups = width_in if is_depthwise(module) else module.groups
        return type(module)(
            width_in, width_out, module.kernel_size, stride=module.stride, padding=module.padding,
            dilation=module.dilation, groups=groups, bias=module.bias is not None, padding_mode=module.padding_mode,
        )  # fmt: skip
    if isinstance(module, nn.Linear):
        return nn.Linear(module.in_features - lost_in, module.out_features - lost_out, bias=module.bias is not None)
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return type(module)(module.num_features - lost_in, eps=module.eps, affine=module.affine)
    return None  # another per-channel module (a norm, a PReLU): cheap, left in the constant rest


def _input_shapes(model: nn.Module, names: set[str], input_size: Sequence[int], batch: int) -> dict[str, tuple]:
    """The (first) input shape of each named module in one forward pass of ``batch`` inputs."""
    shapes: dict[str, tuple] = {}
    modules = dict(model.named_modules())

    def hook(name: str) -> Callable:
        def record(module: nn.Module, inputs: tuple) -> None:
            shapes.setdefault(name, tuple(inputs[0].shape))

        return record

    handles = [modules[n].register_forward_pre_hook(hook(n)) for n in names if n in modules]
    try:
        with torch.inference_mode():
            model.eval()(torch.zeros((batch, *input_size)))
    finally:
        for handle in handles:
            handle.remove()
    return shapes


def _segment(
    unit: PrunableUnit, kept: int, modules: dict[str, nn.Module], shapes: dict[str, tuple], device: torch.device
) -> Callable[[], None]:
    """A call that runs the unit's layers at ``kept`` channels, each on an input of its pruned shape."""
    removed = unit.channels - kept
    steps = []
    for name, (per_in, per_out) in _cuts(unit).items():
        if name not in shapes:  # a layer the forward pass never reached costs nothing
            continue
        replica = _replica(modules[name], per_in * removed, per_out * removed)
        if replica is None:
            continue
        shape = list(shapes[name])
        axis = -1 if isinstance(replica, nn.Linear) else 1
        shape[axis] -= per_in * removed
        steps.append((replica.to(device).eval(), random_input(shape, device)))

    def run() -> None:
        for layer, x in steps:
            layer(x)

    return run


def measure_table(
    method: ChannelPruning,
    batch: int,
    device: torch.device,
    settings: TimingSettings = TimingSettings(),
    points: int = GRID_POINTS,
    progress: bool = True,
    description: str = "latency table",
) -> LatencyTable:
    """Measure the latency table of ``method``'s model and units (see the module docstring).

    Args:
        method: a channel pruning method (its model is copied, never moved or changed).
        batch: images per forward pass.
        device: where to measure.
        settings: warm-up and repeats of every timing. (default: ``TimingSettings()``)
        points: kept counts per unit. (default: :data:`GRID_POINTS`)
        progress: a tqdm bar on stderr, one tick per unit. (default: ``True``)
        description: the bar's label.
    """
    if not isinstance(method, ChannelPruning):
        raise UnsupportedModelError("a latency table needs channel pruning: fine-grained masks do not change latency")
    from tqdm import tqdm

    model = copy.deepcopy(method.model).float().eval()
    units = list(method.units)
    modules = dict(model.named_modules())
    shapes = _input_shapes(model, {n for u in units for n in _cuts(u)}, method.input_size, batch)
    measured = []
    for unit in tqdm(units, desc=description, unit="unit", disable=not progress, leave=False):
        kept = grid(unit, points, method.round_to)
        calls = [_segment(unit, k, modules, shapes, device) for k in kept]
        seconds = time_calls(calls, device, settings)
        measured.append(UnitLatency(unit.name, unit.channels, kept, tuple(1000.0 * s for s in seconds)))
    images = random_input((batch, *method.input_size), device)
    models = [
        model.to(device) if r == 0.0 else method.prune([r] * len(units)).float().to(device).eval()
        for r in CALIBRATION_RATIOS
    ]
    calls = [lambda m=m: m(images) for m in models]
    rounds = [time_calls(calls, device, settings)]
    # More pruning must not be slower; when it looks so, a load spike hit a timing: time the models
    # again (at most twice more) and keep each one's median over the rounds.
    while len(rounds) < CALIBRATION_ROUNDS and not _decreasing(np.median(rounds, axis=0)):
        rounds.append(time_calls(calls, device, settings))
    whole = np.median(rounds, axis=0)
    calibration = tuple(
        (r, sum(isolated_ms(table, u.kept(r, method.round_to)) for table, u in zip(measured, units)), 1000.0 * seconds)
        for r, seconds in zip(CALIBRATION_RATIOS, whole.tolist())
    )
    return LatencyTable(tuple(measured), calibration)
