from __future__ import annotations

import pytest
import torch

from agmc_env.pruning import fine_grained_prune, magnitude_masks, nonzero_params, prunable_layers


def test_fine_grained_prune_zeroes_the_smallest_weights(tiny_cnn: torch.nn.Module) -> None:
    layers = prunable_layers(tiny_cnn)
    assert layers == ["conv1", "conv2", "conv3", "fc"]
    before = nonzero_params(tiny_cnn)
    pruned = fine_grained_prune(tiny_cnn, {"conv2": 0.5, "fc": 1.0})
    assert nonzero_params(tiny_cnn) == before  # a copy by default
    removed = round(0.5 * tiny_cnn.conv2.weight.numel()) + tiny_cnn.fc.weight.numel() - 1
    assert nonzero_params(pruned) == before - removed
    kept = pruned.conv2.weight[pruned.conv2.weight != 0].abs()
    dropped = tiny_cnn.conv2.weight[pruned.conv2.weight == 0].abs()
    assert kept.min() >= dropped.max()
    assert pruned(torch.randn(1, 3, 32, 32)).shape == (1, 10)


def test_masks_by_position_and_validation(tiny_cnn: torch.nn.Module) -> None:
    masks = magnitude_masks(tiny_cnn, [0.0, 0.25, 0.5, 0.75])
    assert [int(m.sum()) for m in masks.values()] == [
        m.numel() - round(r * m.numel()) for m, r in zip(masks.values(), [0.0, 0.25, 0.5, 0.75])
    ]
    with pytest.raises(ValueError, match="one entry per conv/linear layer"):
        magnitude_masks(tiny_cnn, [0.5])
    with pytest.raises(ValueError, match="unknown conv/linear layers"):
        magnitude_masks(tiny_cnn, {"bn1": 0.5})
    with pytest.raises(ValueError, match=r"must be in \[0, 1\]"):
        magnitude_masks(tiny_cnn, {"conv1": 1.5})
