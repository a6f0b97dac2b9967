"""CUDA paths: the evaluator and the env on a GPU agree with the CPU (skipped without CUDA)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch

from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator, resolve_device
from agmc_env.models import get_model, get_spec

pytestmark = [pytest.mark.gpu, pytest.mark.data]


def test_auto_device_picks_cuda() -> None:
    assert resolve_device("auto").type == "cuda"


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gpu_accuracy_matches_cpu(precision: str) -> None:
    spec = get_spec("resnet20")
    images = load_split("search", size=1000)
    cpu = Evaluator(images, spec.mean, spec.std, device="cpu").accuracy(get_model("resnet20"))
    gpu = Evaluator(images, spec.mean, spec.std, device="cuda", precision=precision).accuracy(get_model("resnet20"))
    # TF32 convolutions (fp32) and bf16 autocast may flip a few borderline images of 1,000.
    assert gpu == pytest.approx(cpu, abs=0.5 if precision == "fp32" else 1.5)


def test_env_episode_on_cuda_matches_cpu_budget() -> None:
    results = {}
    for device in ("cpu", "cuda"):
        env = gym.make("agmc_env:ModelCompression-v0", model="resnet20", val_size=500, device=device)
        env.reset(seed=0)
        terminated = False
        while not terminated:
            _, _, terminated, _, info = env.step(np.full(env.action_space.shape, 0.2, dtype=np.float32))
        results[device] = info
        assert next(env.unwrapped.pruned_model.parameters()).device.type == device
        env.close()
    assert results["cuda"]["ratios"] == results["cpu"]["ratios"]
    assert results["cuda"]["kept_flops_fraction"] == results["cpu"]["kept_flops_fraction"]
    assert results["cuda"]["accuracy"] == pytest.approx(results["cpu"]["accuracy"], abs=1.0)
