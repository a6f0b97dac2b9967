"""The env's shared resources: one layer table per model feeds the pruning method and the graph."""

from __future__ import annotations

import pytest

from agmc_env.envs.resources import _model_bundle
from agmc_env.layer_table import describe_layers
from agmc_env.pruning import PRUNING_METHODS, tp_adapter
from tests.envs.conftest import TinyResidualCNN


@pytest.mark.parametrize("pruning", sorted(PRUNING_METHODS))
def test_the_model_is_described_once(pruning: str) -> None:
    model = TinyResidualCNN().eval()
    runs: list[int] = []
    handle = model.stem.register_forward_hook(lambda *_: runs.append(1))
    try:
        tp_adapter.build_dependency_graph(model, (3, 32, 32))
        traced = len(runs) if pruning == "channel" else 0  # only channel units need Torch-Pruning's graph
        runs.clear()  # a new model instance: the per-process caches (keyed by identity) miss
        # The bundle alone: the evaluator's one-time tuning runs copies of the model on purpose.
        bundle = _model_bundle(model, "synthetic", None, None, None, "inner", pruning)
    finally:
        handle.remove()
    # One pass for the layer table, one for the graph's shape propagation, plus Torch-Pruning's trace,
    # plus the one-time check of the unit whose channels pass a reshape (conv3 -> flatten -> fc):
    # the masked model and a pruned copy (its hooks copied with it).
    verified = 2 if pruning == "channel" else 0
    assert len(runs) == 2 + traced + verified
    table = describe_layers(model, (3, 32, 32))
    assert bundle.cost_model.base.macs == table.macs == sum(node.macs for node in bundle.graph.nodes)
    assert bundle.units is bundle.method.units and bundle.method.name == pruning


def test_the_batch_size_is_tuned_on_a_pruned_copy(tmp_path) -> None:
    from agmc_env.envs.config import EnvConfig
    from agmc_env.envs.resources import TUNING_RATIO, clear_caches, get_resources
    from agmc_env.tuning import TuningCache

    clear_caches()
    config = EnvConfig.create(
        model=TinyResidualCNN(), dataset="synthetic", pretrained=False, val_size=64, cache_dir=str(tmp_path)
    )
    get_resources(config)
    keys = list(TuningCache(tmp_path / "tuning.json")._read())
    assert len(keys) == 1 and f"pruned {TUNING_RATIO}" in keys[0]
    clear_caches()


def test_batch_norms_are_recalibrated_at_the_reward_precision(monkeypatch: pytest.MonkeyPatch) -> None:
    import gymnasium as gym
    import numpy as np
    import torch

    import agmc_env.envs.model_compression as env_module

    seen: list[bool] = []
    real = env_module.recalibrate_batchnorm
    monkeypatch.setattr(
        env_module, "recalibrate_batchnorm",
        lambda *a, **k: (seen.append(torch.is_autocast_enabled("cpu")), real(*a, **k)),
    )
    for precision in ("fp32", "bf16"):
        env = gym.make(
            "agmc_env:ModelCompression-v0", model=TinyResidualCNN(), dataset="synthetic", pretrained=False,
            val_size=32, bn_recalibration=True, precision=precision, device="cpu",
        )
        env.reset(seed=0)
        terminated = False
        while not terminated:
            *_, terminated, _, _ = env.step(np.array([0.5], dtype=np.float32))
    assert seen == [False, True]


def test_fp32_calibration_under_a_bf16_reward_gives_the_statistics_of_an_fp32_run() -> None:
    import copy

    import gymnasium as gym
    import numpy as np
    import torch

    model = TinyResidualCNN()

    def running_stats(**options) -> list[torch.Tensor]:
        env = gym.make(
            "agmc_env:ModelCompression-v0", model=copy.deepcopy(model), dataset="synthetic", pretrained=False,
            val_size=32, bn_recalibration=True, calibration_size=64, device="cpu", **options,
        )
        env.reset(seed=0)
        terminated = False
        while not terminated:
            *_, terminated, _, _ = env.step(np.array([0.5], dtype=np.float32))
        norms = [m for m in env.unwrapped.pruned_model.modules() if isinstance(m, torch.nn.BatchNorm2d)]
        return [t.clone() for m in norms for t in (m.running_mean, m.running_var)]

    fp32 = running_stats(precision="fp32")
    bf16_fp32_calibration = running_stats(precision="bf16", calibration_precision="fp32")
    bf16 = running_stats(precision="bf16")  # calibrated at the reward's precision, the default
    # One model, one policy, the same images: only the calibration's precision differs.
    assert len(fp32) > 0 and all(torch.equal(a, b) for a, b in zip(fp32, bf16_fp32_calibration))
    assert not all(torch.equal(a, b) for a, b in zip(fp32, bf16))


def test_calibration_size_sets_the_number_of_calibration_images() -> None:
    from agmc_env.envs.config import EnvConfig
    from agmc_env.envs.resources import clear_caches, get_resources

    clear_caches()
    options = {"model": TinyResidualCNN(), "dataset": "synthetic", "pretrained": False, "val_size": 32, "device": "cpu"}
    assert get_resources(EnvConfig.create(**options)).calibration_images is None  # bn_recalibration off
    config = EnvConfig.create(**options, bn_recalibration=True, calibration_size=48)
    assert tuple(get_resources(config).calibration_images.shape) == (48, 3, 32, 32)
    clear_caches()
