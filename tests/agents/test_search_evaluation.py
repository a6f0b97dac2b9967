"""The search runner records how the reward was evaluated: resolved precision, batch size, cache hits."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agents.search import run_search

pytestmark = pytest.mark.data


def test_resolved_precision_and_cache_hits_are_written(tmp_path: Path) -> None:
    env = {"preset": "resnet20-synthetic-smoke", "bn_recalibration": False}
    summary = run_search(tmp_path / "s", env, "uniform", episodes=1, progress=False)
    config = json.loads((tmp_path / "s" / "config.json").read_text())
    assert config["env_options"].get("precision", "auto") == "auto"  # what was asked ...
    for resolved in (summary, config):  # ... and what it meant on this machine
        assert resolved["precision"] in ("fp32", "bf16", "fp16") and resolved["batch_size"] >= 1
    records = [json.loads(line) for line in (tmp_path / "s" / "episodes.jsonl").read_text().splitlines()]
    assert records[0]["reward_cached"] is False
