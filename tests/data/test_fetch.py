"""Finding and downloading data files: resolution order, downloads through a loopback mirror with
their real checksums, failed checks and dropped connections leaving nothing behind, offline refusal.

No test here reaches the internet: the ``mirror`` fixture serves files from 127.0.0.1.
"""

from __future__ import annotations

import dataclasses
import hashlib
import socket
import time
from pathlib import Path

import numpy as np
import pytest
import torch.hub
import torchvision.datasets
import torchvision.datasets.utils

from agmc_env import paths
from agmc_env.data import load_cifar10
from agmc_env.data.fetch import download, locate, verify
from agmc_env.data.sources import SOURCES, get_source
from agmc_env.errors import ConfigError, CorruptFileError
from agmc_env.paths import DataNotFoundError, data_roots, mirror_url, offline
from tests.conftest import REAL_WEIGHTS

WEIGHTS = SOURCES["resnet20"].files[0].path  # "pretrained/resnet20-12fca82f.th"


def _files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


# --- the sources table ------------------------------------------------------------------------


def test_cifar10_source_is_torchvisions() -> None:
    cifar = SOURCES["cifar10"]
    assert cifar.url == torchvision.datasets.CIFAR10.url and cifar.md5 == torchvision.datasets.CIFAR10.tgz_md5


def test_weights_file_names_carry_their_hash_prefix() -> None:
    for source in SOURCES.values():
        if source.sha256 is not None:
            (data_file,) = source.files
            assert data_file.path.endswith(f"-{source.sha256[:8]}.th") and data_file.sha256 == source.sha256
            assert source.url.endswith("/" + Path(data_file.path).name)


def test_unknown_source_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="resnet56"):
        get_source("resnet1202")


# --- environment switches ---------------------------------------------------------------------


def test_mirror_replaces_scheme_and_host_only(monkeypatch: pytest.MonkeyPatch) -> None:
    url = SOURCES["cifar10"].url
    monkeypatch.delenv("AGMC_MIRROR", raising=False)
    assert mirror_url(url) == url
    monkeypatch.setenv("AGMC_MIRROR", "http://mirror.local/agmc/")
    assert mirror_url(url) == "http://mirror.local/agmc/~kriz/cifar-10-python.tar.gz"
    monkeypatch.setenv("AGMC_MIRROR", "mirror.local")
    with pytest.raises(ConfigError, match="AGMC_MIRROR must be a base URL"):
        mirror_url(url)


