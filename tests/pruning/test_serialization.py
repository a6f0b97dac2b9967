from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from agmc_env.models import get_model
from agmc_env.pruning import find_units, kept_channels, load_pruned, prune_model, pruning_spec, save_pruned


@pytest.mark.parametrize(("name", "unit_set"), [("resnet20", "inner"), ("mobilenet_v2_cifar", "all")])
def test_save_load_round_trips_outputs_exactly(tmp_path: Path, name: str, unit_set: str) -> None:
    model = get_model(name, pretrained=False)
    units = find_units(model, (3, 32, 32), unit_set)
    ratios = [0.1 + 0.7 * (i % 3) / 2 for i in range(len(units))]
    pruned = prune_model(model, units, ratios, importance="fpgm")
    kept = [kept_channels(u.channels, r) for u, r in zip(units, ratios)]
    spec = pruning_spec(name, units, kept, unit_set, (3, 32, 32), ratios=ratios)
    save_pruned(tmp_path, pruned, spec)
    assert json.loads((tmp_path / "pruned.json").read_text())["ratios"] == ratios
    loaded, loaded_spec = load_pruned(tmp_path)
    assert loaded_spec == spec
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(x), pruned(x))


def test_bad_specs_and_missing_files(tmp_path: Path) -> None:
    model = get_model("resnet20", pretrained=False)
    units = find_units(model, (3, 32, 32))
    with pytest.raises(ValueError, match="unknown model"):
        pruning_spec("my_net", units, [1] * len(units))
    with pytest.raises(ValueError, match="lacks"):
        save_pruned(tmp_path, model, {"model": "resnet20"})
    with pytest.raises(FileNotFoundError, match="save_pruned"):
        load_pruned(tmp_path / "nothing")


def test_a_save_killed_midway_leaves_the_previous_model_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    model = get_model("resnet20", pretrained=False)
    units = find_units(model, (3, 32, 32))
    spec = pruning_spec("resnet20", units, [u.channels for u in units])
    save_pruned(tmp_path, model, spec)
    before = {name: (tmp_path / name).read_bytes() for name in ("pruned.json", "weights.pt")}

    def dies_halfway(obj: object, path: Path) -> None:
        Path(path).write_bytes(b"PK\x03\x04 half a file")
        raise KeyboardInterrupt  # what a kill between the first and last byte looks like to the writer

    monkeypatch.setattr(torch, "save", dies_halfway)
    with pytest.raises(KeyboardInterrupt):
        save_pruned(tmp_path, get_model("resnet20", pretrained=False), spec)
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pruned.json", "weights.pt"]  # no temporary left
    load_pruned(tmp_path)
