"""Two fresh processes run the same seeded ``agmc search``: one with an empty cache, one with the cache
the first filled. They must log the same episodes, and leave nothing in the temporary directory.

A small search (random ResNet-20, synthetic images, the AGMC agent: SB3 DDPG on the learned graph
embedding, so the embedding cache and SB3's logger are both exercised) in about ten seconds a run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SEARCH = [
    "search", "--agent", "agmc", "--episodes", "6", "--warmup", "2", "--seed", "3", "--val-size", "101",
    "--dataset", "synthetic", "--no-pretrained", "--device", "cpu", "--threads", "1", "--no-progress",
]  # fmt: skip
# torch creates its per-user compile cache (torchinductor_<user>) in the temporary directory when
# torch._dynamo is imported, once for every later process: a cache of torch's, not a run's litter.
TORCH_CACHE_PREFIX = "torchinductor_"


def _search(out: Path, cache: Path, temp: Path) -> None:
    temp.mkdir()
    env = {
        **os.environ, "AGMC_CACHE": str(cache), "TMPDIR": str(temp), "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    command = [sys.executable, "-c", "import sys, agmc_cli; sys.exit(agmc_cli.main())", *SEARCH, "--out", str(out)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


def _episodes(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "episodes.jsonl").read_text().splitlines()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("repro")
    cache = root / "cache"
    _search(root / "cold", cache, root / "tmp-cold")
    # The warm run reads the embedding and the batch size the cold one stored, with the batch size
    # changed to another candidate, as a cold run on a busier machine could have measured it.
    tuning = cache / "tuning.json"
    entries = json.loads(tuning.read_text())
    for entry in entries.values():
        entry["batch_size"] = 50 if entry["batch_size"] != 50 else 100
    tuning.write_text(json.dumps(entries))
    assert list((cache / "embeddings").glob("gae-*.pt"))
    _search(root / "warm", cache, root / "tmp-warm")
    return root


def test_cold_and_warm_cache_give_identical_episodes(runs: Path) -> None:
    cold, warm = _episodes(runs / "cold"), _episodes(runs / "warm")
    assert len(cold) == len(warm) == 6
    assert [e["reward"] for e in cold] == [e["reward"] for e in warm]
    assert [e["ratios"] for e in cold] == [e["ratios"] for e in warm]
    assert len({tuple(e["ratios"]) for e in cold}) > 1  # the agent did explore: the comparison means something
    batch = {json.loads((runs / name / "config.json").read_text())["batch_size"] for name in ("cold", "warm")}
    assert len(batch) == 2  # the two runs scored in different batches, with the same results


def test_a_search_with_an_sb3_agent_leaves_nothing_behind(runs: Path) -> None:
    for name in ("tmp-cold", "tmp-warm"):
        left = [p.name for p in (runs / name).iterdir() if not p.name.startswith(TORCH_CACHE_PREFIX)]
        assert left == [], f"left in the temporary directory: {left}"  # SB3-* folders, PyG's generated code
    for name in ("cold", "warm"):
        leftovers = [p.name for p in (runs / name).rglob("*") if ".tmp" in p.name]
        assert leftovers == []
