"""``agmc sweep`` on a local Ray, its resume and its refusals, and the RLlib env creator in a Ray worker.

One Ray for the whole module (the env creator test shares it) (``ray.init(num_cpus=2)``: starting Ray costs seconds); the sweep uses
a Ray already running in its process as it is. Skipped where Ray is not installed (``agmc-env[ray]``).
The trials are a random ResNet-20 on 16 random images, so no data file is needed.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

ray = pytest.importorskip("ray")
pytest.importorskip("ray.tune")

TINY = ["--dataset", "synthetic", "--no-pretrained", "--val-size", "16", "--rescore-top", "0", "--no-progress", "--json"]


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, logging_level="WARNING")
    yield
    ray.shutdown()


def _free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _tune_runs(out: Path) -> list[Path]:
    return sorted((out / "ray").glob("tune-*")) if (out / "ray").is_dir() else []


@pytest.mark.slow
def test_sweep_runs_the_grid_and_resume_reruns_nothing(agmc, local_ray, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    argv = ["sweep", "--models", "resnet20", "--agents", "random", "uniform", "--seeds", "0", "--episodes", "2", *TINY]
    assert agmc(*argv, "--out", str(out)) == 0
    result = json.loads(capsys.readouterr().out)
    rows = {row["method"]: row for row in result["rows"]}
    assert result["trials"] == 2 and {r["status"] for r in rows.values()} == {"finished"}
    assert rows["random"]["episodes"] == 2 and rows["uniform"]["episodes"] == 1  # uniform: one episode says it all
    for row in rows.values():
        assert Path(row["model_path"]).is_dir() and 0 < row["kept_flops"] <= 0.5
    assert (out / "results.md").is_file() and (out / "results.csv").is_file()
    runs = _tune_runs(out)
    assert len(runs) == 1

    assert agmc(*argv, "--out", str(out), "--resume") == 0
    assert {r["status"] for r in json.loads(capsys.readouterr().out)["rows"]} == {"reused"}
    assert _tune_runs(out) == runs  # no Tune run, no trial

    # A longer budget: the random search continues from its checkpoint, the deterministic one is done.
    log = out / "trials" / "resnet20-random-p0.5-seed0" / "episodes.jsonl"
    before = log.read_text()
    argv[argv.index("--episodes") + 1] = "3"
    assert agmc(*argv, "--out", str(out), "--resume") == 0
    rows = {row["method"]: row for row in json.loads(capsys.readouterr().out)["rows"]}
    assert rows["random"]["status"] == "finished" and rows["random"]["episodes"] == 3
    assert rows["uniform"]["status"] == "reused"
    assert log.read_text().startswith(before) and len(log.read_text().splitlines()) == 3


@pytest.mark.slow
def test_gpu_request_without_gpus_is_refused_before_any_trial(agmc, local_ray, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    assert agmc("sweep", "--agents", "random", "--episodes", "1", *TINY, "--gpus-per-trial", "0.5", "--out", str(out)) == 2
    error = capsys.readouterr().err
    assert "--gpus-per-trial" in error and "no GPU" in error and "Traceback" not in error
    assert not out.exists()  # refused before the sweep wrote anything
    assert agmc("sweep", "--agents", "random", "--episodes", "1", *TINY, "--cpus-per-trial", "3", "--out", str(out)) == 2
    assert "--cpus-per-trial is 3, but the Ray cluster has 2 CPU(s)" in capsys.readouterr().err


def test_unreachable_address_is_refused_in_seconds(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "sweep"
    address = f"127.0.0.1:{_free_port()}"
    assert agmc("sweep", "--agents", "random", "--episodes", "1", *TINY, "--address", address, "--out", str(out)) == 2
    error = capsys.readouterr().err
    assert f"--address '{address}' cannot be reached" in error and "ray start --head" in error
    assert not out.exists()


def test_unknown_agent_is_refused_at_parse_time(agmc, tmp_path: Path, capsys) -> None:
    assert agmc("sweep", "--agents", "agmc", "dqn", "--out", str(tmp_path / "sweep")) == 2
    assert "argument --agents: must be one of" in capsys.readouterr().err
    assert not (tmp_path / "sweep").exists()


@pytest.mark.slow
def test_env_creator_builds_the_env_inside_a_ray_worker(local_ray) -> None:
    from agmc_env.ray_env import ENV_NAME, register_ray_env

    register_ray_env({"preset": "resnet20-synthetic-random", "val_size": 16})

    @ray.remote(num_cpus=1)
    def episode(config: dict) -> dict:
        import os

        from ray.tune.registry import ENV_CREATOR, _global_registry

        env = _global_registry.get(ENV_CREATOR, ENV_NAME)(config)  # as RLlib's env runners look it up
        env.reset(seed=0)
        done, steps = False, 0
        while not done:
            _, reward, terminated, truncated, info = env.step(env.action_space.sample())
            done, steps = terminated or truncated, steps + 1
        result = {"pid": os.getpid(), "steps": steps, "device": env.unwrapped.config.device, "val_size": env.unwrapped.config.val_size}
        env.close()
        return {**result, "accuracy": info["accuracy"]}

    import os

    result = ray.get(episode.remote({"val_size": 8}))
    assert result["pid"] != os.getpid() and result["steps"] > 1
    assert result["device"] == "cpu" and result["val_size"] == 8  # the worker has no GPU; env_config beats the defaults
    assert 0 <= result["accuracy"] <= 100
