"""Data loading and splits: shapes, seeds, no leak, clear errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from agmc_env.data import ImageSet, load_cifar10, load_split, synthetic_imageset
from agmc_env.paths import DataNotFoundError


@pytest.mark.data
def test_cifar10_test_set_layout() -> None:
    test = load_cifar10("test")
    assert test.images.shape == (10_000, 3, 32, 32) and test.images.dtype == torch.uint8
    assert test.labels[:20].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6]
    assert torch.bincount(test.labels).tolist() == [1000] * 10


@pytest.mark.data
def test_search_and_report_split_the_test_set_without_overlap() -> None:
    search, report = load_split("search"), load_split("report")
    assert len(search) == len(report) == 5000
    full = load_split("test")
    # Together they are exactly the test set: compare sorted image fingerprints.
    def fingerprints(s: ImageSet) -> list[int]:
        return sorted(hash(bytes(img.numpy())) for img in s.images)
    assert fingerprints(search) + fingerprints(report) != []
    assert sorted(fingerprints(search) + fingerprints(report)) == fingerprints(full)
    assert not set(fingerprints(search)) & set(fingerprints(report))


@pytest.mark.data
def test_splits_are_seeded() -> None:
    a = load_split("search", size=100, split_seed=1)
    b = load_split("search", size=100, split_seed=1)
    c = load_split("search", size=100, split_seed=2)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    assert not torch.equal(a.images, c.images)


def test_bad_split_and_dataset_names() -> None:
    with pytest.raises(ValueError, match="split must be one of"):
        load_split("validation")
    with pytest.raises(ValueError, match="dataset must be one of"):
        load_split("search", dataset="mnist")
    with pytest.raises(ValueError, match="size"):
        load_split("search", dataset="synthetic", size=0)


def test_missing_data_names_every_place(tmp_path) -> None:
    with pytest.raises(DataNotFoundError, match=str(tmp_path / "cifar10" / "test.npz")):
        load_cifar10("test", data_dir=tmp_path)


def test_npz_with_wrong_shape(tmp_path) -> None:
    (tmp_path / "cifar10").mkdir()
    np.savez(tmp_path / "cifar10" / "test.npz", x=np.zeros((4, 3, 32, 32), np.uint8), y=np.zeros(4, np.uint8))
    with pytest.raises(ValueError, match=r"expected x of shape \(N, 32, 32, 3\)"):
        load_cifar10("test", data_dir=tmp_path)


def test_batches_folder_is_read(tmp_path) -> None:
    import pickle

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    data = np.arange(2 * 3072, dtype=np.int64).astype(np.uint8).reshape(2, 3072)
    with open(folder / "test_batch", "wb") as handle:
        pickle.dump({"data": data, "labels": [4, 7]}, handle)
    test = load_cifar10("test", data_dir=tmp_path)
    assert test.labels.tolist() == [4, 7]
    # Channel-major rows become (C, H, W) images.
    assert torch.equal(test.images[0].flatten(), torch.from_numpy(data[0]))


def test_synthetic_is_reproducible() -> None:
    assert torch.equal(synthetic_imageset(seed=3).images, synthetic_imageset(seed=3).images)


def test_imageset_validates_shapes() -> None:
    with pytest.raises(ValueError, match="uint8"):
        ImageSet(torch.zeros(2, 3, 4, 4), torch.zeros(2, dtype=torch.int64))
    with pytest.raises(ValueError, match="labels"):
        ImageSet(torch.zeros(2, 3, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))


@pytest.mark.data
def test_the_first_training_images_are_a_shuffled_sample_of_all_classes() -> None:
    # The stored training set is sorted by class; size=N must not mean "N airplanes".
    train = load_split("train", size=500)
    assert len(train.labels.unique()) == 10
    assert torch.equal(load_split("train", size=500).labels, train.labels)  # seeded
