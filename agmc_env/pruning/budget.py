"""AMC's action wall: the ratio interval for the next unit that keeps the budget reachable.

Before unit ``t`` is pruned, the wall assumes every later unit will be pruned at ``max_ratio`` and
finds the smallest ratio for unit ``t`` with which the model still meets the target. Any ratio in
``[lower, max_ratio]`` keeps the target reachable, so an episode whose actions are clipped into the
bounds always ends within budget (He et al., AMC, ECCV 2018, section 3.3).

The wall is one-sided: an episode may end far *below* the budget, and over-pruned models lose
accuracy the budget did not ask for. Two remedies, both measured in the project's issue 11:

- :meth:`BudgetWall.fill` gives the unused budget back after the last unit: every ratio is scaled
  down by one common factor (the policy's shape is kept) until the model is as large as the budget
  allows, then the remaining slack goes, channel by channel, to the units whose channels are
  cheapest; no unit can then take one more channel back without exceeding the budget.
- ``two_sided=True`` also caps each ratio from above: assuming the later units prune nothing, the
  model must not fall below the budget, so the last decisions fill it by construction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from agmc_env.checks import PRESERVE
from agmc_env.cost import Cost
from agmc_env.errors import ConfigError
from agmc_env.pruning.methods import UnitCostModel

TARGETS = ("flops", "params", "latency")


_LATENCY_HINT = (
    "; or budget a larger latency_batch (--latency-batch): at small batches per-layer overhead that "
    "pruning channels cannot remove holds much of the latency"
)


class LatencyPredictor(Protocol):
    """What the wall needs of a latency model (:class:`agmc_env.latency.LatencyModel`)."""

    base_ms: float

    def predict_ratios(self, ratios: Sequence[float]) -> float: ...


class BudgetWall:
    """Per-step ratio bounds that guarantee ``cost <= preserve * base`` at the end of an episode.

    Args:
        cost_model: the exact cost model of the model and units (a pruning method's ``cost_model``).
        target: ``"flops"`` (conv + linear MACs, FLOPs = 2 MACs), ``"params"``, or ``"latency"``
            (predicted by ``latency``). (default: ``"flops"``)
        preserve: fraction of the unpruned cost that may remain, in ``(0, 1]``. (default: ``0.5``)
        max_ratio: the largest ratio any unit may get, in ``[0, 1]``. (default: ``0.8``)
        two_sided: also bound ratios from above so an episode cannot end below the budget (see the
            module docstring). (default: ``False``)
        latency: the latency model ``target="latency"`` budgets (predictions must not decrease
            with fewer pruned channels, as :class:`~agmc_env.latency.LatencyModel`'s do).
            (default: ``None``)

    Raises:
        ConfigError: a bad argument, or a target no ratio vector within ``max_ratio`` can meet.
    """

    def __init__(
        self,
        cost_model: UnitCostModel,
        target: str = "flops",
        preserve: float = 0.5,
        max_ratio: float = 0.8,
        two_sided: bool = False,
        latency: LatencyPredictor | None = None,
    ) -> None:
        if target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}, got {target!r}")
        if target == "latency" and latency is None:
            raise ConfigError.for_option("target", "'latency' needs a latency model (the wall's latency argument)")
        PRESERVE("preserve", preserve)
        if not 0.0 <= max_ratio <= 1.0:
            raise ConfigError(f"max_ratio must be in [0, 1], got {max_ratio!r}")
        self.cost_model = cost_model
        self.target = target
        self.preserve = preserve
        self.max_ratio = max_ratio
        self.two_sided = two_sided
        self.latency = latency
        self.num_units = len(cost_model.channels)
        #: The unpruned model's targeted quantity (MACs, params, or milliseconds).
        # Latency: the measured unpruned latency, which the unpruned prediction equals.
        self.base = latency.base_ms if target == "latency" and latency is not None else self._measure(cost_model.base)
        self.budget = preserve * self.base
        smallest = self.cost_of([max_ratio] * self.num_units)
        if smallest > self.budget:
            raise ConfigError.for_option(
                "preserve",
                f"{preserve} of {target} is unreachable: pruning every unit at "
                f"max_ratio={max_ratio} still keeps {smallest / self.base:.3f} of it; raise preserve or "
                "max_ratio, or prune more units with units='all' (agmc search: --preserve, --max-ratio, --units all)"
                + (_LATENCY_HINT if target == "latency" else "")
            )

    def _measure(self, cost: Cost) -> int:
        return cost.macs if self.target == "flops" else cost.params

    def cost_of(self, ratios: Sequence[float]) -> float:
        """The targeted quantity (MACs, params, or predicted milliseconds) of a full ratio vector."""
        if self.target == "latency":
            assert self.latency is not None
            return self.latency.predict_ratios(ratios)
        return self._measure(self.cost_model.cost(ratios))

    def within_budget(self, ratios: Sequence[float]) -> bool:
        """Whether a full ratio vector meets the target."""
        return self.cost_of(ratios) <= self.budget

    def slack(self, ratios: Sequence[float]) -> float:
        """How far a full ratio vector is inside the budget: allowed minus kept target cost, as a
        fraction of the original's (``preserve - kept fraction``; negative when over budget)."""
        return (self.budget - self.cost_of(ratios)) / self.base

    def rest_fraction(self, ratios_so_far: Sequence[float]) -> float:
        """AMC's "rest": the cost the units after the next one still hold, as a fraction of the original.

        With the decided ratios applied and the next unit (index ``len(ratios_so_far)``) unpruned,
        it is what pruning every later unit entirely would remove: the cost of the layers they cut,
        as far as earlier decisions left it. 0 at the last unit and after the episode.
        """
        step = len(ratios_so_far)
        later = self.num_units - step - 1
        if later <= 0:
            return 0.0
        prefix = [float(r) for r in ratios_so_far] + [0.0]
        held = self.cost_of(prefix + [0.0] * later) - self.cost_of(prefix + [1.0] * later)
        return max(0.0, held / self.base)

    def bounds(self, ratios_so_far: Sequence[float], tolerance: float = 1e-4) -> tuple[float, float]:
        """The allowed ratio interval ``(lower, upper)`` for unit ``len(ratios_so_far)``.

        ``upper`` is ``max_ratio``, or with ``two_sided`` the largest ratio that keeps the model at
        or above the budget should the later units prune nothing (never below ``lower``).

        Args:
            ratios_so_far: ratios already given to the earlier units.
            tolerance: bisection stops when the interval is this narrow; ``lower`` is always a
                feasible ratio (at most ``tolerance`` above the exact one). (default: ``1e-4``)
        """
        step = len(ratios_so_far)
        if step >= self.num_units:
            raise ConfigError(f"all {self.num_units} units already have ratios")
        prefix = [float(r) for r in ratios_so_far]
        later = self.num_units - step - 1
        lower = self._smallest_within_budget(prefix, [self.max_ratio] * later, self.max_ratio, tolerance)
        if lower is None:  # earlier ratios ignored the wall: do the most we can
            return self.max_ratio, self.max_ratio
        if not self.two_sided:
            return lower, self.max_ratio
        # The largest ratio whose cost, later units unpruned, is still at least the budget.
        rest = [0.0] * later
        if self.cost_of([*prefix, self.max_ratio, *rest]) >= self.budget:
            return lower, self.max_ratio
        low, high = 0.0, self.max_ratio  # cost at low >= budget (or low = 0), cost at high < budget
        while high - low > tolerance:
            middle = 0.5 * (low + high)
            if self.cost_of([*prefix, middle, *rest]) >= self.budget:
                low = middle
            else:
                high = middle
        return lower, max(lower, low)

    def _smallest_within_budget(
        self, prefix: list[float], suffix: list[float], high: float, tolerance: float
    ) -> float | None:
        """Smallest ratio in ``[0, high]`` for the unit between ``prefix`` and ``suffix`` that meets
        the budget (at most ``tolerance`` above the exact one), or ``None`` if ``high`` does not."""

        def feasible(ratio: float) -> bool:
            return self.cost_of([*prefix, ratio, *suffix]) <= self.budget

        if feasible(0.0):
            return 0.0
        if not feasible(high):
            return None
        low = 0.0  # low infeasible, high feasible; cost is monotone in ratio
        while high - low > tolerance:
            middle = 0.5 * (low + high)
            if feasible(middle):
                high = middle
            else:
                low = middle
        return high

    def fill(self, ratios: Sequence[float]) -> list[float]:
        """Give back the budget a full ratio vector left unused (see the module docstring).

        Ratios that already exceed the budget, or fill it to within one channel of every unit, come
        back unchanged. The result never exceeds the budget and never has a ratio above the input's.

        Raises:
            ConfigError: if ``ratios`` does not have one ratio per unit.
        """
        ratios = [float(r) for r in ratios]
        if len(ratios) != self.num_units:
            raise ConfigError(f"ratios must have one value per unit ({self.num_units}), got {len(ratios)}")
        if not self.within_budget(ratios):
            return ratios
        if self.within_budget([0.0] * self.num_units):
            return [0.0] * self.num_units
        # 1. One common factor for all ratios: the smallest that still meets the budget.
        low, high = 0.0, 1.0  # factor 0 exceeds the budget, factor 1 meets it
        while high - low > 1e-4:
            middle = 0.5 * (low + high)
            if self.within_budget([middle * r for r in ratios]):
                high = middle
            else:
                low = middle
        filled = [high * r for r in ratios]
        # 2. The rounding slack, channel by channel, cheapest channels first. A unit topped up
        # here cannot take one more channel later either: the slack only shrinks.
        unit_macs = self.cost_model.unit_macs()
        channels = self.cost_model.channels
        for index in sorted(range(self.num_units), key=lambda i: unit_macs[i] / channels[i]):
            if filled[index] > 0.0:
                prefix, suffix = filled[:index], filled[index + 1 :]
                smallest = self._smallest_within_budget(prefix, suffix, filled[index], 0.25 / channels[index])
                filled[index] = filled[index] if smallest is None else smallest
        return filled
