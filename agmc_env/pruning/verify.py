"""A numerical check for units Torch-Pruning maps by inference: the pruned model must compute what
the unpruned one computes with the removed channels zeroed.

Torch-Pruning carries channel indices through a reshape by inferring the channel counts around it.
A reshape that permutes channels, such as a channel shuffle written as view-transpose-view, can
come out as the identity: pruning then gets every shape right and the channels wrong, silently.
So the units whose groups pass a reshape are checked once, when they are found: half their
channels are removed from a copy, the same channels are zeroed where the unpruned model's consumers
read them, and both run on the same random input. All of them are checked together (one copy, two
forward passes: most reshapes are harmless flattens); only when that fails, one by one.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from agmc_env.pruning.channel import prune_to_kept, pruned_indices
from agmc_env.pruning.units import PrunableUnit


def masked_output(
    model: nn.Module, units: Sequence[PrunableUnit], removed: Sequence[Sequence[int]], x: torch.Tensor
) -> torch.Tensor:
    """``model(x)`` with each unit's ``removed`` root channels zeroed at the inputs of its consumers."""
    modules = dict(model.named_modules())
    handles = []
    for unit, roots in zip(units, removed):
        roots = set(roots)
        for item in unit.items:
            if item.kind != "in" or not roots:
                continue
            idxs = [i for i, r in zip(item.idxs, item.root_idxs) if r in roots]
            handles.append(modules[item.module_name].register_forward_pre_hook(_zeroing(idxs)))
    try:
        return model(x)
    finally:
        for handle in handles:
            handle.remove()


def _zeroing(idxs: list[int]):  # noqa: ANN202 - a forward pre-hook

    def zero_inputs(module: nn.Module, inputs: tuple) -> tuple:
        masked = inputs[0].clone()
        if isinstance(module, nn.Linear):
            masked[..., idxs] = 0  # a linear layer's features are the last dimension
        else:
            masked[:, idxs] = 0  # a conv's channels the second
        return (masked, *inputs[1:])

    return zero_inputs


@torch.no_grad()
def agrees_with_masked(
    model: nn.Module, units: Sequence[PrunableUnit], input_size: Sequence[int], tolerance: float = 1e-3
) -> bool:
    """Whether pruning half of the ``units``' channels computes what masking them does (see the module).

    The outputs may differ by ``tolerance`` times their largest magnitude (float rounding of the
    smaller sums); a mixed-up channel differs by about the outputs' own size.
    """
    kept = [unit.kept(0.5) for unit in units]
    removed = pruned_indices(model, units, kept)
    training = {module: module.training for module in model.modules()}
    parameter = next(model.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    x = torch.randn((2, *input_size), generator=torch.Generator().manual_seed(0)).to(device)
    try:
        model.eval()
        expected = masked_output(model, units, removed, x)
        got = prune_to_kept(model, units, kept)(x)
    except RuntimeError:  # shapes that no longer fit: certainly not the same computation
        return False
    finally:
        for module, was_training in training.items():
            module.training = was_training
    if not (isinstance(got, torch.Tensor) and isinstance(expected, torch.Tensor)) or got.shape != expected.shape:
        return False
    scale = float(expected.abs().max()) or 1.0
    return float((got - expected).abs().max()) <= tolerance * scale


def verify_units(model: nn.Module, units: Sequence[PrunableUnit], input_size: Sequence[int]) -> list[bool]:
    """For each unit, whether pruning it agrees with masking it: all at once, then one by one."""
    if not units or agrees_with_masked(model, units, input_size):
        return [True] * len(units)
    return [agrees_with_masked(model, [unit], input_size) for unit in units]
