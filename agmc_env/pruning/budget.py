"""AMC's action wall: the ratio interval for the next unit that keeps the budget reachable.

Before unit ``t`` is pruned, the wall assumes every later unit will be pruned at ``max_ratio`` and
finds the smallest ratio for unit ``t`` with which the model still meets the target. Any ratio in
``[lower, max_ratio]`` keeps the target reachable, so an episode whose actions are clipped into the
bounds always ends within budget (He et al., AMC, ECCV 2018, section 3.3).
"""

from __future__ import annotations

from collections.abc import Sequence

from agmc_env.cost import Cost
from agmc_env.errors import ConfigError
from agmc_env.pruning.methods import UnitCostModel

TARGETS = ("flops", "params")


class BudgetWall:
    """Per-step ratio bounds that guarantee ``cost <= preserve * base`` at the end of an episode.

    Args:
        cost_model: the exact cost model of the model and units (a pruning method's ``cost_model``).
        target: ``"flops"`` (conv + linear MACs, FLOPs = 2 MACs) or ``"params"``. (default: ``"flops"``)
        preserve: fraction of the unpruned cost that may remain, in ``(0, 1]``. (default: ``0.5``)
        max_ratio: the largest ratio any unit may get, in ``[0, 1]``. (default: ``0.8``)

    Raises:
        ConfigError: a bad argument, or a target no ratio vector within ``max_ratio`` can meet.
    """

    def __init__(
        self, cost_model: UnitCostModel, target: str = "flops", preserve: float = 0.5, max_ratio: float = 0.8
    ) -> None:
        if target not in TARGETS:
            raise ConfigError(f"target must be one of {TARGETS}, got {target!r}")
        if not 0.0 < preserve <= 1.0:
            raise ConfigError(f"preserve must be in (0, 1], got {preserve!r}")
        if not 0.0 <= max_ratio <= 1.0:
            raise ConfigError(f"max_ratio must be in [0, 1], got {max_ratio!r}")
        self.cost_model = cost_model
        self.target = target
        self.preserve = preserve
        self.max_ratio = max_ratio
        self.budget = preserve * self._measure(cost_model.base)
        self.num_units = len(cost_model.channels)
        smallest = self._measure(cost_model.cost([max_ratio] * self.num_units))
        if smallest > self.budget:
            base = self._measure(cost_model.base)
            raise ConfigError(
                f"preserve={preserve} of {target} is unreachable: pruning every unit at "
                f"max_ratio={max_ratio} still keeps {smallest / base:.3f} of it; raise preserve or "
                "max_ratio, or prune more units (units='all')"
            )

    def _measure(self, cost: Cost) -> int:
        return cost.macs if self.target == "flops" else cost.params

    def cost_of(self, ratios: Sequence[float]) -> int:
        """The targeted quantity (MACs or params) of a full ratio vector."""
        return self._measure(self.cost_model.cost(ratios))

    def within_budget(self, ratios: Sequence[float]) -> bool:
        """Whether a full ratio vector meets the target."""
        return self.cost_of(ratios) <= self.budget

    def bounds(self, ratios_so_far: Sequence[float], tolerance: float = 1e-4) -> tuple[float, float]:
        """The allowed ratio interval ``(lower, max_ratio)`` for unit ``len(ratios_so_far)``.

        Args:
            ratios_so_far: ratios already given to the earlier units.
            tolerance: bisection stops when the interval is this narrow; ``lower`` is always a
                feasible ratio (at most ``tolerance`` above the exact one). (default: ``1e-4``)
        """
        step = len(ratios_so_far)
        if step >= self.num_units:
            raise ConfigError(f"all {self.num_units} units already have ratios")
        rest = [self.max_ratio] * (self.num_units - step - 1)
        prefix = [float(r) for r in ratios_so_far]

        def feasible(ratio: float) -> bool:
            return self.cost_of([*prefix, ratio, *rest]) <= self.budget

        if feasible(0.0):
            return 0.0, self.max_ratio
        if not feasible(self.max_ratio):  # earlier ratios ignored the wall: do the most we can
            return self.max_ratio, self.max_ratio
        low, high = 0.0, self.max_ratio  # low infeasible, high feasible; cost is monotone in ratio
        while high - low > tolerance:
            middle = 0.5 * (low + high)
            if feasible(middle):
                high = middle
            else:
                low = middle
        return high, self.max_ratio
