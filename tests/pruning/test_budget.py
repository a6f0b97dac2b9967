from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agmc_env.models import get_model
from agmc_env.pruning import BudgetWall, CostModel, find_units

_MODEL = get_model("resnet20", pretrained=False)
_UNITS = find_units(_MODEL, (3, 32, 32))
_COST_MODEL = CostModel(_MODEL, _UNITS, (3, 32, 32))


@settings(max_examples=60, deadline=None)
@given(
    actions=st.lists(st.floats(0.0, 1.0), min_size=len(_UNITS), max_size=len(_UNITS)),
    target=st.sampled_from(["flops", "params"]),
    preserve=st.floats(0.21, 1.0),
    round_to=st.sampled_from([None, 4]),
)
def test_clipped_actions_always_end_within_budget(
    actions: list[float], target: str, preserve: float, round_to: int | None
) -> None:
    _COST_MODEL.round_to = round_to
    try:
        smallest = _COST_MODEL.cost([0.8] * len(_UNITS))
        field = "macs" if target == "flops" else "params"
        if getattr(smallest, field) > preserve * getattr(_COST_MODEL.base, field):
            with pytest.raises(ValueError, match="unreachable"):
                BudgetWall(_COST_MODEL, target=target, preserve=preserve, max_ratio=0.8)
            return
        wall = BudgetWall(_COST_MODEL, target=target, preserve=preserve, max_ratio=0.8)
        ratios: list[float] = []
        for action in actions:
            lower, upper = wall.bounds(ratios)
            assert 0.0 <= lower <= upper == 0.8
            ratios.append(min(max(action * 0.8, lower), upper))
        assert wall.within_budget(ratios)
    finally:
        _COST_MODEL.round_to = None


def test_lower_bound_is_tight() -> None:
    wall = BudgetWall(_COST_MODEL, preserve=0.22, max_ratio=0.8)
    lower, _ = wall.bounds([])
    assert lower > 0.0
    # One channel more (1/16 of the unit) and the target is out of reach even at max_ratio for the rest.
    rest = [0.8] * (len(_UNITS) - 1)
    assert wall.within_budget([lower, *rest])
    assert not wall.within_budget([max(0.0, lower - 0.07), *rest])


def test_unreachable_target_and_bad_arguments() -> None:
    with pytest.raises(ValueError, match="unreachable"):
        BudgetWall(_COST_MODEL, preserve=0.1, max_ratio=0.8)
    with pytest.raises(ValueError, match="target must be one of"):
        BudgetWall(_COST_MODEL, target="speed")
    with pytest.raises(ValueError, match="preserve"):
        BudgetWall(_COST_MODEL, preserve=0.0)
    wall = BudgetWall(_COST_MODEL, preserve=0.7)
    with pytest.raises(ValueError, match="already have ratios"):
        wall.bounds([0.1] * len(_UNITS))
