"""Hostile inputs: values for env options and actions, texts for command-line flags."""

from __future__ import annotations

import math

import numpy as np
import torch
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from torch import nn

# ---------------------------------------------------------------------------------------------
# Python values (env options, actions)

HUGE_INTS = (2**31, 2**32, 2**63, 2**64, 10**30, -(2**63), -(10**30))
SPECIAL_FLOATS = (math.nan, math.inf, -math.inf, -0.0, 1e-320, 1e308, -1e308, 0.5, 1.0, 1.5, -0.5)

numbers_ = st.one_of(
    st.sampled_from(HUGE_INTS + SPECIAL_FLOATS + (0, 1, -1, 2)),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([np.float32(np.nan), np.float64(0.25), np.int64(3), np.int8(-1), np.uint64(2**63)]),
    st.complex_numbers(max_magnitude=10),
)
texts = st.one_of(
    st.sampled_from(["", " ", "0.5", "1", "nan", "None", "true", "resnet20", "cpu", "cuda:0", "auto", "💥", "a" * 300]),
    st.text(max_size=12),
)


class _TwoInputs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean((2, 3)) + y


class _Small(nn.Module):
    """A valid user module: conv, batch norm, classifier."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = nn.Conv2d(3, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.conv2, self.bn2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8)
        self.fc = nn.Linear(8, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn1(self.conv1(x)))
        out = torch.relu(self.bn2(self.conv2(out)))
        return self.fc(out.mean((2, 3)))


def modules() -> st.SearchStrategy[nn.Module]:
    """Odd and ordinary user modules, built fresh for each case (seeded)."""
    builders = [
        nn.Identity, nn.Sequential, lambda: nn.Linear(3, 10), _TwoInputs, _Small,
        lambda: nn.Sequential(nn.Conv2d(1, 8, 3), nn.Flatten(), nn.LazyLinear(10)),  # wrong channel count
        lambda: nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten()),  # 4 "classes", no BN
    ]  # fmt: skip
    return st.sampled_from(builders).map(lambda build: (torch.manual_seed(0), build().eval())[1])


odd_objects = st.sampled_from([None, object(), [], (), {}, {"a": 1}, b"1", True, False, np.bool_(True), print, Ellipsis])
shapes = st.one_of(
    st.lists(st.one_of(numbers_, texts, st.none()), max_size=4),
    st.tuples(st.integers(-5, 70), st.integers(-5, 70), st.integers(-5, 70)),
    # Every dtype numpy has for scalars (bool, ints, floats with NaN, complex, datetimes), any shape.
    hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, max_side=3)),
)
hostile_values = st.one_of(numbers_, texts, odd_objects, shapes)


def actions(width: int) -> st.SearchStrategy[object]:
    """Actions for an action space of ``width`` ratios: hostile ones and good ones."""
    good = st.one_of(
        hnp.arrays(np.float32, (width,), elements=st.floats(-3, 3, width=32)),
        st.floats(-3, 3).map(lambda v: [v] * width),
    )
    return st.one_of(good, hostile_values, hnp.arrays(np.float64, (width,), elements=st.sampled_from(SPECIAL_FLOATS)))


# ---------------------------------------------------------------------------------------------
# Command-line texts

FLAG_TEXTS = [
    "nan", "NaN", "inf", "-inf", "1e999", "-1e999", "0", "-0", "-1", "1", "2", "0.5", "1.5", "-0.5", "1e-320",
    "99999999999999999999999", "-99999999999999999999", "4294967296", "0x10", "1_000", "", " ", "None", "true",
    "💥", "--", "-", "%(prog)s", "a" * 300, "resnet20", "vgg16_cifar", "cpu", "cuda", "cuda:0", "auto", "fp16",
    "bf16", "synthetic", "cifar10", "imagenet", "params", "all", "fine_grained", "random", "rule", "one_shot",
    "amc_flops", "two_sided", "train", "calibration", "report", "ddpg", "td3", "ppo", "sac", "cem", "amc",
    "handcrafted", "/proc/definitely/not/here", "{tmp}", "{tmp}/a_file", "{tmp}/a_file/below/x",
    "{tmp}/a_folder", "{tmp}/a_folder/", "{tmp}/new/deeper/out", "{tmp}/new.onnx", "{pruned}", "relative/out",
]  # fmt: skip
# No system path is ever an output here ("/" or "/dev/null" would be written to, as root): paths
# live under the case's own folder {tmp}, and relative ones land there too (the case runs in it).
# Flags whose valid values set how much work a run does: they get invalid or small values only,
# so that every case can finish inside its time limit.
WORK_FLAGS = {
    "--episodes", "--epochs", "--finetune-epochs", "--warmup", "--population", "--train-size", "--report-size",
    "--test-size", "--finetune-size", "--threads", "--val-size", "--size", "--embedding-dim", "--input-size",
    "--warmup-epochs", "--batch-size", "--cpus-per-trial", "--workers",
}  # fmt: skip
WORK_TEXTS = ["0", "-1", "1", "2", "3", "nan", "inf", "1.5", "abc", "", "-99999999999999999999", "1e999", "0x2"]
# Zoo models a case may switch to (the ImageNet ones take longer per case than a bounded run allows).
FAST_MODELS = ["resnet20", "resnet32", "vgg16_cifar", "mobilenet_v2_cifar", "resnet9000", "tv_resnet18"]


def flag_texts(flag: str) -> st.SearchStrategy[str]:
    """Texts for ``flag``: hostile and valid ones, bounded for the work-size flags."""
    if flag in WORK_FLAGS:
        return st.sampled_from(WORK_TEXTS)
    if flag in ("--model", "--models"):
        return st.sampled_from(FAST_MODELS + ["", "💥", "None"])
    return st.one_of(st.sampled_from(FLAG_TEXTS), st.text(max_size=8), st.integers(-(10**25), 10**25).map(str))
