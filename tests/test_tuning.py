"""Precision resolution from an explicit CPU capability report, and the on-disk batch-size cache."""

from __future__ import annotations

import pytest
import torch

import agmc_env
from agmc_env.errors import ConfigError
from agmc_env.tuning import TuningCache, bf16_native, resolve_precision, tune

CPU = torch.device("cpu")
AVX2_ONLY = {"architecture": "x86_64", "avx2": True, "avx512_f": False, "avx512_bf16": False, "amx_bf16": False}
AVX512_BF16 = {**AVX2_ONLY, "avx512_f": True, "avx512_bf16": True}
AMX = {**AVX2_ONLY, "amx_bf16": True}
ARM_BF16 = {"architecture": "arm64", "bf16": True}


def _never(precision: str, batch_size: int) -> float:
    raise AssertionError("no measurement expected")


@pytest.mark.parametrize(
    ("capabilities", "native"),
    [(AVX2_ONLY, False), (AVX512_BF16, True), (AMX, True), (ARM_BF16, True), ({"architecture": "arm64"}, False)],
)
def test_bf16_native_reads_the_capability_report(capabilities: dict, native: bool) -> None:
    assert bf16_native(capabilities) is native


def test_auto_is_fp32_without_native_bf16_and_measures_nothing() -> None:
    assert resolve_precision("auto", CPU, capabilities=AVX2_ONLY, timer=_never) == "fp32"


@pytest.mark.parametrize(("bf16_seconds", "expected"), [(0.5, "bf16"), (0.95, "fp32"), (3.0, "fp32")])
def test_native_bf16_must_also_measure_faster(bf16_seconds: float, expected: str) -> None:
    def timer(precision: str, batch_size: int) -> float:
        return bf16_seconds if precision == "bf16" else 1.0

    assert resolve_precision("auto", CPU, capabilities=AVX512_BF16, timer=timer) == expected


def test_explicit_precision_is_kept_and_bad_values_raise() -> None:
    assert resolve_precision("fp32", CPU, capabilities=AVX512_BF16, timer=_never) == "fp32"
    assert resolve_precision("bf16", CPU, capabilities=AVX2_ONLY, timer=_never) == "bf16"
    with pytest.raises(ConfigError, match="precision must be one of"):
        resolve_precision("int8", CPU)


class CountingTimer:
    """Batch 100 is fastest per image; counts the calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, precision: str, batch_size: int) -> float:
        self.calls += 1
        return 1.0 if batch_size == 100 else 2.0


def _tune(timer: CountingTimer, cache: TuningCache, **kwargs):
    return tune(timer, CPU, "resnet56 3x32x32", images=1000, precision="fp32", cache=cache, **kwargs)


def test_batch_size_is_measured_once_then_read_from_disk(tmp_path) -> None:
    cache, timer = TuningCache(tmp_path / "tuning.json"), CountingTimer()
    first = _tune(timer, cache)
    assert (first.batch_size, first.precision, first.measured) == (100, "fp32", True)
    calls = timer.calls
    assert calls > 0 and (tmp_path / "tuning.json").exists()
    again = _tune(timer, TuningCache(tmp_path / "tuning.json"))  # a new process reads the same file
    assert (again.batch_size, again.measured, timer.calls) == (100, False, calls)
    assert _tune(timer, cache, batch_size=64).batch_size == 64  # a fixed batch size wins


def test_thread_count_change_invalidates(tmp_path) -> None:
    cache, timer = TuningCache(tmp_path / "tuning.json"), CountingTimer()
    threads = torch.get_num_threads()
    _tune(timer, cache)
    try:
        torch.set_num_threads(threads + 1)
        assert _tune(timer, cache).measured
    finally:
        torch.set_num_threads(threads)
    assert not _tune(timer, cache).measured  # the original thread count is still cached


def test_version_change_invalidates(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    cache, timer = TuningCache(tmp_path / "tuning.json"), CountingTimer()
    _tune(timer, cache)
    monkeypatch.setattr(agmc_env, "__version__", "99.0")
    assert _tune(timer, cache).measured
    monkeypatch.setattr(torch, "__version__", "99.0")
    assert _tune(timer, cache).measured


def test_a_torn_cache_file_means_measure_again(tmp_path) -> None:
    (tmp_path / "tuning.json").write_text("{not json")
    assert _tune(CountingTimer(), TuningCache(tmp_path / "tuning.json")).measured


def test_small_image_sets_cap_the_candidates(tmp_path) -> None:
    seen = []

    def timer(precision: str, batch_size: int) -> float:
        seen.append(batch_size)
        return 1.0

    tuning = tune(timer, CPU, "tiny", images=37, precision="fp32", cache=TuningCache(tmp_path / "t.json"))
    assert set(seen) == {37} and tuning.batch_size == 37