@pytest.mark.parametrize(("value", "expected"), [("1", True), ("yes", True), ("0", False), ("", False)])
def test_offline_values(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("AGMC_OFFLINE", value)
    assert offline() is expected


def test_bad_offline_value_names_the_accepted_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGMC_OFFLINE", "maybe")
    with pytest.raises(ConfigError, match="AGMC_OFFLINE must be one of 1, true"):
        offline()


# --- resolution order -------------------------------------------------------------------------


def test_resolution_order(isolated_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    env_root, checkout, explicit = tmp_path / "env", tmp_path / "checkout", tmp_path / "explicit"
    assert [r.origin for r in data_roots()] == ["cache"]  # no AGMC_DATA, no checkout data: the cache only
    monkeypatch.setenv("AGMC_DATA", str(env_root))
    checkout.mkdir()
    monkeypatch.setattr(paths, "_FALLBACK_DATA_DIR", checkout)
    assert [(r.origin, r.path) for r in data_roots()] == [
        ("AGMC_DATA", env_root), ("checkout", checkout), ("cache", isolated_data),
    ]  # fmt: skip
    for root in (isolated_data, checkout, env_root):  # each earlier root shadows the later ones
        (root / WEIGHTS).parent.mkdir(parents=True)
        (root / WEIGHTS).write_bytes(b"weights")
        assert locate(WEIGHTS) == root / WEIGHTS
    # An installed package (no pyproject.toml beside it) has no checkout fallback, even where one exists.
    monkeypatch.setattr(paths, "_REPO_ROOT", tmp_path / "site-packages")
    assert [r.origin for r in data_roots()] == ["AGMC_DATA", "cache"]
    # An explicit data_dir is the only root: no fallback masks a typo there, nothing is downloaded.
    with pytest.raises(DataNotFoundError) as caught:
        locate(WEIGHTS, explicit)
    message = str(caught.value)
    assert str(explicit / WEIGHTS) in message and str(env_root) not in message
    assert "leave out data_dir" in message and "AGMC_DATA" in message


def test_a_batches_folder_is_found_and_read_class_sorted(isolated_data: Path, tmp_path: Path) -> None:
    import tarfile

    from tests.loopback import fake_cifar

    fake = fake_cifar(per_batch=20, test_size=10)
    archive = tmp_path / "cifar.tar.gz"
    archive.write_bytes(fake.archive)
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "root")
    for split, (x, y) in (("train", fake.train), ("test", fake.test)):
        assert locate(f"cifar10/{split}.npz", tmp_path / "root") == tmp_path / "root" / "cifar-10-batches-py"
        loaded = load_cifar10(split, tmp_path / "root")
        assert np.array_equal(loaded.images.permute(0, 2, 3, 1).numpy(), x)
        assert np.array_equal(loaded.labels.numpy(), y)


# --- offline and no network -------------------------------------------------------------------


def test_offline_refuses_and_says_where_to_put_the_file(mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGMC_OFFLINE", "1")  # a mirror is up, but offline means no network at all
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as caught:
        locate(WEIGHTS)
    assert time.perf_counter() - start < 1
    message = str(caught.value)
    assert "offline" in message and f"{mirror.server.url}/akamaster/pytorch_resnet_cifar10/raw/" in message
    assert f"put the file at {mirror.cache / WEIGHTS}" in message and "set AGMC_DATA" in message
    assert mirror.server.requests == [] and _files_under(mirror.cache) == []


def test_offline_cifar10_names_the_split_asked_for(mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGMC_OFFLINE", "1")
    with pytest.raises(DataNotFoundError, match=r"could not find 'cifar10/test.npz' \(CIFAR-10") as caught:
        load_cifar10("test")
    assert str(mirror.cache / "cifar-10-batches-py") in str(caught.value)  # every place looked at
    assert mirror.server.requests == []


def test_no_network_fails_in_seconds_naming_the_url_and_the_ways_out(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with socket.socket() as probe:  # a port nobody listens on: the connection is refused at once
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("AGMC_OFFLINE", "0")
    monkeypatch.setenv("AGMC_MIRROR", f"http://127.0.0.1:{port}")
    start = time.perf_counter()
    with pytest.raises(DataNotFoundError) as caught:
        locate(WEIGHTS)
    assert time.perf_counter() - start < 5
    message = str(caught.value)
    assert f"Downloading http://127.0.0.1:{port}/" in message and "failed" in message
    assert str(isolated_data / WEIGHTS) in message and "set AGMC_DATA" in message
    assert _files_under(isolated_data) == []


def test_a_stalled_server_times_out(isolated_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from agmc_env.data import fetch

    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        monkeypatch.setattr(fetch, "DOWNLOAD_TIMEOUT_S", 0.5)
        monkeypatch.setenv("AGMC_OFFLINE", "0")
        monkeypatch.setenv("AGMC_MIRROR", f"http://127.0.0.1:{silent.getsockname()[1]}")
        start = time.perf_counter()
        with pytest.raises(DataNotFoundError, match="timed out"):
            locate(WEIGHTS)
        assert time.perf_counter() - start < 5
    assert socket.getdefaulttimeout() is None  # the timeout is set for the download only


# --- weights through the mirror (the real files and checksums) ---------------------------------


@pytest.mark.data
def test_weights_download_once_with_the_real_checksum(mirror) -> None:
    path = locate(WEIGHTS)
    assert path == mirror.cache / WEIGHTS
    assert hashlib.sha256(path.read_bytes()).hexdigest() == SOURCES["resnet20"].sha256
    assert verify(path, SOURCES["resnet20"].files[0]) is None
    assert mirror.server.wait_served(1) == [mirror.url_path("resnet20")]
    requests = len(mirror.server.requests)
    assert locate(WEIGHTS) == path and len(mirror.server.requests) == requests  # found in the cache now
    assert _files_under(mirror.cache) == [path]


@pytest.mark.data
def test_weights_failing_their_checksum_are_not_kept(mirror) -> None:
    served = bytearray(mirror.server.files[mirror.url_path("resnet20")])
    served[1000] ^= 0xFF
    mirror.server.files[mirror.url_path("resnet20")] = bytes(served)
    with pytest.raises(CorruptFileError, match="failed its sha256 check"):
        locate(WEIGHTS)
    assert _files_under(mirror.cache) == []


@pytest.mark.data
def test_interrupted_weights_download_leaves_nothing(mirror) -> None:
    mirror.server.truncate.add(mirror.url_path("resnet20"))  # half the file, then the connection drops
    with pytest.raises(CorruptFileError, match="a dropped connection"):
        locate(WEIGHTS)
    assert _files_under(mirror.cache) == []


@pytest.mark.data
def test_ctrl_c_during_weights_download_leaves_nothing(mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    class Interrupted(torch.hub.tqdm):
        def update(self, n: int = 1) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(torch.hub, "tqdm", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        locate(WEIGHTS)
    assert _files_under(mirror.cache) == []


def test_weights_verify_detects_a_changed_byte(tmp_path: Path) -> None:
    data_file = dataclasses.replace(SOURCES["resnet20"].files[0], sha256=hashlib.sha256(b"abc").hexdigest())
    (tmp_path / "w.th").write_bytes(b"abc")
    assert verify(tmp_path / "w.th", data_file) is None
    (tmp_path / "w.th").write_bytes(b"abd")
    assert "expected" in verify(tmp_path / "w.th", data_file)


# --- CIFAR-10 through the mirror (a small archive in the real format) ---------------------------


def test_cifar10_downloads_once_and_converts_to_the_project_arrays(mirror) -> None:
    train = load_cifar10("train")
    assert np.array_equal(train.images.permute(0, 2, 3, 1).numpy(), mirror.fake.train[0])
    assert np.array_equal(train.labels.numpy(), mirror.fake.train[1])  # class-sorted, as train.npz
    assert mirror.server.wait_served(1) == [mirror.url_path("cifar10")]
    requests = len(mirror.server.requests)
    test = load_cifar10("test")  # converted together with train: no second download
    assert np.array_equal(test.labels.numpy(), mirror.fake.test[1])
    assert len(mirror.server.requests) == requests
    assert _files_under(mirror.cache) == [mirror.cache / "cifar10" / "test.npz", mirror.cache / "cifar10" / "train.npz"]
    with np.load(mirror.cache / "cifar10" / "train.npz") as npz:
        assert sorted(npz.keys()) == ["x", "y"] and npz["x"].dtype == npz["y"].dtype == np.uint8


def test_cifar10_archive_failing_its_md5_is_not_kept(mirror) -> None:
    served = bytearray(mirror.fake.archive)
    served[len(served) // 2] ^= 0xFF
    mirror.server.files[mirror.url_path("cifar10")] = bytes(served)
    with pytest.raises(CorruptFileError, match=r"failed its checksum \(expected md5"):
        load_cifar10("test")
    assert _files_under(mirror.cache) == []


def test_cifar10_arrays_failing_their_checksum_are_not_kept(mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    source = SOURCES["cifar10"]
    wrong = dataclasses.replace(source.files[1], arrays=(("x", "0" * 64), source.files[1].arrays[1]))
    monkeypatch.setitem(SOURCES, "cifar10", dataclasses.replace(source, files=(source.files[0], wrong)))
    with pytest.raises(CorruptFileError, match="array 'x' has sha256"):
        download("cifar10")
    assert _files_under(mirror.cache) == []  # train verified, but nothing is written unless both do


def test_interrupted_cifar10_download_leaves_nothing(mirror) -> None:
    mirror.server.truncate.add(mirror.url_path("cifar10"))
    with pytest.raises(CorruptFileError, match="a dropped connection"):
        load_cifar10("test")
    assert _files_under(mirror.cache) == []


def test_ctrl_c_during_cifar10_download_leaves_nothing(mirror, monkeypatch: pytest.MonkeyPatch) -> None:
    class Interrupted(torchvision.datasets.utils.tqdm):
        def update(self, n: int = 1) -> None:
            raise KeyboardInterrupt

    monkeypatch.setattr(torchvision.datasets.utils, "tqdm", Interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10("test")
    assert _files_under(mirror.cache) == []


@pytest.mark.data
def test_the_shipped_weights_verify() -> None:
    for name, path in REAL_WEIGHTS.items():
        assert verify(path, SOURCES[name].files[0]) is None, name
