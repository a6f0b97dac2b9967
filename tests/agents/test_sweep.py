"""The sweep's plan, its bookkeeping and its tables, without Ray (``agents.sweep``)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from agents.search import run_search
from agents.sweep import (
    COLUMNS, Trial, check_sweep_folder, is_finished, plan_grid, run_trial, trial_row, write_results, write_sweep_record,
)  # fmt: skip
from agmc_env.checks import SEED, ListOf
from agmc_env.errors import ConfigError, CorruptFileError, MissingFileError

TINY_ENV = {"preset": "resnet20-synthetic-random", "val_size": 16, "device": "cpu"}
SETTINGS = {"env_options": TINY_ENV, "episodes": 2, "warmup_episodes": 1, "population": None, "rescore_top": 0}


def test_grid_is_every_combination_in_a_stable_order() -> None:
    trials = plan_grid(["resnet20"], ["agmc", "uniform"], [0, 1], [0.5])
    assert [t.name for t in trials] == [
        "resnet20-agmc-p0.5-seed0", "resnet20-agmc-p0.5-seed1", "resnet20-uniform-p0.5-seed0", "resnet20-uniform-p0.5-seed1",
    ]  # fmt: skip
    assert trials[0].directory("OUT") == Path("OUT/trials/resnet20-agmc-p0.5-seed0")


@pytest.mark.parametrize(
    "axes, option, words",
    [
        ((["resnet20"], ["dqn"], [0], [0.5]), "agents", "'dqn'"),
        ((["resnet21"], ["agmc"], [0], [0.5]), "models", "'resnet21'"),
        ((["resnet20"], ["agmc"], [0, 0], [0.5]), "seeds", "more than once"),
        ((["resnet20"], ["agmc"], [0], [1.5]), "preserve", "(0, 1]"),
        ((["resnet20"], [], [0], [0.5]), "agents", "one or more"),
    ],
)
def test_bad_grid_names_the_axis(axes: tuple, option: str, words: str) -> None:
    with pytest.raises(ConfigError) as caught:
        plan_grid(*axes)
    assert caught.value.option == option and words in str(caught.value)


def test_list_check_checks_every_value() -> None:
    assert ListOf(SEED)("seeds", [3, 1]) == [3, 1]
    with pytest.raises(ConfigError, match="seeds"):
        ListOf(SEED)("seeds", [1, -1])


def test_finished_resumed_and_new_trials(tmp_path: Path) -> None:
    done, partial, new = (Trial("resnet20", agent, 0.5, 0) for agent in ("random", "cem", "uniform"))
    run_search(done.directory(tmp_path), {**TINY_ENV, "preserve": 0.5}, "random", episodes=2, progress=False, rescore_top=0)
    run_search(partial.directory(tmp_path), {**TINY_ENV, "preserve": 0.5}, "random", episodes=1, progress=False, rescore_top=0)
    assert is_finished(done, tmp_path, SETTINGS) and not is_finished(new, tmp_path, SETTINGS)
    assert not is_finished(done, tmp_path, {**SETTINGS, "episodes": 3})
    assert not is_finished(done, tmp_path, {**SETTINGS, "finetune_epochs": 1})  # its fine-tune is missing
    # A deterministic agent is finished after its one episode, whatever the budget.
    run_search(new.directory(tmp_path), {**TINY_ENV, "preserve": 0.5}, "uniform", episodes=1, progress=False, rescore_top=0)
    assert is_finished(new, tmp_path, {**SETTINGS, "episodes": 50})


def test_run_trial_continues_a_killed_search_from_its_checkpoint(tmp_path: Path) -> None:
    trial = Trial("resnet20", "random", 0.5, 0)
    log = trial.directory(tmp_path) / "episodes.jsonl"
    env = {**TINY_ENV, "model": "resnet20", "preserve": 0.5}  # what the trial passes
    run_search(trial.directory(tmp_path), env, "random", episodes=1, progress=False, rescore_top=0)
    first = log.read_text()
    reported = []
    summary = run_trial(trial, tmp_path, SETTINGS, on_episode=lambda record, best: reported.append(record["episode"]))
    assert summary["episodes"] == 2 and reported == [1]  # episode 0 was kept, not rerun
    assert log.read_text().startswith(first) and len(log.read_text().splitlines()) == 2


def test_resume_checks_the_shared_settings(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match="holds no sweep"):
        check_sweep_folder(tmp_path, SETTINGS, resume=True)
    write_sweep_record(tmp_path, SETTINGS, [Trial("resnet20", "random", 0.5, 0)])
    check_sweep_folder(tmp_path, {**SETTINGS, "episodes": 9}, resume=True)  # more episodes: fine
    with pytest.raises(ConfigError, match="different env_options"):
        check_sweep_folder(tmp_path, {**SETTINGS, "env_options": {**TINY_ENV, "val_size": 32}}, resume=True)
    (tmp_path / "sweep.json").write_text("{")
    with pytest.raises(CorruptFileError, match="sweep.json"):
        check_sweep_folder(tmp_path, SETTINGS, resume=True)


def test_results_have_the_compare_columns_in_three_formats(tmp_path: Path) -> None:
    ran, missing = Trial("resnet20", "random", 0.5, 0), Trial("resnet20", "random", 0.5, 1)
    run_search(ran.directory(tmp_path), {**TINY_ENV, "preserve": 0.5}, "random", episodes=2, progress=False, rescore_top=0)
    rows = [trial_row(ran, tmp_path, "finished"), trial_row(missing, tmp_path, "error", "boom")]
    paths = write_results(tmp_path, rows, SETTINGS)
    with open(paths["csv"]) as handle:
        table = list(csv.DictReader(handle))
    assert tuple(table[0])[: len(COLUMNS)] == COLUMNS and table[1]["error"] == "boom"
    assert table[0]["episodes"] == "2" and 0 < float(table[0]["kept_flops"]) <= 0.5
    assert json.loads(paths["json"].read_text())["rows"][0]["model_path"].endswith("seed0/best")
    markdown = paths["markdown"].read_text()
    assert "| resnet20 | random | 0.5 | 0 | finished | 2 |" in markdown and "mean ± std over seeds" in markdown
