"""Knowledge distillation (Hinton et al., 2015): the pruned student learns the unpruned teacher's
softened class probabilities as well as the labels."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def distillation_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """``T² · KL(teacher ‖ student)`` of the logits softened by ``T``, averaged over the batch.

    The ``T²`` keeps the gradient's scale independent of the temperature, so the term can be
    weighted against the label loss with one number. Exactly zero when both logits are equal.

    Shapes:
        ``(N, K), (N, K) -> ()``
    """
    student = F.log_softmax(student_logits.float() / temperature, dim=1)
    teacher = F.log_softmax(teacher_logits.float() / temperature, dim=1)
    return F.kl_div(student, teacher, reduction="batchmean", log_target=True) * temperature**2


class FinetuneLoss(nn.Module):
    """The training loss: label cross-entropy, plus distillation when the teacher's logits are given.

    Args:
        label_smoothing: of the cross-entropy. (default: ``0.0``)
        distill_weight: weight ``w`` of the distillation term; the loss is
            ``(1 - w) · CE + w · KD`` with teacher logits, plain ``CE`` without. (default: ``0.0``)
        temperature: of the distillation term. (default: ``4.0``)
    """

    def __init__(self, label_smoothing: float = 0.0, distill_weight: float = 0.0, temperature: float = 4.0) -> None:
        super().__init__()
        self.cross_entropy = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
        self.distill_weight = distill_weight
        self.temperature = temperature

    def forward(
        self, logits: torch.Tensor, labels: torch.Tensor, teacher_logits: torch.Tensor | None = None
    ) -> torch.Tensor:
        label_loss = self.cross_entropy(logits.float(), labels)
        if teacher_logits is None:
            return label_loss
        distill = distillation_loss(logits, teacher_logits, self.temperature)
        return (1 - self.distill_weight) * label_loss + self.distill_weight * distill

    def extra_repr(self) -> str:
        return f"distill_weight={self.distill_weight}, temperature={self.temperature}"
