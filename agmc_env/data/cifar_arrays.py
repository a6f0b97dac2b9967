"""CIFAR-10's two on-disk formats as the numpy arrays the project uses, and their fingerprints.

The arrays are ``x`` ``(N, 32, 32, 3)`` uint8 (NHWC, RGB) and ``y`` ``(N,)`` uint8 in the standard
label order. The training set is stored **class-sorted** (all airplanes, then all automobiles, ...;
inside a class the original ``data_batch_1..5`` order), because that is the order of the shipped
``train.npz``; reading torchvision's ``cifar-10-batches-py`` gives the same arrays, so the seeded
splits are the same whichever format a user has.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from pathlib import Path

import numpy as np

from agmc_env.errors import CorruptFileError, reason

# What to do about a damaged data file (the sources table names CIFAR-10 "cifar10").
REFETCH = "delete it and run `agmc data --download cifar10` (or `agmc data --import DIR`) to get a good copy"
BATCH_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


def read_npz_arrays(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` of a ``cifar10/<split>.npz`` file (shapes are checked by the caller).

    Raises:
        CorruptFileError: not a readable ``.npz`` holding ``x`` and ``y``.
    """
    try:
        with np.load(path) as archive:
            if "x" not in archive or "y" not in archive:
                found = list(archive.keys())
                raise CorruptFileError(f"{path}: expected arrays 'x' and 'y', found {found}; {REFETCH}", path=path)
            return archive["x"], archive["y"]
    except CorruptFileError:
        raise
    except Exception as error:  # truncated or foreign file: np.load and zipfile raise many types
        raise CorruptFileError(f"could not read {path} as a .npz archive ({reason(error)}); {REFETCH}", path=path) from error


def read_batches_arrays(folder: str | os.PathLike, split: str) -> tuple[np.ndarray, np.ndarray]:
    """``x`` and ``y`` of one split of a ``cifar-10-batches-py`` folder; the train split class-sorted.

    Raises:
        CorruptFileError: a batch file that is not a CIFAR batch.
    """
    xs, ys = [], []
    for name in BATCH_FILES[split]:
        path = Path(folder) / name
        try:
            with open(path, "rb") as handle:
                # torchvision's own CIFAR10 reads these files the same way; they hold only arrays/lists.
                batch = pickle.load(handle, encoding="latin1")
            data = np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
            labels = np.asarray(batch["labels"], dtype=np.uint8)
        except (OSError, pickle.UnpicklingError, EOFError, KeyError, TypeError, ValueError) as error:
            message = f"{path} is not a readable CIFAR-10 batch file ({reason(error)}); {REFETCH}"
            raise CorruptFileError(message, path=path) from error
        xs.append(data.transpose(0, 2, 3, 1))
        ys.append(labels)
    x, y = np.concatenate(xs), np.concatenate(ys)
    if split == "train":
        order = np.argsort(y, kind="stable")  # stable: inside a class the batch order is kept
        x, y = x[order], y[order]
    return np.ascontiguousarray(x), y


def array_sha256(array: np.ndarray) -> str:
    """sha256 of an array's C-order bytes: the same whatever compression its ``.npz`` used."""
    return hashlib.sha256(np.ascontiguousarray(array).tobytes()).hexdigest()


def write_npz(path: str | os.PathLike, x: np.ndarray, y: np.ndarray) -> None:
    """Write ``x`` and ``y`` to ``path`` uncompressed: CIFAR pixels barely deflate (the shipped
    ``test.npz`` saves 8 %) and an uncompressed file loads in a fraction of a second."""
    with open(path, "wb") as handle:
        np.savez(handle, x=x, y=y)
