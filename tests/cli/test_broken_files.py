"""Broken files on the command line: a one-line error that names the file and says what to do, exit 1.

One test per failure class: a corrupt file of each kind (a search's checkpoint, config and log, a
pruned model, a weights file, a CIFAR-10 array file), ``--resume`` where there is no search, a log
torn by a crash (resumed, not refused), a damaged ``best/`` or cache entry (rebuilt with a warning),
and two searches on one ``--out`` (the second refuses while the first holds the folder).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from agmc_env.models import get_model
from agmc_env.pruning import load_pruned

NO_FILES = ["--dataset", "synthetic", "--no-pretrained", "--val-size", "16", "--device", "cpu", "--threads", "1"]
SEARCH = ["search", "--agent", "ddpg", "--warmup", "1", "--rescore-top", "0", "--no-progress", "--json", *NO_FILES]
START_OVER = "re-run without --resume, with --force"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 2-episode DDPG search on random weights and images: every kind of file a search writes."""
    import agmc_cli

    out = tmp_path_factory.mktemp("search") / "run"
    assert agmc_cli.main([*SEARCH, "--episodes", "2", "--out", str(out)]) == 0
    assert (out / "checkpoint" / "state.json").is_file()
    return out


@pytest.fixture
def run(finished: Path, tmp_path: Path) -> Path:
    """A copy of the finished search, to damage."""
    return Path(shutil.copytree(finished, tmp_path / "run"))


def _resume(agmc, out: Path, capsys) -> tuple[int, str]:
    code = agmc(*SEARCH, "--episodes", "3", "--out", str(out), "--resume")
    err = capsys.readouterr().err
    return code, err


def _assert_one_line_error(err: str, *needles: str) -> None:
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if "error:" in line]
    assert len(lines) == 1, err
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])


def _log(out: Path) -> list[str]:
    return (out / "episodes.jsonl").read_text().splitlines()


def _truncate(path: Path, keep: int = 20) -> None:
    path.write_bytes(path.read_bytes()[:keep])


def _checkpoint_file(out: Path, prefix: str) -> Path:
    (path,) = (out / "checkpoint").glob(f"{prefix}-*")
    return path


@pytest.mark.parametrize(
    "damage",
    [
        "state.json",  # the commit of the checkpoint
        "state.json names a missing file",
        "agent",  # SB3's zip
        "replay_buffer",  # pickles
        "sb3_state",
        "rng",
        "config.json",
    ],
)
def test_a_corrupt_search_file_refuses_resume_naming_it(agmc, run: Path, capsys, damage: str) -> None:
    if damage == "state.json":
        path = run / "checkpoint" / "state.json"
        _truncate(path)
    elif damage == "state.json names a missing file":
        path = run / "checkpoint" / "state.json"
        _checkpoint_file(run, "rng").unlink()
    elif damage == "config.json":
        path = run / "config.json"
        path.write_text('{"env_options": ')
    else:
        path = _checkpoint_file(run, damage)
        _truncate(path, 100)
    log_before = (run / "episodes.jsonl").read_text()
    code, err = _resume(agmc, run, capsys)
    assert code == 1
    _assert_one_line_error(err, str(path), START_OVER)
    assert (run / "episodes.jsonl").read_text() == log_before  # nothing was changed
    assert not (run / "search.lock").exists()


def test_resume_where_there_is_no_search_refuses(agmc, tmp_path: Path, capsys) -> None:
    typo = tmp_path / "rn"  # a typo in --out must not start a new search from scratch
    code, err = _resume(agmc, typo, capsys)
    assert code == 1
    _assert_one_line_error(err, f"--resume: {typo} does not exist", "no search to continue")
    assert not typo.exists()
    typo.mkdir()
    (typo / "notes.txt").write_text("not a search")
    code, err = _resume(agmc, typo, capsys)
    assert code == 1
    _assert_one_line_error(err, f"--resume: {typo} holds no search", "leave out --resume")
    assert sorted(p.name for p in typo.iterdir()) == ["notes.txt"]


def test_a_log_line_torn_by_a_crash_is_dropped_on_resume(agmc, run: Path, capsys) -> None:
    with open(run / "episodes.jsonl", "a") as log:  # killed while writing the third episode's line
        log.write('{"episode": 2, "ratios": [0.1, ')
    code, err = _resume(agmc, run, capsys)
    assert code == 0, err
    lines = (run / "episodes.jsonl").read_text().splitlines()
    assert [json.loads(line)["episode"] for line in lines] == [0, 1, 2]


def test_a_log_that_lost_checkpointed_lines_refuses_naming_it(agmc, run: Path, capsys) -> None:
    log = run / "episodes.jsonl"
    log.write_text(log.read_text().splitlines(keepends=True)[0] + '{"episode": 1, "rat')  # torn inside the checkpoint
    code, err = _resume(agmc, run, capsys)
    assert code == 1
    _assert_one_line_error(err, str(log), "holds 1 complete episodes", "covers 2", START_OVER)


