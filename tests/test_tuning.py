"""Precision resolution from an explicit CPU capability report, and the on-disk batch-size cache."""

from __future__ import annotations

import json

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


def test_auto_is_fp32_without_native_bf16() -> None:
    assert resolve_precision("auto", CPU, capabilities=AVX2_ONLY) == "fp32"


@pytest.mark.parametrize("capabilities", [AVX512_BF16, AMX, ARM_BF16])
def test_auto_is_bf16_with_native_bf16_whatever_a_clock_says(capabilities: dict) -> None:
    # No timing decides it: a choice measured on a busy machine could flip between two runs of one
    # seeded search, and precision changes the rewards.
    assert resolve_precision("auto", CPU, capabilities=capabilities) == "bf16"


def test_explicit_precision_is_kept_and_bad_values_raise() -> None:
    assert resolve_precision("fp32", CPU, capabilities=AVX512_BF16) == "fp32"
    assert resolve_precision("bf16", CPU, capabilities=AVX2_ONLY) == "bf16"
    with pytest.raises(ConfigError, match="precision must be one of"):
        resolve_precision("int8", CPU)


def test_a_cached_entry_never_changes_what_auto_means(tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    # A tuning file written when "auto" was still timed (or by hand) says fp32; the hardware says bf16.
    real = torch.cpu.get_capabilities()
    monkeypatch.setattr(torch.cpu, "get_capabilities", lambda: {**real, **AVX512_BF16})
    cache = TuningCache(tmp_path / "tuning.json")
    first = tune(CountingTimer(), CPU, "m", images=1000, precision="auto", cache=cache)
    assert (first.precision, first.batch_size, first.measured) == ("bf16", 100, True)
    entries = json.loads((tmp_path / "tuning.json").read_text())
    (tmp_path / "tuning.json").write_text(json.dumps({k: {"batch_size": 50, "precision": "fp32"} for k in entries}))
    again = tune(_never, CPU, "m", images=1000, precision="auto", cache=cache)
    assert (again.precision, again.batch_size, again.measured) == ("bf16", 50, False)


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
    path = tmp_path / "tuning.json"
    path.write_text("{not json")
    with pytest.warns(RuntimeWarning, match=f"ignoring unreadable tuning cache {path}.*measuring again") as caught:
        assert _tune(CountingTimer(), TuningCache(path)).measured
    assert len(caught) == 1  # once, not again when the new measurement is stored
    assert json.loads(path.read_text())  # rebuilt: the next run reads it without a warning
    assert not _tune(CountingTimer(), TuningCache(path)).measured


def test_small_image_sets_cap_the_candidates(tmp_path) -> None:
    seen = []

    def timer(precision: str, batch_size: int) -> float:
        seen.append(batch_size)
        return 1.0

    tuning = tune(timer, CPU, "tiny", images=37, precision="fp32", cache=TuningCache(tmp_path / "t.json"))
    assert set(seen) == {37} and tuning.batch_size == 37
