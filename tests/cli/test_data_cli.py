"""``agmc data`` (list, --verify, --download, --import, --json), --offline, and a first run that
downloads through a loopback mirror while a second downloads nothing. No test reaches the internet."""

from __future__ import annotations

import json
import os
import pickle
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agmc_env.data.sources import SOURCES
from tests.conftest import REAL_WEIGHTS

WEIGHTS = SOURCES["resnet20"].files[0].path
ALL_FILES = [f.path for s in SOURCES.values() for f in s.files]


def _json(capsys: pytest.CaptureFixture) -> dict:
    return json.loads(capsys.readouterr().out)


def test_data_lists_every_file_and_where_it_would_go(agmc, isolated_data: Path, capsys) -> None:
    assert agmc("data", "--json") == 0
    result = _json(capsys)
    assert [f["path"] for f in result["files"]] == ALL_FILES
    assert not any(f["found"] for f in result["files"])
    assert {f["location"] for f in result["files"]} == {str(isolated_data / p) for p in ALL_FILES}
    assert result["roots"] == [{"path": str(isolated_data), "origin": "cache"}] and result["offline"] is True
    assert agmc("data") == 0
    assert "would go to" in capsys.readouterr().out


def test_offline_download_is_refused_with_exit_1(agmc, mirror, capsys) -> None:
    assert agmc("data", "--offline", "--download", "cifar10") == 1
    error = capsys.readouterr().err
    assert "offline (AGMC_OFFLINE=1 or --offline)" in error and "Traceback" not in error
    assert mirror.server.requests == [] and os.environ["AGMC_OFFLINE"] == "0"  # --offline did not leak


def test_unknown_download_name_is_a_usage_error(agmc, isolated_data: Path, capsys) -> None:
    assert agmc("data", "--download", "mnist") == 2
    err = capsys.readouterr().err
    assert "argument --download: invalid choice: 'mnist'" in err and "resnet20" in err


def test_download_fetches_what_is_missing_then_nothing(agmc, mirror, capsys) -> None:
    assert agmc("data", "--download", "cifar10", "--json") == 0
    assert _json(capsys)["downloaded"] == [str(mirror.cache / "cifar10" / s) for s in ("train.npz", "test.npz")]
    assert agmc("data", "--download", "cifar10", "--verify", "--json") == 0
    result = _json(capsys)
    assert result["downloaded"] == [] and len(mirror.server.wait_served(1)) == 1
    cifar = [f for f in result["files"] if f["name"] == "cifar10"]
    assert all(f["verified"] and f["origin"] == "cache" for f in cifar)


def _shipped_weights_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "usb" / "pretrained"
    folder.mkdir(parents=True)
    for path in REAL_WEIGHTS.values():
        shutil.copy(path, folder)
    return folder.parent


@pytest.mark.data
def test_import_verifies_and_copies_into_the_cache(agmc, isolated_data: Path, tmp_path: Path, capsys) -> None:
    usb = _shipped_weights_folder(tmp_path)
    assert agmc("data", "--import", str(usb), "--json") == 0
    imported = {r["path"]: r["outcome"] for r in _json(capsys)["imported"]}
    assert imported == {p: ("absent" if p.startswith("cifar10/") else "imported") for p in ALL_FILES}
    assert agmc("data", "--verify", "--json") == 0
    files = {f["path"]: f for f in _json(capsys)["files"]}
    assert all(files[p]["verified"] and files[p]["origin"] == "cache" for p in ALL_FILES if p.startswith("pretrained/"))


@pytest.mark.data
def test_import_rejects_a_changed_file_and_writes_nothing(agmc, isolated_data: Path, tmp_path: Path, capsys) -> None:
    usb = _shipped_weights_folder(tmp_path)
    bad = usb / WEIGHTS
    bad.write_bytes(bad.read_bytes()[:-1] + b"\0")
    assert agmc("data", "--import", str(usb), "--json") == 1
    outcome = {r["path"]: r for r in _json(capsys)["imported"]}
    assert outcome[WEIGHTS]["outcome"] == "rejected" and "expected" in outcome[WEIGHTS]["detail"]
    assert not (isolated_data / WEIGHTS).exists() and (isolated_data / SOURCES["resnet32"].files[0].path).exists()
    assert [p.name for p in (isolated_data / "pretrained").iterdir()].count(Path(WEIGHTS).name) == 0


