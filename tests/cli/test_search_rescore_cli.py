"""``agmc search --rescore-top K``: the chosen policy's accuracies on screen, each labelled with its split
(random weights on synthetic images: no data file, seconds)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

NO_FILES = ["--dataset", "synthetic", "--no-pretrained", "--val-size", "16", "--device", "cpu", "--threads", "1"]
SEARCH = ["search", "--agent", "random", "--episodes", "4", "--no-progress", *NO_FILES]


@pytest.fixture(autouse=True)
def _restore_threads():
    # --threads sets torch's process-wide thread count: give the next tests theirs back.
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def test_screen_labels_each_accuracy_with_its_split_and_lists_the_candidates(agmc, tmp_path: Path, capsys) -> None:
    assert agmc(*SEARCH, "--out", str(tmp_path / "run"), "--rescore-top", "3", "--rescore-size", "64") == 0
    screen = capsys.readouterr().out
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    for line in (
        f"accuracy of the chosen policy (episode {summary['best_episode']}), by split:",
        f"search_reward_accuracy  {summary['search_reward_accuracy']:6.2f} %  search split, 16 images",
        f"search_split_accuracy   {summary['search_split_accuracy']:6.2f} %  search split, 64 images, fp32",
        f"report_split_accuracy   {summary['report_split_accuracy']:6.2f} %  report split, 64 images, fp32",
        f"test_accuracy           {summary['test_accuracy']:6.2f} %  test split, 64 images, fp32",
        "re-scored top 3 by reward on the search split (* the chosen one):",
    ):
        assert line in screen, line
    table = screen.split("(* the chosen one):\n")[1].splitlines()
    assert table[0].split() == ["rank", "episode", "reward", "acc@16", "acc@64"] and len(table) == 4
    assert [row.lstrip().startswith("*") for row in table[1:]] == [row["winner"] for row in summary["rescore"]]


def test_json_has_the_labelled_accuracies_and_rescore_top_0_the_old_summary(agmc, tmp_path: Path, capsys) -> None:
    assert agmc(*SEARCH, "--out", str(tmp_path / "a"), "--rescore-top", "2", "--rescore-size", "32", "--json") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["rescore_top"] == 2 and len(summary["rescore"]) == 2
    splits = summary["accuracy_splits"]
    assert [splits[k]["images"] for k in ("search_split_accuracy", "report_split_accuracy", "test_accuracy")] == [32] * 3
    assert agmc(*SEARCH, "--out", str(tmp_path / "b"), "--rescore-top", "0") == 0
    screen = capsys.readouterr().out
    assert "best_reward" in screen and "by split" not in screen and "rescore" not in screen
    assert not (tmp_path / "b" / "rescore.json").exists()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--rescore-top", "-1"], "argument --rescore-top: must be an integer >= 0, got -1"),
        (["--rescore-size", "0"], "argument --rescore-size: must be an integer >= 1, got 0"),
    ],
)
def test_bad_rescore_flags_exit_2_before_the_search(agmc, tmp_path: Path, capsys, argv: list[str], message: str) -> None:
    assert agmc(*SEARCH, "--out", str(tmp_path / "run"), *argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "run").exists()
