"""A pruned model folder made without any data file, for the CLI tests that read one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym


def save_random_pruned_resnet20(folder: Path) -> dict[str, Any]:
    """Play one random-action episode on a random ResNet-20 (synthetic images), save its pruned model.

    Returns:
        The final ``info`` of the episode.
    """
    env = gym.make(
        "agmc_env:ModelCompression-v0", model="resnet20", dataset="synthetic", pretrained=False, val_size=16, device="cpu"
    )
    env.reset(seed=0)
    terminated, info = False, {}
    while not terminated:
        _, _, terminated, _, info = env.step(env.action_space.sample())
    env.unwrapped.save_pruned(folder)
    return info