def test_import_converts_the_original_archive(agmc, mirror, tmp_path: Path, capsys) -> None:
    usb = tmp_path / "usb"
    usb.mkdir()
    (usb / "cifar-10-python.tar.gz").write_bytes(mirror.fake.archive)
    assert agmc("data", "--import", str(usb), "--verify", "--json") == 0
    result = _json(capsys)
    assert {r["path"]: r["outcome"] for r in result["imported"] if r["path"].startswith("cifar10/")} == {
        "cifar10/train.npz": "imported", "cifar10/test.npz": "imported",
    }  # fmt: skip
    assert all(f["verified"] for f in result["files"] if f["name"] == "cifar10")
    assert mirror.server.requests == []  # nothing downloaded
    assert sorted(p.name for p in mirror.cache.rglob("*") if p.is_file()) == ["test.npz", "train.npz"]


def test_import_of_a_folder_without_known_files_fails(agmc, isolated_data: Path, tmp_path: Path, capsys) -> None:
    assert agmc("data", "--import", str(tmp_path)) == 1
    assert "holds none of the known files" in capsys.readouterr().err


def test_offline_evaluate_without_data_fails_fast_naming_the_ways_out(agmc, isolated_data: Path, capsys) -> None:
    start = time.perf_counter()
    assert agmc("evaluate", "--model", "resnet20", "--offline") == 1
    assert time.perf_counter() - start < 5
    error = capsys.readouterr().err
    assert error.startswith("agmc evaluate: error: could not find 'pretrained/resnet20-12fca82f.th'")
    assert str(isolated_data / WEIGHTS) in error and "set AGMC_DATA" in error and "Traceback" not in error


@pytest.mark.data
def test_first_evaluate_downloads_through_the_mirror_and_a_second_downloads_nothing(agmc, mirror, capsys) -> None:
    argv = ["evaluate", "--model", "resnet20", "--split", "test", "--size", "100", "--json"]
    assert agmc(*argv) == 0
    assert sorted(mirror.server.wait_served(2)) == sorted([mirror.url_path("resnet20"), mirror.url_path("cifar10")])
    first = _json(capsys)
    requests = len(mirror.server.requests)
    from agmc_env.data.splits import _cached_cifar10

    _cached_cifar10.cache_clear()  # as a new process would: read the files again
    assert agmc(*argv) == 0
    assert len(mirror.server.requests) == requests
    assert _json(capsys)["accuracy"] == first["accuracy"]


@pytest.mark.data
@pytest.mark.slow
def test_first_search_downloads_and_a_second_downloads_nothing(mirror, tmp_path: Path) -> None:
    # Fresh processes, as a user runs them, with what the fixture did in this one: the checkout's
    # ../shared/data hidden, the table's CIFAR-10 entry pointed at the mirror's small archive.
    (tmp_path / "cifar10-source.pickle").write_bytes(pickle.dumps(SOURCES["cifar10"]))
    bootstrap = (
        "import sys, pathlib, pickle, agmc_env.paths as p, agmc_env.data.sources as s; "
        "p._FALLBACK_DATA_DIR = pathlib.Path(sys.argv.pop(1)); "
        "s.SOURCES['cifar10'] = pickle.loads(pathlib.Path(sys.argv.pop(1)).read_bytes()); "
        "import agmc_cli; sys.exit(agmc_cli.main(sys.argv[1:]))"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    for run in ("first", "second"):
        argv = ["search", "--episodes", "2", "--val-size", "100", "--out", str(tmp_path / run), "--no-progress", "--threads", "1"]
        done = subprocess.run(
            [sys.executable, "-c", bootstrap, str(tmp_path / "no-checkout"), str(tmp_path / "cifar10-source.pickle"), *argv],
            env=env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr[-2000:]
        if run == "first":
            assert sorted(mirror.server.wait_served(2)) == sorted([mirror.url_path("resnet20"), mirror.url_path("cifar10")])
            assert "downloading" in done.stderr
            requests = len(mirror.server.requests)
        else:
            assert len(mirror.server.requests) == requests and "downloading" not in done.stderr


@pytest.mark.data
@pytest.mark.slow
def test_verify_the_shipped_files(agmc, capsys) -> None:
    assert agmc("data", "--verify", "--json") == 0
    files = _json(capsys)["files"]
    assert [f["path"] for f in files] == ALL_FILES and all(f["found"] and f["verified"] for f in files)
