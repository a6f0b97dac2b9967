"""`agmc evaluate`: JSON output and exit codes."""

from __future__ import annotations

import json

import pytest

from agmc_cli import main
from tests.pruned_folder import save_random_pruned_resnet20


@pytest.mark.data
def test_evaluate_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--model", "resnet20", "--split", "search", "--size", "500", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 500
    assert result["macs"] == 40_551_040 and result["flops"] == 81_102_080
    assert result["params"] == 269_722
    assert "pruned" not in result and "original_flops" not in result  # a zoo model is its own original
    assert 85.0 < result["accuracy"] <= 100.0


def test_unknown_model_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:  # refused by argparse, while parsing
        main(["evaluate", "--model", "resnet57"])
    assert exit_.value.code == 2
    assert "argument --model: must be one of (" in capsys.readouterr().err


def test_missing_data_is_a_failure_that_names_the_place(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--model", "resnet20", "--data-dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert str(tmp_path) in err and "Traceback" not in err


def test_bad_choice_exits_2() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["evaluate", "--precision", "int4"])
    assert exit_info.value.code == 2


@pytest.fixture(scope="module")
def pruned(tmp_path_factory: pytest.TempPathFactory):
    """A pruned ResNet-20 folder (random weights, synthetic images) and the final ``info`` of its episode."""
    folder = tmp_path_factory.mktemp("pruned") / "best"
    return folder, save_random_pruned_resnet20(folder)


def test_pruned_cost_is_next_to_the_original(pruned) -> None:
    from agmc_env.scoring import load_scored_model, pruned_cost

    folder, info = pruned
    model, _ = load_scored_model("resnet20", pruned=folder)
    cost = pruned_cost(model, folder)
    assert (cost.original.flops, cost.original.params) == (81_102_080, 269_722)  # the unpruned ResNet-20
    assert cost.kept.flops == info["kept_flops"] < cost.original.flops
    assert cost.kept_flops_fraction == pytest.approx(info["kept_flops_fraction"])
    assert cost.kept_params_fraction == pytest.approx(info["kept_params_fraction"])
    assert (cost.target, cost.preserve) == ("flops", 0.5)


@pytest.mark.data
def test_evaluate_pruned_says_so_and_shows_the_original(pruned, capsys: pytest.CaptureFixture[str]) -> None:
    folder, info = pruned
    assert main(["evaluate", "--pruned", str(folder), "--size", "50", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["pruned"] == str(folder) and "resnet20 pruned" in captured.err
    assert result["flops"] == info["kept_flops"] and result["original_flops"] == 81_102_080
    assert result["original_params"] == 269_722 and result["params"] < 269_722
    assert result["kept_flops_fraction"] == pytest.approx(info["kept_flops_fraction"], abs=1e-4)
    assert result["kept_params_fraction"] == pytest.approx(info["kept_params_fraction"], abs=1e-4)
    assert result["budget"] == "flops <= 0.5 of the original"
    assert main(["evaluate", "--pruned", str(folder), "--size", "50"]) == 0
    assert "original_flops" in capsys.readouterr().out  # the lines for people too

