"""The latency model, its cache and the budget wall on latency (fast: made-up tables, tiny timings)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

import agmc_env.latency.cache as latency_cache
from agmc_env import tuning
from agmc_env.errors import ConfigError
from agmc_env.latency import LatencyModel, TimingSettings, load_latency_model, measure_latency, measure_table
from agmc_env.models import get_model
from agmc_env.pruning import BudgetWall, make_pruning_method
from tests.envs.conftest import TinyResidualCNN
from tests.latency.fake import fake_table

TINY_TIMING = TimingSettings(warmup=1, repeats=3)


@pytest.fixture(scope="module")
def resnet20_method():
    torch.manual_seed(0)
    return make_pruning_method("channel", get_model("resnet20", pretrained=False), (3, 32, 32))


@pytest.fixture
def fake_measurement(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Replace the timing by :func:`fake_table`; the list counts the measurements."""
    calls: list[int] = []

    def measure(method, *args, **kwargs):
        calls.append(1)
        return fake_table(method)

    monkeypatch.setattr(latency_cache, "measure_table", measure)
    return calls


def test_prediction_is_monotone_and_exact_when_unpruned(resnet20_method) -> None:
    table = fake_table(resnet20_method)
    model = LatencyModel(table, resnet20_method.units)
    assert model.predict_ratios([0.0] * 9) == pytest.approx(table.base_ms)
    rng = np.random.default_rng(0)
    for _ in range(50):
        ratios = rng.uniform(0, 1, 9)
        more = np.minimum(1.0, ratios + rng.uniform(0, 0.3, 9))  # every unit prunes at least as much
        assert model.predict_ratios(more) <= model.predict_ratios(ratios) + 1e-12
    parts = model.unit_ms()
    assert len(parts) == 9 and 0 < sum(parts) < model.base_ms  # the rest of the network is the remainder


@pytest.mark.parametrize("two_sided", [False, True])
@pytest.mark.parametrize("preserve", [0.5, 0.7])
def test_wall_never_exceeds_the_latency_budget(resnet20_method, preserve: float, two_sided: bool) -> None:
    latency = LatencyModel(fake_table(resnet20_method), resnet20_method.units)
    wall = BudgetWall(
        resnet20_method.cost_model, target="latency", preserve=preserve, max_ratio=0.9, two_sided=two_sided,
        latency=latency,
    )  # fmt: skip
    assert wall.base == pytest.approx(latency.base_ms)
    rng = np.random.default_rng(1)
    for _ in range(25):
        ratios: list[float] = []
        for _ in range(wall.num_units):
            low, high = wall.bounds(ratios)
            ratios.append(float(np.clip(rng.uniform(0, 1), low, high)))
        predicted = latency.predict_ratios(ratios)
        assert predicted <= preserve * latency.base_ms + 1e-9
        assert wall.within_budget(ratios) and wall.slack(ratios) >= 0
        filled = wall.fill(ratios)
        assert latency.predict_ratios(filled) <= preserve * latency.base_ms + 1e-9
        assert latency.predict_ratios(filled) >= predicted - 1e-9  # filling gives latency back, never takes


def test_unreachable_latency_budget_names_preserve(resnet20_method) -> None:
    latency = LatencyModel(fake_table(resnet20_method), resnet20_method.units)
    with pytest.raises(ConfigError, match="unreachable") as caught:
        BudgetWall(resnet20_method.cost_model, target="latency", preserve=0.05, latency=latency)
    assert caught.value.option == "preserve"
    with pytest.raises(ConfigError) as caught:
        BudgetWall(resnet20_method.cost_model, target="latency", preserve=0.5)  # no latency model
    assert caught.value.option == "target"


