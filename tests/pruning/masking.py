"""The checks a pruned architecture must pass: the masked-model check (the unpruned model with the
removed channels zeroed where each consumer reads them, ``agmc_env.pruning.verify.masked_output``,
must compute what the physically pruned model computes) and the exact cost model."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from agmc_env.cost import count_cost
from agmc_env.pruning import CostModel, PrunableUnit, find_units, prune_model, pruned_indices
from agmc_env.pruning.verify import masked_output


def randomise_batchnorm(model: nn.Module) -> nn.Module:
    """Non-trivial BN statistics and affine terms, so a wrong channel cannot hide behind zeros."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator) * 0.1)
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            module.bias.data.copy_(torch.randn(n, generator=generator) * 0.1)
    return model.eval()


def check_masked_equivalence(
    model: nn.Module, input_size: tuple, ratios_seed: int, importance: str = "l1"
) -> tuple[list[PrunableUnit], nn.Module]:
    """Prune every unit of ``model`` at seeded random ratios; assert the pruned model computes what
    the unpruned one does with the removed channels zeroed. Returns the units and the pruned model."""
    units = find_units(model, input_size)
    rng = np.random.default_rng(ratios_seed)
    ratios = rng.uniform(0.0, 0.9, len(units)).tolist()
    kept = [u.kept(r) for u, r in zip(units, ratios)]
    removed = pruned_indices(model, units, kept, importance)
    assert [len(r) for r in removed] == [u.channels - k for u, k in zip(units, kept)]
    pruned = prune_model(model, units, ratios, importance)
    x = torch.randn(4, *input_size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        got, expected = pruned(x), masked_output(model, units, removed, x)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-4)
    return units, pruned


def check_cost_model_exact(model: nn.Module, units: list[PrunableUnit], input_size: tuple) -> CostModel:
    """Assert the cost model's prediction equals the counted cost of the physically pruned model, at
    seeded random ratios, without and with channel rounding. Returns the cost model (rounding off)."""
    cost_model = CostModel(model, units, input_size)
    rng = np.random.default_rng(0)
    for round_to in (None, 8):
        cost_model.round_to = round_to
        ratios = rng.uniform(0.0, 0.95, len(units)).tolist()
        pruned = prune_model(model, units, ratios, round_to=round_to)
        assert cost_model.cost(ratios) == count_cost(pruned, input_size)
    cost_model.round_to = None
    return cost_model
