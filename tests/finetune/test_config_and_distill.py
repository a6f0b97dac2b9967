"""``FinetuneConfig`` checks and the distillation loss."""

from __future__ import annotations

import pytest
import torch
from torch.nn import functional as F

from agmc_env.errors import ConfigError
from agmc_env.finetune import FinetuneConfig, FinetuneLoss, distillation_loss


@pytest.mark.parametrize(
    ("field", "value"),
    [("epochs", 0), ("lr", 0.0), ("batch_size", 0), ("momentum", 1.0), ("warmup_epochs", 11.0),
     ("label_smoothing", 1.0), ("distill_weight", 1.5), ("temperature", 0.0), ("ema_decay", 1.0), ("precision", "fp8")],
)  # fmt: skip
def test_bad_settings_name_the_field(field: str, value: float) -> None:
    with pytest.raises(ConfigError, match=f"^{field} must be") as error:
        FinetuneConfig(**{field: value})
    assert error.value.option == field


def test_learning_rate_scales_linearly_with_the_batch() -> None:
    assert FinetuneConfig(lr=0.02, batch_size=512).peak_lr == pytest.approx(0.08)
    assert FinetuneConfig(lr=0.02, batch_size=128).peak_lr == pytest.approx(0.02)


def test_distillation_loss_is_zero_when_student_equals_teacher() -> None:
    logits = torch.randn(16, 10) * 5
    assert distillation_loss(logits, logits.clone(), temperature=4.0).item() == 0.0
    assert distillation_loss(logits, torch.randn(16, 10), temperature=4.0).item() > 0


def test_distillation_loss_is_t_squared_times_kl_of_the_softened_outputs() -> None:
    student, teacher, temperature = torch.randn(8, 5), torch.randn(8, 5), 3.0
    p_teacher = F.softmax(teacher / temperature, 1)
    kl = (p_teacher * (p_teacher.log() - F.log_softmax(student / temperature, 1))).sum(1).mean()
    assert distillation_loss(student, teacher, temperature).item() == pytest.approx(temperature**2 * kl.item(), rel=1e-5)


def test_finetune_loss_mixes_labels_and_teacher() -> None:
    logits, teacher, labels = torch.randn(8, 10), torch.randn(8, 10), torch.randint(0, 10, (8,))
    plain = FinetuneLoss(label_smoothing=0.1)(logits, labels)
    assert plain.item() == pytest.approx(F.cross_entropy(logits, labels, label_smoothing=0.1).item())
    mixed = FinetuneLoss(distill_weight=0.25, temperature=2.0)(logits, labels, teacher)
    expected = 0.75 * F.cross_entropy(logits, labels) + 0.25 * distillation_loss(logits, teacher, 2.0)
    assert mixed.item() == pytest.approx(expected.item())
