"""``agmc search`` on a torchvision model without shipped weights: your checkpoint (``--weights``),
no weights at all (``--no-pretrained``), your own images (``--image-folder``); and every error says
something the user can type."""

from __future__ import annotations

import json
from pathlib import Path

import torch

from agmc_env.models import get_model
from agmc_env.pruning import load_pruned

MODEL = "tv_mobilenet_v3_small"  # cheap at its 224x224 input
QUICK = ["--agent", "random", "--episodes", "1", "--val-size", "4", "--embedding", "rule", "--device", "cpu",
         "--no-bn-recalibration", "--no-progress", "--json"]  # fmt: skip


def test_torchvision_model_without_weights_says_which_flags_to_use(agmc, tmp_path: Path, capsys) -> None:
    assert agmc("search", "--model", MODEL, "--out", str(tmp_path / "run"), *QUICK) == 1
    err = capsys.readouterr().err
    assert "--weights FILE" in err and "--no-pretrained" in err and "--dataset synthetic" in err
    assert "Traceback" not in err


def test_no_pretrained_on_synthetic_images_needs_no_file(agmc, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert agmc("search", "--model", MODEL, "--no-pretrained", "--dataset", "synthetic", "--out", str(out), *QUICK) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["kept_flops_fraction"] <= 0.5 and (out / "best").is_dir()


def test_your_checkpoint_on_your_image_folder(agmc, tmp_path: Path, image_folder: Path, capsys) -> None:
    weights = tmp_path / "mine.pt"
    torch.save(get_model(MODEL, pretrained=False, num_classes=2, init_seed=1).state_dict(), weights)
    out = tmp_path / "run"
    code = agmc("search", "--model", MODEL, "--weights", str(weights), "--image-folder", str(image_folder),
                "--out", str(out), *QUICK)  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert 0.0 <= json.loads(capsys.readouterr().out)["best_accuracy"] <= 100.0
    model, spec = load_pruned(out / "best")
    assert spec["num_classes"] == 2 and spec["env"]["weights_path"] == str(weights)
    assert model(torch.randn(1, 3, 224, 224)).shape == (1, 2)


def test_image_folder_flags_are_checked(agmc, tmp_path: Path, image_folder: Path, capsys) -> None:
    out = str(tmp_path / "run")
    assert agmc("search", "--model", MODEL, "--dataset", "imagefolder", "--out", out, *QUICK) == 2
    assert "--image-folder is needed with dataset='imagefolder'" in capsys.readouterr().err
    assert agmc("search", "--model", MODEL, "--image-folder", str(tmp_path / "nowhere"), "--out", out, *QUICK) == 2
    assert "--image-folder" in capsys.readouterr().err
    code = agmc("search", "--model", MODEL, "--no-pretrained", "--image-folder", str(image_folder), "--out", out,
                *QUICK, "--val-size", "50")  # fmt: skip
    assert code == 2 and "--val-size must be at most 8, the images of split 'search', got 50" in capsys.readouterr().err
