"""`agmc evaluate`: JSON output and exit codes."""

from __future__ import annotations

import json

import pytest

from agmc_cli import main


@pytest.mark.data
def test_evaluate_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evaluate", "--model", "resnet20", "--split", "search", "--size", "500", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 500
    assert result["macs"] == 40_551_040 and result["flops"] == 81_102_080
    assert result["params"] == 269_722
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
