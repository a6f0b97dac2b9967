"""Your own images: an ImageFolder tree, resized to the model's input size, split like the others."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from agmc_env.data import image_folder_classes, load_split
from agmc_env.errors import ConfigError, MissingFileError


def test_image_folder_splits_are_resized_disjoint_and_labelled(image_folder: Path) -> None:
    assert image_folder_classes(image_folder) == ["cat", "dog"]
    search = load_split("search", "imagefolder", image_folder=image_folder, image_size=40)
    report = load_split("report", "imagefolder", image_folder=image_folder, image_size=40)
    assert search.images.shape == (8, 3, 40, 40) and search.images.dtype == torch.uint8
    assert set(search.labels.tolist()) <= {0, 1} and len(report) == 8
    pairs = {tuple(img.flatten()[:64].tolist()) for img in search.images}
    assert not pairs & {tuple(img.flatten()[:64].tolist()) for img in report.images}  # no image in both
    assert load_split("search", "imagefolder", image_folder=image_folder).images.shape[-1] == 224  # default


def test_image_folder_errors_name_the_folder_and_the_option(tmp_path: Path, image_folder: Path) -> None:
    with pytest.raises(ConfigError, match="image_folder is needed with dataset='imagefolder'") as caught:
        load_split("search", "imagefolder")
    assert caught.value.option == "image_folder"
    (tmp_path / "flat").mkdir()
    with pytest.raises(MissingFileError, match=r"holds no class folder .*<root>/<class>/<image>") as missing:
        load_split("search", "imagefolder", image_folder=tmp_path / "flat")
    assert str(tmp_path / "flat") in str(missing.value)
    with pytest.raises(MissingFileError, match="not found"):
        load_split("search", "imagefolder", image_folder=tmp_path / "nowhere")
    (tmp_path / "texts" / "a").mkdir(parents=True)
    (tmp_path / "texts" / "a" / "x.txt").write_text("not an image")
    with pytest.raises(MissingFileError, match="texts"):
        load_split("search", "imagefolder", image_folder=tmp_path / "texts")
    with pytest.raises(ConfigError, match="size must be at most 8, the images of split 'search', got 100") as too_many:
        load_split("search", "imagefolder", image_folder=image_folder, size=100)
    assert too_many.value.option == "size"
