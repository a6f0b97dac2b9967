"""Batch-norm folding: the same logits within float rounding, the same accuracy, the model restored."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.batchnorm_fold import conv_bn_pairs, folded_batchnorm
from agmc_env.data import load_split, synthetic_imageset
from agmc_env.evaluate import Evaluator, normalize_images
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import find_units, prune_model, recalibrate_batchnorm


def _randomise_norms(model: nn.Module) -> nn.Module:
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            n = module.num_features
            module.running_mean.copy_(torch.randn(n, generator=generator))
            module.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            module.weight.data.copy_(torch.randn(n, generator=generator))
            module.bias.data.copy_(torch.randn(n, generator=generator))
    return model.eval()


def test_folded_logits_match_and_the_model_is_restored(tiny_cnn) -> None:
    model = _randomise_norms(tiny_cnn)
    pairs = conv_bn_pairs(model)
    assert pairs == [("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3")]
    x = torch.randn(4, 3, 32, 32)
    original = [model.conv1, model.bn1]
    with torch.no_grad():
        expected = model(x)
        with folded_batchnorm(model, pairs):
            assert isinstance(model.bn1, nn.Identity) and model.conv1.bias is not None
            folded = model(x)
    torch.testing.assert_close(folded, expected, rtol=1e-4, atol=1e-5)
    assert [model.conv1, model.bn1] == original


def test_training_mode_and_untraceable_models_are_left_alone(tiny_cnn) -> None:
    class Untraceable(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv, self.bn = nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.bn(self.conv(x)) if x.sum() > 0 else x  # data-dependent control flow

    assert conv_bn_pairs(Untraceable()) == []
    tiny_cnn.train()
    with folded_batchnorm(tiny_cnn, conv_bn_pairs(tiny_cnn)):
        assert isinstance(tiny_cnn.bn1, nn.BatchNorm2d)


def test_evaluator_folding_keeps_the_accuracy(tiny_cnn) -> None:
    images = synthetic_imageset(num_images=64)
    model = _randomise_norms(tiny_cnn)
    scores = [
        Evaluator(images, (0.5,) * 3, (0.25,) * 3, device="cpu", precision="fp32", batch_size=16, fold_batchnorm=fold)
        .accuracy(model)
        for fold in (True, False)
    ]
    assert scores[0] == scores[1]


@pytest.mark.data
@pytest.mark.slow
def test_pruned_recalibrated_resnet56_scores_the_same_folded() -> None:
    spec, model = get_spec("resnet56"), get_model("resnet56")
    units = find_units(model, spec.input_size)
    pruned = prune_model(model, units, [0.6 if i % 2 else 0.3 for i in range(len(units))])
    calibration = load_split("calibration", spec.dataset, size=512)
    recalibrate_batchnorm(pruned, normalize_images(calibration.images, spec.mean, spec.std, torch.device("cpu")))
    images = load_split("search", spec.dataset, size=1000)
    folded, plain = (
        Evaluator(images, spec.mean, spec.std, "cpu", "fp32", 250, fold_batchnorm=fold) for fold in (True, False)
    )
    assert folded.accuracy(pruned) == plain.accuracy(pruned)
    with torch.inference_mode():
        expected = pruned(plain.images[:200])
        with folded_batchnorm(pruned, conv_bn_pairs(pruned)):
            torch.testing.assert_close(pruned(plain.images[:200]), expected, rtol=1e-3, atol=1e-4)
