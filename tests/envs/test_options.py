"""Every documented option through gymnasium.make, and clear errors for bad input."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from torch import nn

from agmc_env.envs.config import PRESETS, EnvConfig, option_names
from agmc_env.errors import ConfigError, ConfigTypeError
from agmc_env.envs.rewards import LATENCY_REWARDS, REWARDS
from agmc_env.paths import find_data_file

ENV_ID = "agmc_env:ModelCompression-v0"


def _episode(env: gym.Env, value: float = 0.2) -> dict:
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    terminated = False
    while not terminated:
        obs, reward, terminated, _, info = env.step(np.full(env.action_space.shape, value, np.float32))
        assert env.observation_space.contains(obs)
    assert np.isfinite(reward)
    return info


OPTIONS = [
    {"dataset": "synthetic"},
    {"input_size": [3, 32, 32]},
    {"target": "params"},
    {"preserve": 0.3},
    {"preserve": 1.0},
    {"units": "inner"},
    {"round_to": 8},
    *({"importance": name} for name in ("l1", "l2", "fpgm", "random")),
    {"embedding": "rule"},
    {"observation": "graph"},
    {"observation": "graph", "action_mode": "one_shot"},
    {"action_mode": "one_shot"},
    {"max_ratio": 0.6},
    {"fill_budget": "give_back"},
    {"fill_budget": "two_sided"},
    {"pruning": "fine_grained"},
    {"pruning": "fine_grained", "target": "params", "preserve": 0.3},
    *({"reward": name} for name in REWARDS if name not in LATENCY_REWARDS),  # those: test_latency_target
    {"reward": lambda result: result.accuracy - 10 * result.kept_flops_fraction},
    {"val_size": 20},
    {"split_seed": 3},
    {"bn_recalibration": True},
    {"bn_recalibration": True, "calibration_size": 16},
    {"bn_recalibration": True, "precision": "bf16", "calibration_precision": "fp32"},
    {"device": "cpu"},
    {"precision": "bf16"},
    {"precision": "bf16", "recheck_margin": 0.5},
    {"render_mode": "ansi"},
    {"render_mode": "rgb_array"},
]


@pytest.mark.parametrize("options", OPTIONS, ids=lambda o: "-".join(f"{k}={v}" for k, v in o.items())[:40])
def test_make_with_option(options: dict, fast: dict) -> None:
    env = gym.make(ENV_ID, **{**fast, **options})
    info = _episode(env)
    assert 0.0 <= info["accuracy"] <= 100.0
    env.close()


def test_cache_dir(fast: dict, tmp_path) -> None:
    env = gym.make(ENV_ID, **fast, cache_dir=str(tmp_path))
    _episode(env)


def test_units_all_on_a_model_without_padding_shortcut(tiny_residual: nn.Module) -> None:
    inner = gym.make(ENV_ID, model=tiny_residual, dataset="synthetic", val_size=32, units="inner")
    every = gym.make(ENV_ID, model=tiny_residual, dataset="synthetic", val_size=32, units="all")
    assert len(every.unwrapped.units) > len(inner.unwrapped.units) >= 1
    _episode(every)


def test_units_all_refused_on_option_a_resnet(fast: dict) -> None:
    with pytest.raises(ValueError, match="units='all'"):
        gym.make(ENV_ID, **fast, units="all")


@pytest.mark.data
def test_real_data_options(tmp_path) -> None:
    data_dir = str(find_data_file("cifar10/test.npz").parent.parent)
    env = gym.make(ENV_ID, model="resnet32", dataset="cifar10", data_dir=data_dir, val_size=200,
                   preserve=1.0, weights_path=str(find_data_file("pretrained/resnet32-d509ac18.th")))
    info = _episode(env, value=-1.0)
    assert info["ratios"] == [0.0] * len(info["ratios"])  # no budget pressure: nothing pruned
    assert info["accuracy"] > 85.0  # the real weights on the real images


@pytest.mark.data
@pytest.mark.parametrize("preset", PRESETS)
def test_presets(preset: str) -> None:
    env = gym.make(ENV_ID, preset=preset, val_size=50)
    assert env.unwrapped.config.model == PRESETS[preset]["model"]
    assert '"preset"' in env.spec.to_json()  # names and numbers only: the spec serialises
    env.close()


def test_every_documented_option_is_covered() -> None:
    covered = {key for options in OPTIONS for key in options} | {
        "model", "dataset", "data_dir", "weights_path", "cache_dir", "units", "pretrained",  # test_public_api
        "image_folder",  # test_image_folder_env
        "latency_batch",  # test_latency_target
    }
    assert set(option_names()) <= covered
    doc = gym.spec("ModelCompression-v0").entry_point
    from agmc_env.envs.model_compression import ModelCompressionEnv

    assert doc.endswith(":ModelCompressionEnv")
    for name in option_names():
        assert f"`{name}`" in ModelCompressionEnv.__doc__, f"option {name!r} is not documented"


BAD_OPTIONS = [
    ({"target": "speed"}, "target must be one of"),
    ({"preserve": 0.0}, "preserve must be"),
    ({"preserve": 1.5}, "preserve must be"),
    ({"pruning": "magic"}, "pruning must be one of"),
    ({"units": "some"}, "units must be one of"),
    ({"importance": "taylor"}, "importance must be one of"),
    ({"round_to": 0}, r"round_to must be an integer >= 1 or None, got 0"),
    ({"round_to": 8, "pruning": "fine_grained"}, r"round_to applies to pruning='channel' only"),
    ({"embedding": "bert"}, "embedding must be one of"),
    ({"observation": "image"}, "observation must be one of"),
    ({"action_mode": "batch"}, "action_mode must be one of"),
    ({"max_ratio": 1.0}, "max_ratio must be"),
    ({"max_ratio": float("nan")}, "max_ratio must be"),
    ({"reward": "profit"}, "reward must be one of"),
    ({"val_size": 0}, "val_size must be"),
    ({"split_seed": -1}, "split_seed must be"),
    ({"bn_recalibration": "yes"}, "bn_recalibration must be"),
    ({"calibration_size": 1}, "calibration_size must be an integer >= 2"),
    ({"calibration_precision": "bf16"}, r"calibration_precision must be one of \('reward', 'fp32'\)"),
    ({"device": "tpu"}, "device must be one of"),
    ({"precision": "int8"}, "precision must be one of"),
    ({"recheck_margin": -0.1}, "recheck_margin must be a number >= 0 or None"),
    ({"model": "resnet999"}, "model must be one of"),
    ({"model": 3}, "model must be a name or an nn.Module"),
    ({"pretrained": "no"}, "pretrained must be True or False"),
    ({"data_dir": "/nonexistent/agmc-data"}, "data_dir /nonexistent/agmc-data is not a directory"),
    ({"dataset": "mnist"}, "dataset must be one of"),
    ({"input_size": (32, 32)}, "input_size must be"),
    ({"learning_rate": 0.1}, "unknown option"),
    ({"preset": "resnet9000"}, "preset must be None or one of"),
]


@pytest.mark.parametrize("options, message", BAD_OPTIONS, ids=[str(o) for o, _ in BAD_OPTIONS])
def test_bad_options(options: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        gym.make(ENV_ID, **options)


def test_unsupported_render_mode(fast: dict) -> None:
    # gymnasium.make would wrap "human" around "rgb_array" (HumanRendering); the env itself refuses it.
    from agmc_env.envs.model_compression import ModelCompressionEnv

    with pytest.raises(ValueError, match="render_mode must be one of"):
        ModelCompressionEnv(render_mode="human", **fast)


def test_unreachable_budget(fast: dict) -> None:
    with pytest.raises(ValueError, match="preserve"):
        gym.make(ENV_ID, **fast, preserve=0.05)


def test_nothing_prunable() -> None:
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10)).eval()
    with pytest.raises(ValueError, match="no prunable units"):
        gym.make(ENV_ID, model=model, dataset="synthetic", val_size=16)


class _TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(8, 10)

    def forward(self, x, y):
        return self.fc(self.conv(x).mean((2, 3)) + y)


@pytest.mark.parametrize(
    "options, message",
    [
        # The model cannot take the input: one forward pass at construction says so, naming both.
        ({"model": "resnet20", "input_size": (1, 32, 32)}, r"input_size has 1 channels but the synthetic images have 3"),
        (
            {"model": nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.LazyLinear(10)), "input_size": (3, 32, 32)},
            r"input_size \(3, 32, 32\) does not fit model <Sequential>: .*RuntimeError: .*channels",
        ),
        ({"model": _TwoInputs()}, r"input_size \(3, 32, 32\) does not fit model <_TwoInputs>: .*TypeError: .*'y'"),
        ({"model": "resnet20", "input_size": (3, 32, 16)}, r"input_size must be square"),
        ({"model": "resnet20", "input_size": (3, 4096, 4097)}, r"input_size must be None or three integers"),
        ({"model": nn.Sequential(nn.Conv2d(3, 4, 3))}, r"model <Sequential> must return class scores of shape \(N, classes"),
        ({"model": "resnet20", "val_size": 10**9}, r"val_size must be at most \d+ for 32x32 synthetic images"),
        (
            {"model": "resnet20", "bn_recalibration": True, "calibration_size": 10**9},
            r"calibration_size must be at most \d+ for 32x32 synthetic images",
        ),
    ],
)
def test_model_and_input_are_checked_at_construction(options: dict, message: str) -> None:
    kwargs = {"dataset": "synthetic", "pretrained": False, "val_size": 16, "device": "cpu", **options}
    with pytest.raises(ConfigError, match=message):
        gym.make(ENV_ID, **kwargs)


@pytest.mark.data
def test_cifar10_needs_its_own_image_size() -> None:
    with pytest.raises(ConfigError, match=r"input_size must be \(3, 32, 32\) for cifar10 images"):
        gym.make(ENV_ID, model="resnet20", input_size=(3, 64, 64), val_size=16, device="cpu")
    with pytest.raises(ConfigError, match=r"val_size must be at most 5000, the images of split 'search', got 5001"):
        gym.make(ENV_ID, model="resnet20", val_size=5001, device="cpu")


@pytest.mark.parametrize(
    "action, message",
    [
        (np.array([np.nan], np.float32), "finite"),
        (np.array([np.inf], np.float32), "finite"),
        (np.array([0.1, 0.2], np.float32), "shape"),
        (np.zeros((2, 2), np.float32), "shape"),
    ],
)
def test_bad_actions(action, message: str, fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(ConfigError, match=message):
        env.step(action)


@pytest.mark.parametrize(
    "action", ["0.5", "half", None, object(), True, np.bool_(False), b"1", ["0.1"], [0.1, None], 1 + 2j, {"ratio": 0.5}]
)
def test_actions_must_be_numbers(action, fast: dict) -> None:
    # numpy would read "0.5" as 0.5 and True as 1.0: the env refuses anything but real numbers.
    env = gym.make(ENV_ID, **fast, disable_env_checker=True)
    env.reset(seed=0)
    with pytest.raises(TypeError, match=r"action must be a number or an array of numbers for the action space Box") as error:
        env.step(action)
    assert isinstance(error.value, ConfigTypeError) and isinstance(error.value, ConfigError)
    assert env.unwrapped.policy() == []  # nothing was decided


def test_out_of_range_actions_are_clipped(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast, max_ratio=0.5, preserve=0.8, disable_env_checker=True)
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([-7.0], np.float32))
    assert info["ratio"] >= 0.0
    _, _, _, _, info = env.step(np.array([7.0], np.float32))
    assert info["ratio"] <= 0.5


def test_step_order_errors(fast: dict) -> None:
    env = gym.make(ENV_ID, **fast).unwrapped
    with pytest.raises(RuntimeError, match="reset"):
        env.step(np.zeros(1, np.float32))
    with pytest.raises(RuntimeError, match="finish an episode"):
        env.save_pruned("never")
    env.reset(seed=0)
    for _ in env.units:
        env.step(np.zeros(1, np.float32))
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(np.zeros(1, np.float32))


def test_config_is_frozen_and_json_safe(fast: dict) -> None:
    config = EnvConfig.create("resnet56-cifar10-flops50", val_size=10)
    assert config.model == "resnet56" and config.val_size == 10
    with pytest.raises(Exception):
        config.val_size = 5  # type: ignore[misc]
    import json

    assert json.loads(config.to_json())["model"] == "resnet56"
    assert json.loads(EnvConfig.create(**fast).to_json())["model"] == "<CifarResNet>"


def test_registration_is_idempotent() -> None:
    import agmc_env
    from agmc_env.envs import register_envs

    register_envs()
    register_envs()
    gym.register_envs(agmc_env)
    assert gym.spec("ModelCompression-v0").entry_point == "agmc_env.envs.model_compression:ModelCompressionEnv"


def test_synthetic_images_take_the_model_input_size() -> None:
    # Models built for larger inputs (torchvision's, at 64x64 in the zoo coverage) get synthetic
    # images of their size, for the reward and the BN calibration alike.
    env = gym.make(ENV_ID, dataset="synthetic", input_size=(3, 48, 48), val_size=16, bn_recalibration=True)
    resources = env.unwrapped._resources  # noqa: SLF001 - the shared data the env scores on
    assert resources.evaluator.images.shape[-2:] == (48, 48)
    assert resources.calibration_images.shape[-2:] == (48, 48)
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(env.action_space.sample())
    assert 0.0 <= info["accuracy"] <= 100.0
    env.close()


@pytest.mark.parametrize("target", ["flops", "params"])
def test_round_to_keeps_multiples_within_the_budget(target: str) -> None:
    # ResNet-20's units have 16, 32 and 64 channels: every kept width is a multiple of 8, and the
    # budget wall plans with the rounded widths, so the episode still ends inside the budget.
    env = gym.make(
        ENV_ID, model="resnet20", dataset="synthetic", pretrained=False, val_size=32, target=target, preserve=0.5,
        round_to=8, fill_budget="give_back",
    )
    env.reset(seed=0)
    terminated = False
    rng = np.random.default_rng(0)
    while not terminated:
        *_, terminated, _, info = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
    inner = env.unwrapped
    kept = inner.kept_sizes(info["ratios"])
    assert all(k % 8 == 0 and k >= 8 for k in kept) and kept != [u.channels for u in inner.units]
    assert info[f"kept_{target}_fraction"] <= 0.5 + 1e-9
    widths = {n: m.out_channels for n, m in inner.pruned_model.named_modules() if isinstance(m, nn.Conv2d)}
    assert [widths[u.module_names[0]] for u in inner.units] == kept  # the pruned model has those widths
