"""``agmc_env.finetune``: seeded, deterministic training that changes the weights and lowers the loss."""

from __future__ import annotations

import copy

import pytest
import torch

from agmc_env.finetune import FinetuneConfig, augment_batch, finetune
from agmc_env.data.synthetic import synthetic_imageset

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)


def _tuned(model: torch.nn.Module, seed: int, epochs: int = 2) -> tuple[torch.nn.Module, list[float]]:
    tuned = copy.deepcopy(model)
    data = synthetic_imageset(num_images=96, seed=3)
    config = FinetuneConfig(epochs=epochs, batch_size=32, lr=0.05, seed=seed)
    losses = finetune(tuned, data, MEAN, STD, torch.device("cpu"), config, progress=False)
    return tuned, losses


def test_same_seed_gives_identical_weights(tiny_cnn: torch.nn.Module) -> None:
    first, losses = _tuned(tiny_cnn, seed=0)
    second, again = _tuned(tiny_cnn, seed=0)
    assert losses == again
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name]), name
    other, _ = _tuned(tiny_cnn, seed=1)
    assert not torch.equal(other.conv1.weight, first.conv1.weight)
    assert not torch.equal(first.conv1.weight, tiny_cnn.conv1.weight)
    assert len(losses) == 2 and not first.training


def test_augmentation_keeps_shape_and_pixels() -> None:
    images = synthetic_imageset(num_images=8, seed=0).images
    out = augment_batch(images, torch.Generator().manual_seed(0))
    assert out.shape == images.shape and out.dtype == torch.uint8
    # Crops of the zero-padded image: each output pixel is a pixel of the (possibly flipped) input or 0.
    assert set(out.unique().tolist()) <= set(images.unique().tolist()) | {0}


@pytest.mark.parametrize(("field", "value"), [("epochs", 0), ("lr", 0.0), ("batch_size", 0)])
def test_bad_settings_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ValueError, match=field):
        FinetuneConfig(**{field: value})


def test_finetune_pruned_scores_trains_and_saves_without_any_file(tmp_path) -> None:
    import gymnasium as gym
    import numpy as np

    from agmc_env.finetune import finetune_pruned
    from agmc_env.pruning import load_pruned

    env = gym.make("agmc_env:ModelCompression-v0", preset="resnet20-synthetic-random", val_size=16, device="cpu")
    env.reset(seed=0)
    terminated = False
    while not terminated:
        *_, terminated, _, info = env.step(np.full(env.action_space.shape, 0.5, np.float32))
    env.unwrapped.save_pruned(tmp_path / "best")
    config = FinetuneConfig(epochs=1, batch_size=32, seed=0)
    result = finetune_pruned(tmp_path / "best", None, config, train_size=64, test_size=32, device="cpu", progress=False)
    assert result.model_path == tmp_path / "best-finetuned" and result.train_images == 64 and result.test_images == 32
    assert 0.0 <= result.test_accuracy <= 100.0 and result.final_loss > 0
    model, spec = load_pruned(result.model_path)
    assert spec["finetune"]["test_accuracy"] == result.test_accuracy and spec["ratios"] == info["ratios"]
    with pytest.raises(ValueError, match="split must be one of"):
        finetune_pruned(tmp_path / "best", split="test")
