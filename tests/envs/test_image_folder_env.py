"""The env on your own images (``dataset="imagefolder"``) and with your own checkpoint."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from agmc_env.errors import ConfigError, CorruptFileError, MissingFileError
from agmc_env.models import get_model
from agmc_env.pruning import load_pruned

ENV_ID = "agmc_env:ModelCompression-v0"
SMALL = {"model": "resnet20", "val_size": 4, "embedding": "rule", "device": "cpu"}


def test_env_scores_an_image_folder_with_one_output_per_class(image_folder: Path, tmp_path: Path) -> None:
    env = gym.make(ENV_ID, **SMALL, pretrained=False, image_folder=str(image_folder))  # implies the data set
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(np.array([0.5], np.float32))
    assert 0.0 <= info["accuracy"] <= 100.0 and info["kept_flops_fraction"] <= 0.5
    assert env.unwrapped.pruned_model.cpu()(torch.randn(1, 3, 32, 32)).shape == (1, 2)  # cat, dog
    env.unwrapped.save_pruned(tmp_path / "pruned")
    model, spec = load_pruned(tmp_path / "pruned")
    assert spec["num_classes"] == 2 and spec["env"]["image_folder"] == str(image_folder)
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 2)


def test_env_loads_your_checkpoint_for_your_classes(image_folder: Path, tmp_path: Path) -> None:
    weights = tmp_path / "mine.pt"
    torch.save(get_model("resnet20", pretrained=False, num_classes=2, init_seed=1).state_dict(), weights)
    env = gym.make(ENV_ID, **SMALL, weights_path=str(weights), dataset="imagefolder", image_folder=str(image_folder))
    assert env.unwrapped.num_units == 9
    ten_classes = tmp_path / "ten.pt"
    torch.save(get_model("resnet20", pretrained=False, init_seed=1).state_dict(), ten_classes)
    with pytest.raises(CorruptFileError, match="one output per class folder of .*: 2"):
        gym.make(ENV_ID, **SMALL, weights_path=str(ten_classes), image_folder=str(image_folder))


def test_image_folder_options_are_checked(image_folder: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="image_folder is needed with dataset='imagefolder'"):
        gym.make(ENV_ID, **SMALL, dataset="imagefolder")
    with pytest.raises(ConfigError, match="image_folder is only read with dataset='imagefolder'"):
        gym.make(ENV_ID, **SMALL, dataset="synthetic", image_folder=str(image_folder))
    with pytest.raises(ConfigError, match="is not a directory"):
        gym.make(ENV_ID, **SMALL, image_folder=str(tmp_path / "nowhere"))
    (tmp_path / "flat").mkdir()
    with pytest.raises(MissingFileError, match="holds no class folder"):
        gym.make(ENV_ID, **SMALL, pretrained=False, image_folder=str(tmp_path / "flat"))
    with pytest.raises(ConfigError, match="val_size must be at most 8, the images of split 'search', got 50"):
        gym.make(ENV_ID, **{**SMALL, "val_size": 50}, pretrained=False, image_folder=str(image_folder))
