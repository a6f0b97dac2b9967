"""The training loop: seeded determinism, exact resume after an interruption, teacher, EMA, schedule."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import torch

from agmc_env.data.synthetic import synthetic_imageset
from agmc_env.errors import ConfigError
from agmc_env.finetune import FinetuneConfig, finetune
from agmc_env.finetune.engine import warmup_cosine

MEAN, STD = (0.5, 0.5, 0.5), (0.25, 0.25, 0.25)
CPU = torch.device("cpu")
DATA = synthetic_imageset(num_images=96, seed=3)


def _config(**overrides: object) -> FinetuneConfig:
    return FinetuneConfig(**{"epochs": 3, "batch_size": 32, "lr": 0.05, "seed": 0, "warmup_epochs": 1, **overrides})


def _tuned(model: torch.nn.Module, config: FinetuneConfig, **kwargs: object) -> tuple[torch.nn.Module, list]:
    tuned = copy.deepcopy(model)
    return tuned, finetune(tuned, DATA, MEAN, STD, CPU, config, progress=False, **kwargs)


def _assert_same_weights(first: torch.nn.Module, second: torch.nn.Module) -> None:
    for name, value in first.state_dict().items():
        assert torch.equal(value, second.state_dict()[name]), name


def test_same_seed_gives_identical_weights(tiny_cnn: torch.nn.Module) -> None:
    first, history = _tuned(tiny_cnn, _config())
    second, again = _tuned(tiny_cnn, _config())
    assert [r.loss for r in history] == [r.loss for r in again]
    _assert_same_weights(first, second)
    other, _ = _tuned(tiny_cnn, _config(seed=1))
    assert not torch.equal(other.conv1.weight, first.conv1.weight)
    assert not torch.equal(first.conv1.weight, tiny_cnn.conv1.weight)
    assert [r.epoch for r in history] == [1, 2, 3] and not first.training
    assert history[-1].lr < history[0].lr and all(r.images_per_s > 0 and r.accuracy is None for r in history)


def test_resume_after_an_interruption_gives_the_weights_of_an_uninterrupted_run(tiny_cnn, tmp_path: Path) -> None:
    config = _config(ema_decay=0.9)
    uninterrupted, history = _tuned(tiny_cnn, config, evaluate=lambda model: 1.0)

    calls = []

    def killed_in_epoch_two(model: torch.nn.Module) -> float:
        calls.append(1)
        if len(calls) == 2:  # after epoch 2's training, before its checkpoint: its work is lost
            raise KeyboardInterrupt
        return 1.0

    interrupted = copy.deepcopy(tiny_cnn)
    with pytest.raises(KeyboardInterrupt):
        finetune(interrupted, DATA, MEAN, STD, CPU, config, evaluate=killed_in_epoch_two, checkpoint_dir=tmp_path, progress=False)
    torch.manual_seed(1234)  # a resumed process starts with another RNG state: the checkpoint restores it
    resumed = copy.deepcopy(tiny_cnn)  # a fresh process starts again from the pruned model
    again = finetune(
        resumed, DATA, MEAN, STD, CPU, config, evaluate=lambda model: 1.0, checkpoint_dir=tmp_path, resume=True, progress=False
    )  # fmt: skip
    _assert_same_weights(uninterrupted, resumed)
    assert [r.loss for r in again] == [r.loss for r in history]


def test_resuming_with_other_settings_names_the_setting(tiny_cnn, tmp_path: Path) -> None:
    _tuned(tiny_cnn, _config(epochs=1, warmup_epochs=0), checkpoint_dir=tmp_path)
    with pytest.raises(ConfigError, match="^lr is 0.1 but the checkpoint"):
        _tuned(tiny_cnn, _config(epochs=1, warmup_epochs=0, lr=0.1), checkpoint_dir=tmp_path, resume=True)
    # Without resume the old checkpoint is simply replaced.
    _tuned(tiny_cnn, _config(epochs=1, warmup_epochs=0, lr=0.1), checkpoint_dir=tmp_path)


def test_a_teacher_changes_the_training_and_itself_stays_unchanged(tiny_cnn) -> None:
    teacher = copy.deepcopy(tiny_cnn)
    torch.nn.init.normal_(teacher.fc.weight, std=2.0)
    before = copy.deepcopy(teacher.state_dict())
    with_teacher, history = _tuned(tiny_cnn, _config(), teacher=teacher)
    without, plain = _tuned(tiny_cnn, _config())
    assert not torch.equal(with_teacher.fc.weight, without.fc.weight)
    assert [r.loss for r in history] != [r.loss for r in plain]
    for name, value in teacher.state_dict().items():
        assert torch.equal(value, before[name]), name


def test_evaluate_scores_every_epoch_and_ema_is_the_result(tiny_cnn) -> None:
    scored: list[torch.nn.Module] = []
    tuned, history = _tuned(tiny_cnn, _config(ema_decay=0.5), evaluate=lambda m: scored.append(m) or 50.0)
    assert [r.accuracy for r in history] == [50.0] * 3 and len(scored) == 3
    # The EMA's weights are what the model holds at the end, and what was scored.
    _assert_same_weights(tuned, scored[-1])
    raw, _ = _tuned(tiny_cnn, _config())
    assert not torch.equal(raw.conv1.weight, tuned.conv1.weight)


def test_schedule_warms_up_then_decays_by_cosine() -> None:
    factors = [warmup_cosine(step, warmup_steps=10, total_steps=100) for step in range(101)]
    assert factors[0] == pytest.approx(0.1) and factors[10] == pytest.approx(1.0)
    assert factors[:11] == sorted(factors[:11]) and factors[10:] == sorted(factors[10:], reverse=True)
    assert factors[100] == pytest.approx(0.001)
    assert warmup_cosine(0, warmup_steps=0, total_steps=5) == pytest.approx(1.0)
