"""Smoke tests of the issue-7 benchmark scripts: each runs end to end in a reduced form and writes
its files. The figures themselves are not checked (a few episodes on 100 images say nothing)."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TINY_SEARCH = ["--val-size", "100", "--warmup-episodes", "1", "--device", "cpu", "--rescore-size", "100"]


def _run(script: str, *arguments: str, cwd: Path) -> str:
    # One torch thread: the scripts' work is tiny here and CI machines are shared.
    env = {**os.environ, "OMP_NUM_THREADS": "1", "AGMC_CACHE": str(cwd / "cache")}
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / script), *arguments],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_zoo_coverage(tmp_path: Path) -> None:
    stdout = _run("zoo_coverage.py", "--models", "resnet18", "squeezenet1_1", "--gae-epochs", "20",
                  "--csv-out", "zoo.csv", "--json-out", "zoo.json", cwd=tmp_path)
    assert "| resnet18 |" in stdout
    rows = list(csv.DictReader(open(tmp_path / "zoo.csv")))
    assert [r["model"] for r in rows] == ["resnet18", "squeezenet1_1"]
    assert rows[0]["graph"] == rows[0]["prune"] == rows[0]["embed"] == "pass"
    assert json.loads((tmp_path / "zoo.json").read_text())["rows"]


@pytest.mark.slow
@pytest.mark.data
def test_compare(tmp_path: Path) -> None:
    stdout = _run(
        "compare.py", "--models", "resnet20", "--seeds", "0", "--episodes", "2", *TINY_SEARCH,
        "--report-size", "200", "--test-size", "200", "--finetune-epochs", "1", "--finetune-size", "64",
        "--speed-images", "100", "--out-dir", "cmp", cwd=tmp_path,
    )
    assert "### resnet20" in stdout
    rows = list(csv.DictReader(open(tmp_path / "cmp" / "compare.csv")))
    assert {r["method"] for r in rows} == {"unpruned", "handcrafted", "random", "amc", "agmc_ddpg", "agmc_td3"}
    for row in rows:
        assert 0.45 <= float(row["kept_flops"]) <= 0.5 or row["method"] == "unpruned"
        assert float(row["report_acc_ft"] or 0) >= 0
    assert (tmp_path / "cmp" / "resnet20" / "agmc_ddpg" / "seed0" / "episodes.jsonl").exists()
    # Each fine-tune's scores are kept in its run, so a killed comparison resumes without redoing them.
    cached = tmp_path / "cmp" / "resnet20" / "agmc_ddpg" / "seed0" / "finetune_1ep_distill_auto_64.json"
    assert json.loads(cached.read_text())["report_acc_ft"] == float(
        next(r for r in rows if r["method"] == "agmc_ddpg")["report_acc_ft"])


@pytest.mark.slow
@pytest.mark.data
def test_search_efficiency(tmp_path: Path) -> None:
    stdout = _run("search_efficiency.py", "--seeds", "0", "--episodes", "3", *TINY_SEARCH, "--out-dir", "eff",
                  cwd=tmp_path)
    assert "| gnn |" in stdout and "| rule |" in stdout
    assert (tmp_path / "eff" / "resnet20_search_efficiency.png").stat().st_size > 1000
    payload = json.loads((tmp_path / "eff" / "resnet20_search_efficiency.json").read_text())
    assert {r["embedding"] for r in payload["rows"]} == {"gnn", "rule"}
    assert all(len(r["curve"]) == 3 for r in payload["rows"])


@pytest.mark.slow
@pytest.mark.data
def test_search_speed(tmp_path: Path) -> None:
    stdout = _run("search_speed.py", "--quick", "--json-out", "speed.json", cwd=tmp_path)
    assert "| old | fp32 | 250 |" in stdout and "| new |" in stdout
    payload = json.loads((tmp_path / "speed.json").read_text())
    assert set(payload["episodes"]) == set(payload["searches"]) == {"old", "new"}
    assert payload["searches"]["new"]["precision"] in ("fp32", "bf16", "fp16")
    # Folding and the batch size change rounding only: the same policies rank the same.
    assert payload["agreement"][0]["max_accuracy_diff"] <= 1.0


@pytest.mark.slow
def test_finetune_speed(tmp_path: Path) -> None:
    stdout = _run(
        "finetune_speed.py", "--model", "resnet20", "--images", "64", "--batch-size", "32", "--rounds", "1",
        "--precisions", "fp32", "--json-out", "speed.json", cwd=tmp_path,
    )  # fmt: skip
    assert "| fp32 | engine | " in stdout and "| fp32 | plain loop | " in stdout
    figures = json.loads((tmp_path / "speed.json").read_text())["images_per_s"]
    assert figures["fp32/engine"] > 0 and figures["fp32/engine + distillation"] > 0


@pytest.mark.slow
def test_latency_model(tmp_path: Path) -> None:
    tiny = ["--model", "resnet20", "--no-pretrained", "--warmup", "1", "--repeats", "3", "--points", "3"]
    stdout = _run("latency_model.py", "accuracy", *tiny, "--policies", "2", "--json-out", "acc.json", cwd=tmp_path)
    assert "| resnet20 | 32² | 9 | 2 | latency |" in stdout
    assert len(json.loads((tmp_path / "acc.json").read_text())["rows"]) == 2
    stdout = _run(
        "latency_model.py", "search", *tiny, "--dataset", "synthetic", "--preserve", "0.8", "--flops-preserve", "0.8",
        "--agent", "random", "--episodes", "1", "--val-size", "20", "--rescore-top", "0", "--out-dir", "runs",
        "--json-out", "search.json", cwd=tmp_path,
    )  # fmt: skip
    rows = json.loads((tmp_path / "search.json").read_text())["rows"]
    assert [(r["target"], r["preserve"]) for r in rows] == [("latency", 0.8), ("flops", 0.8)]
    assert all(r["speedup_measured"] > 0 for r in rows)


@pytest.mark.slow
def test_gpu_check_skips_cleanly_without_cuda(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("a GPU is present: gpu_check.py would run for minutes")
    assert "no CUDA device here: skipped" in _run("gpu_check.py", cwd=tmp_path)


@pytest.mark.slow
@pytest.mark.data
def test_calibration_size(tmp_path: Path) -> None:
    stdout = _run("calibration_size.py", "--quick", "--threads", "1", "--csv-out", "cal.csv", "--json-out", "cal.json",
                  cwd=tmp_path)
    assert "binomial standard error" in stdout
    rows = list(csv.DictReader(open(tmp_path / "cal.csv")))
    # The reference first (no difference from itself), then each setting once.
    assert [(r["precision"], r["images"]) for r in rows][:3] == [("fp32", "512"), ("bf16", "512"), ("fp32", "256")]
    assert float(rows[0]["max_abs_diff"]) == 0.0 and float(rows[0]["spearman"]) == 1.0
    assert len(json.loads((tmp_path / "cal.json").read_text())["accuracy"]["fp32:512"]) == 4  # unpruned + 3 policies
