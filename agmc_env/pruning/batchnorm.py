"""Batch-norm re-calibration: re-estimate running statistics after pruning, without training.

Pruning a channel changes the input distribution of every later layer, so the stored running means
and variances no longer fit. A few forward passes in training mode over a few hundred images re-fit
them (no gradient, no weight change) and recover much of the lost accuracy.
"""

from __future__ import annotations

import torch
from torch import nn


@torch.no_grad()
def recalibrate_batchnorm(model: nn.Module, images_float: torch.Tensor, batch_size: int = 128) -> None:
    """Replace the running statistics of every batch norm of ``model`` by those of ``images_float``.

    Statistics are a cumulative average over all batches (``momentum=None``), so the result does not
    depend on the batch order. Only the batch norms run in training mode (dropout stays off); the
    model's modes and momenta are restored afterwards.

    Args:
        model: the (pruned) model, changed in place.
        images_float: normalised input images ``(N, C, H, W)`` (e.g. from
            :func:`agmc_env.evaluate.normalize_images`); a few hundred are enough.
        batch_size: images per forward pass. (default: ``128``)
    """
    if images_float.dim() != 4 or images_float.shape[0] == 0:
        raise ValueError(f"images_float must be a non-empty (N, C, H, W) tensor, got shape {tuple(images_float.shape)}")
    if batch_size < 2:
        raise ValueError(f"batch_size must be >= 2 (batch statistics), got {batch_size}")
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    modes = {m: m.training for m in model.modules()}
    momenta = {m: m.momentum for m in norms}
    parameter = next(model.parameters())
    try:
        model.eval()
        for norm in norms:
            norm.reset_running_stats()
            norm.momentum = None
            norm.train()
        for start in range(0, images_float.shape[0], batch_size):
            model(images_float[start : start + batch_size].to(parameter.device, parameter.dtype))
    finally:
        for module, training in modes.items():
            module.train(training)
        for norm, momentum in momenta.items():
            norm.momentum = momentum
