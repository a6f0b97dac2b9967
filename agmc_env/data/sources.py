"""Every data set and weights file agmc-env can fetch: its URL, checksums, size and licence.

This is the one table of URLs and checksums (:data:`SOURCES`); :mod:`agmc_env.data.fetch` finds,
downloads, verifies and imports what it lists. A *source* is one download (the CIFAR-10 archive, one
weights file); it provides one or more *data files*, each a path relative to a data root.

How each file is verified:

* weights: the sha256 of the whole file (its name carries the first 8 hex digits, the torch.hub
  convention, so ``torch.hub.download_url_to_file`` checks it while downloading);
* CIFAR-10: the archive's md5 (torchvision's), then the sha256 of the ``x`` and ``y`` arrays of each
  ``.npz``: those do not depend on how the ``.npz`` was compressed, so the shipped files and a copy
  converted from the archive verify alike.
"""

from __future__ import annotations

from dataclasses import dataclass

from agmc_env.errors import ConfigError

_AKAMASTER_COMMIT = "d5489e8995e81e91ce6b1d69dcc98ad579b0b153"  # the commit the shipped weights came from
_AKAMASTER_RAW = f"https://github.com/akamaster/pytorch_resnet_cifar10/raw/{_AKAMASTER_COMMIT}/pretrained_models"
_AKAMASTER_LICENCE = "BSD-2-Clause, Copyright (c) 2018 Yerlan Idelbayev (akamaster/pytorch_resnet_cifar10)"
_CIFAR_LICENCE = "no formal licence; cite Krizhevsky, Learning Multiple Layers of Features from Tiny Images, 2009"


@dataclass(frozen=True)
class DataFile:
    """One file under a data root.

    Attributes:
        path: relative to a data root, e.g. ``"pretrained/resnet20-12fca82f.th"``.
        size: bytes of the shipped copy (a ``.npz`` converted from the archive differs: uncompressed).
        sha256: of the whole file, for files that are checked whole (``None`` for ``.npz`` arrays).
        arrays: ``(member, sha256 of its C-order bytes)`` pairs, for ``.npz`` files.
    """

    path: str
    size: int
    sha256: str | None = None
    arrays: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Source:
    """One download and the data files it provides.

    Attributes:
        name: what ``agmc data --download NAME`` accepts, e.g. ``"cifar10"``, ``"resnet20"``.
        title: a few words for people.
        url: the public URL (``AGMC_MIRROR`` replaces its scheme and host).
        size: bytes of the download.
        md5: of the download, for an archive fetched with torchvision's utilities.
        sha256: of the download, for a file fetched with ``torch.hub`` (the data file itself).
        licence: its licence, or the terms of use.
        files: the data files it provides.
    """

    name: str
    title: str
    url: str
    size: int
    licence: str
    files: tuple[DataFile, ...]
    md5: str | None = None
    sha256: str | None = None


def _akamaster(depth: int, sha256: str, size: int) -> Source:
    filename = f"resnet{depth}-{sha256[:8]}.th"
    return Source(
        name=f"resnet{depth}",
        title=f"ResNet-{depth} CIFAR-10 weights",
        url=f"{_AKAMASTER_RAW}/{filename}",
        size=size,
        licence=_AKAMASTER_LICENCE,
        files=(DataFile(f"pretrained/{filename}", size, sha256=sha256),),
        sha256=sha256,
    )


SOURCES: dict[str, Source] = {
    "cifar10": Source(
        name="cifar10",
        title="CIFAR-10 train and test sets",
        url="https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        size=170_498_071,
        licence=_CIFAR_LICENCE,
        md5="c58f30108f718f92721af3b95e74349a",  # torchvision.datasets.CIFAR10.tgz_md5
        files=(
            DataFile(
                "cifar10/train.npz",
                115_051_317,
                arrays=(
                    ("x", "f799e8d246a8e52c84397c3c856a32809ff00c153b339b7fd57c723b0b454100"),
                    ("y", "a29f2a5ffc141bb1c9e1af453e9a5ef8c316b2f675f8cea1d849d220d33a14fb"),
                ),
            ),
            DataFile(
                "cifar10/test.npz",
                28_249_938,
                arrays=(
                    ("x", "f9b1e2130bab680db56eb06d886f7f1ad0f1183907ceff4659d1735c890f5b04"),
                    ("y", "cec8a24a1e92aa2ecaa0bbd3dbfa86bf6cd8759fbd209a832824c8cf0afca9d5"),
                ),
            ),
        ),
    ),
    "resnet20": _akamaster(20, "12fca82f0bebc4135bf1f32f6e3710e61d5108578464b84fd6d7f5c1b04036c8", 1_099_231),
    "resnet32": _akamaster(32, "d509ac1820d7f25398913559d7e81a13229b1e7adc5648e3bfa5e22dc137f850", 1_890_043),
    "resnet44": _akamaster(44, "014dd6541728a1c700b1642ab640e211dc6eb8ed507d70697458dc8f8a0ae2e4", 2_680_855),
    "resnet56": _akamaster(56, "4bfd97631478d6b638d2764fd2baff3edb1d7d82252d54439343b6596b9b5367", 3_471_733),
}


def get_source(name: str) -> Source:
    """The source called ``name``; an unknown name lists the known ones."""
    if name not in SOURCES:
        raise ConfigError(f"unknown data set or weights {name!r}; known: {', '.join(SOURCES)}")
    return SOURCES[name]


def source_of(relative: str) -> tuple[Source, DataFile] | None:
    """The source that provides the data file at ``relative`` (a path under a data root), if any."""
    for source in SOURCES.values():
        for data_file in source.files:
            if data_file.path == relative:
                return source, data_file
    return None
