"""Giving unused budget back, the two-sided wall and AMC's "rest", on ResNet-56's exact cost model."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agmc_env.models import get_model
from agmc_env.pruning import BudgetWall, CostModel, find_units, kept_channels

_MODEL = get_model("resnet56", pretrained=False)
_UNITS = find_units(_MODEL, (3, 32, 32))
_COST_MODEL = CostModel(_MODEL, _UNITS, (3, 32, 32))
_RATIOS = st.lists(st.floats(0.0, 0.8), min_size=len(_UNITS), max_size=len(_UNITS))


def _one_more_channel(ratios: list[float], index: int) -> list[float]:
    channels = _COST_MODEL.channels[index]
    kept = kept_channels(channels, ratios[index])
    return [*ratios[:index], 1.0 - (kept + 1) / channels, *ratios[index + 1 :]]


@settings(max_examples=15, deadline=None)
@given(ratios=_RATIOS, preserve=st.sampled_from([0.3, 0.5, 0.7]))
def test_fill_never_exceeds_and_leaves_less_than_a_channel(ratios: list[float], preserve: float) -> None:
    wall = BudgetWall(_COST_MODEL, preserve=preserve)
    filled = wall.fill(ratios)
    if not wall.within_budget(ratios):
        assert filled == ratios  # nothing to give back
        return
    assert wall.within_budget(filled)
    assert all(0.0 <= f <= r + 1e-12 for f, r in zip(filled, ratios))
    # No unit can take one more channel back without breaking the budget.
    for index in range(len(_UNITS)):
        if kept_channels(_COST_MODEL.channels[index], filled[index]) < _COST_MODEL.channels[index]:
            assert not wall.within_budget(_one_more_channel(filled, index))


def test_fill_keeps_the_policy_shape_and_fills_the_budget() -> None:
    wall = BudgetWall(_COST_MODEL, preserve=0.5)
    ratios = list(np.linspace(0.5, 0.8, len(_UNITS)))  # keeps well under half of the FLOPs
    base = _COST_MODEL.base.macs
    assert _COST_MODEL.cost(ratios).macs / base < 0.45
    filled = wall.fill(ratios)
    assert 0.49 < _COST_MODEL.cost(filled).macs / base <= 0.5
    assert np.corrcoef(ratios, filled)[0, 1] > 0.95  # the same policy scaled down, to whole channels
    assert wall.fill([0.0] * len(_UNITS)) == [0.0] * len(_UNITS)  # already over budget: unchanged


def test_two_sided_wall_ends_at_the_budget() -> None:
    one_sided, two_sided = BudgetWall(_COST_MODEL, preserve=0.5), BudgetWall(_COST_MODEL, preserve=0.5, two_sided=True)
    for wall in (one_sided, two_sided):
        ratios: list[float] = []
        for _ in _UNITS:  # an agent that always asks for the largest ratio
            ratios.append(wall.bounds(ratios)[1])
        kept = _COST_MODEL.cost(ratios).macs / _COST_MODEL.base.macs
        assert kept <= 0.5
        if wall.two_sided:
            assert kept > 0.49
        else:
            assert kept < 0.3  # the one-sided wall lets it over-prune


def test_rest_is_the_cost_of_the_later_units() -> None:
    wall = BudgetWall(_COST_MODEL, preserve=0.5)
    rests = [wall.rest_fraction([0.0] * step) for step in range(len(_UNITS) + 1)]
    assert all(a >= b for a, b in zip(rests, rests[1:]))  # shrinks along the episode
    assert rests[-2] == rests[-1] == 0.0 and 0.4 < rests[0] < 1.0
    # An inner unit cuts two of the 55 equally costly convs, leaving one channel of 16 in each.
    assert rests[0] - rests[1] == pytest.approx(rests[1] - rests[2]) == pytest.approx(2 / 55 * 15 / 16, rel=0.05)
