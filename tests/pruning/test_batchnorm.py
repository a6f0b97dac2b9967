from __future__ import annotations

import pytest
import torch
from torch import nn

from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator, normalize_images
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import find_units, prune_model, recalibrate_batchnorm


def test_recalibration_sets_batch_statistics_and_restores_modes(tiny_cnn: nn.Module) -> None:
    images = torch.randn(64, 3, 32, 32) * 2 + 1
    momentum = tiny_cnn.bn1.momentum
    recalibrate_batchnorm(tiny_cnn, images, batch_size=16)
    assert not tiny_cnn.training and not tiny_cnn.bn1.training and tiny_cnn.bn1.momentum == momentum
    with torch.no_grad():
        features = tiny_cnn.conv1(images)
    torch.testing.assert_close(tiny_cnn.bn1.running_mean, features.mean((0, 2, 3)), rtol=1e-4, atol=1e-5)
    with pytest.raises(ValueError, match="batch_size"):
        recalibrate_batchnorm(tiny_cnn, images, batch_size=1)


@pytest.mark.data
@pytest.mark.slow
def test_recalibration_raises_no_fine_tune_accuracy_of_pruned_resnet56() -> None:
    spec = get_spec("resnet56")
    model = get_model("resnet56")
    units = find_units(model, spec.input_size)
    pruned = prune_model(model, units, [0.6] * len(units))
    evaluator = Evaluator(load_split("search", size=500), spec.mean, spec.std, device="cpu")
    before = evaluator.accuracy(pruned)
    calibration = load_split("calibration", size=500)
    recalibrate_batchnorm(pruned, normalize_images(calibration.images, spec.mean, spec.std, torch.device("cpu")))
    assert evaluator.accuracy(pruned) > before


@pytest.mark.data
@pytest.mark.slow
@pytest.mark.parametrize("name", ["resnet20", "resnet56"])
def test_recalibrating_the_unpruned_model_keeps_its_accuracy(name: str) -> None:
    # The env's calibration images carry the training augmentation; plain images cost ResNet-56 ~1.4 points.
    from agmc_env.envs.config import EnvConfig
    from agmc_env.envs.resources import get_resources

    # The whole 5,000-image search split: on 2,000 images a 0.3-point wobble is 6 images.
    resources = get_resources(EnvConfig(model=name, val_size=5000, bn_recalibration=True, precision="fp32"))
    model = get_model(name)
    before = resources.evaluator.accuracy(model)
    recalibrate_batchnorm(model, resources.calibration_images)
    assert round(abs(resources.evaluator.accuracy(model) - before), 2) <= 0.2  # measured: +0.20 / -0.02