@pytest.mark.parametrize("name", ["policy.json", "pruned.json", "weights.pt"])
def test_a_damaged_best_model_is_rebuilt_on_resume(agmc, run: Path, capsys, name: str) -> None:
    _truncate(run / "best" / name, 10)
    with pytest.warns(RuntimeWarning, match=f"{run / 'best'}.*rebuilt from the episode log"):
        code, err = _resume(agmc, run, capsys)
    assert code == 0, err
    _, spec = load_pruned(run / "best")  # saved again from the episode log
    policy = json.loads((run / "best" / "policy.json").read_text())
    assert spec["kept_channels"] and policy["reward"] == max(json.loads(line)["reward"] for line in _log(run))


@pytest.mark.parametrize("name", ["pruned.json", "weights.pt"])
def test_a_corrupt_pruned_model_fails_naming_the_file(agmc, finished: Path, tmp_path: Path, capsys, name: str) -> None:
    best = Path(shutil.copytree(finished / "best", tmp_path / "best"))
    _truncate(best / name, 30)
    assert agmc("evaluate", "--pruned", str(best), "--size", "8") == 1
    _assert_one_line_error(capsys.readouterr().err, str(best / name), "save the pruned model again")
    assert agmc("export", "--pruned", str(best), "--onnx", str(tmp_path / "m.onnx")) == 1
    _assert_one_line_error(capsys.readouterr().err, str(best / name))


def test_a_corrupt_weights_file_fails_naming_the_file(agmc, tmp_path: Path, capsys) -> None:
    weights = tmp_path / "resnet20.th"
    torch.save(get_model("resnet20", pretrained=False).state_dict(), weights)
    _truncate(weights, 1000)
    assert agmc("evaluate", "--model", "resnet20", "--weights", str(weights), "--size", "8", "--offline") == 1
    _assert_one_line_error(capsys.readouterr().err, f"could not read weights file {weights}", "save it again")


def test_a_corrupt_cifar_file_fails_naming_the_file(agmc, tmp_path: Path, capsys) -> None:
    weights = tmp_path / "resnet20.th"
    torch.save(get_model("resnet20", pretrained=False).state_dict(), weights)
    data = tmp_path / "data"
    (data / "cifar10").mkdir(parents=True)
    arrays = data / "cifar10" / "test.npz"
    np.savez(arrays, x=np.zeros((16, 32, 32, 3), np.uint8), y=np.zeros(16, np.uint8))
    _truncate(arrays, arrays.stat().st_size // 2)  # a download or copy cut short
    argv = ["evaluate", "--model", "resnet20", "--weights", str(weights), "--size", "8", "--data-dir", str(data)]
    assert agmc(*argv, "--offline") == 1
    _assert_one_line_error(capsys.readouterr().err, f"could not read {arrays}", "agmc data --download cifar10")


# A second process that takes a search folder's lock, says so, and holds it until killed.
_HOLDER = """
import sys, time
from agmc_env.folder_lock import FolderLock
lock = FolderLock(sys.argv[1])
lock.acquire()
print("locked", flush=True)
time.sleep(600)
"""


def _hold_lock(folder: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, str(folder)], stdout=subprocess.PIPE, text=True, env=env)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def test_a_second_search_on_the_same_folder_refuses_while_the_first_runs(agmc, run: Path, capsys) -> None:
    holder = _hold_lock(run)
    try:
        log_before = (run / "episodes.jsonl").read_text()
        code, err = _resume(agmc, run, capsys)
        assert code == 1
        _assert_one_line_error(err, f"{run} is in use by another search", f"process {holder.pid}", str(run / "search.lock"))
        # --force would delete the first search's files under it: refused the same way, nothing touched.
        assert agmc(*SEARCH, "--episodes", "1", "--out", str(run), "--force") == 1
        assert "in use by another search" in capsys.readouterr().err
        assert (run / "episodes.jsonl").read_text() == log_before
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The killed holder's lock file is still there, but the OS released its lock: not stuck.
    assert (run / "search.lock").exists()
    code, err = _resume(agmc, run, capsys)
    assert code == 0, err
    assert not (run / "search.lock").exists()  # a search that ends removes its lock file


@pytest.mark.slow  # two processes that each build the env; the test above covers the lock in the fast suite
def test_two_real_searches_on_one_folder_do_not_interleave(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    env = {
        **os.environ, "OMP_NUM_THREADS": "1", "PYTHONWARNINGS": "ignore",
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }  # fmt: skip
    command = [sys.executable, "-c", "import sys, agmc_cli; sys.exit(agmc_cli.main())", *SEARCH, "--episodes", "400", "--out", str(out)]
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "episodes.jsonl").exists():  # the first search holds the folder and has begun
            assert first.poll() is None and time.monotonic() < deadline, "the first search never started"
            time.sleep(0.05)
        code = agmc(*SEARCH, "--episodes", "2", "--out", str(out), "--force")  # would replace the first's files
        err = capsys.readouterr().err
        assert first.poll() is None, "the first search ended before the second one was tried"
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert code == 1
    _assert_one_line_error(err, f"{out} is in use by another search", str(out / "search.lock"))
    episodes = [json.loads(line)["episode"] for line in (out / "episodes.jsonl").read_text().splitlines() if line.endswith("}")]
    assert episodes == list(range(len(episodes)))  # only the first search wrote the log
