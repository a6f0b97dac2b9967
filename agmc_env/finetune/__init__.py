"""Fine-tuning of pruned models: a fast training engine, distillation from the unpruned model,
per-epoch checkpoints that resume exactly, and the whole ``agmc finetune`` job.

==============================  ==============================================================
name                            what it is
==============================  ==============================================================
:class:`FinetuneConfig`         the training settings (checked when made)
:func:`finetune`                train an ``nn.Module`` in place on an :class:`ImageSet`
:func:`finetune_pruned`         load a saved pruned model, train, score and save it
:func:`distillation_loss`       ``T² · KL(teacher ‖ student)`` of softened logits
==============================  ==============================================================

Example:
    >>> from agmc_env.finetune import FinetuneConfig, finetune_pruned
    >>> result = finetune_pruned("runs/r56/best", config=FinetuneConfig(epochs=30))
    >>> result.report_accuracy, result.test_accuracy
"""

from agmc_env.finetune.config import FinetuneConfig
from agmc_env.finetune.distill import FinetuneLoss, distillation_loss
from agmc_env.finetune.engine import EpochRecord, finetune
from agmc_env.finetune.pipeline import TRAIN_SPLITS, FinetuneResult, build_teacher, default_output, finetune_pruned

__all__ = [
    "EpochRecord",
    "FinetuneConfig",
    "FinetuneLoss",
    "FinetuneResult",
    "TRAIN_SPLITS",
    "build_teacher",
    "default_output",
    "distillation_loss",
    "finetune",
    "finetune_pruned",
]