def test_cache_is_reused(resnet20_method, fake_measurement: list[int], tmp_path: Path) -> None:
    first = load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    second = load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    assert len(fake_measurement) == 1
    assert second.base_ms == first.base_ms
    files = list((tmp_path / "latency").glob("resnet20-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["key"]["batch"] == 1
    load_latency_model(resnet20_method, "resnet20", batch=8, cache=str(tmp_path), progress=False)
    assert len(fake_measurement) == 2  # another batch is another table


@pytest.mark.parametrize(
    "change",
    [
        lambda m: m.setattr(tuning, "device_description", lambda device: "another CPU (AVX512)"),
        lambda m: m.setattr(torch, "__version__", "99.0.0"),
        lambda m: m.setattr(torch, "get_num_threads", lambda: 64),
    ],
    ids=["device", "torch-version", "threads"],
)
def test_cache_is_invalidated(resnet20_method, fake_measurement: list[int], tmp_path: Path, monkeypatch, change) -> None:
    load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    with monkeypatch.context() as patch:
        change(patch)
        load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    assert len(fake_measurement) == 2
    load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    assert len(fake_measurement) == 2  # the original setting's table is still there


def test_damaged_cache_is_measured_again(resnet20_method, fake_measurement: list[int], tmp_path: Path) -> None:
    load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    (path,) = (tmp_path / "latency").glob("*.json")
    path.write_text("{not json")
    with pytest.warns(RuntimeWarning, match="unreadable latency table"):
        load_latency_model(resnet20_method, "resnet20", cache=str(tmp_path), progress=False)
    assert len(fake_measurement) == 2 and json.loads(path.read_text())["table"]


@pytest.mark.parametrize("batch", [0, -1, 1.5, "1", True, 5000])
def test_bad_batch_names_latency_batch(resnet20_method, batch, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_latency_model(resnet20_method, "resnet20", batch=batch, cache=str(tmp_path))
    assert caught.value.option == "latency_batch"


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:x", ""])
def test_unknown_device_names_device(resnet20_method, device: str, tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_latency_model(resnet20_method, "resnet20", device=device, cache=str(tmp_path))
    assert caught.value.option == "device"
    with pytest.raises(ConfigError):
        measure_latency(torch.nn.Identity(), (3, 4, 4), device=device)


def test_real_measurement_of_a_tiny_model(tmp_path: Path) -> None:
    torch.manual_seed(0)
    model = TinyResidualCNN().eval()
    method = make_pruning_method("channel", model, (3, 16, 16))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    table = measure_table(method, batch=1, device=torch.device("cpu"), settings=TINY_TIMING, points=3, progress=False)
    assert [u.name for u in table.units] == [u.name for u in method.units]
    assert all(t > 0 for u in table.units for t in u.ms) and table.base_ms > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())  # the model is not touched
    latency = LatencyModel(table, method.units)
    # Timings on a busy machine are noisy; what holds by construction is checked, not a figure.
    unpruned = latency.predict_ratios([0.0] * len(method.units))
    assert unpruned == pytest.approx(latency.base_ms)
    measured = [t for _, _, t in table.calibration]
    assert min(measured) <= latency.base_ms <= max(measured)
    assert latency.predict_ratios([0.9] * len(method.units)) <= unpruned
    assert len(table.calibration) == 6 and table.base_ms == table.calibration[0][2]


def test_round_to_measures_and_predicts_the_rounded_widths(fake_measurement: list[int], tmp_path: Path) -> None:
    from agmc_env.latency.table import grid

    torch.manual_seed(0)
    rounded = make_pruning_method("channel", get_model("resnet20", pretrained=False), (3, 32, 32), round_to=8)
    assert all(k % 8 == 0 for u in rounded.units for k in grid(u, 8, rounded.round_to))
    latency = load_latency_model(rounded, "resnet20", cache=str(tmp_path), progress=False)
    ratios = [0.3] * len(rounded.units)
    assert latency.kept(ratios) == rounded.kept_sizes(ratios) == [u.kept(0.3, 8) for u in rounded.units]
    files = list((tmp_path / "latency").glob("resnet20-*.json"))
    assert len(files) == 1 and json.loads(files[0].read_text())["key"]["round_to"] == 8
    plain = make_pruning_method("channel", get_model("resnet20", pretrained=False), (3, 32, 32))
    load_latency_model(plain, "resnet20", cache=str(tmp_path), progress=False)
    assert len(fake_measurement) == 2  # rounding is another table
