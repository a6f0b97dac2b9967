"""The accuracy curve of a fine-tune as a PNG (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after the backend is chosen)

from agmc_env.finetune.engine import EpochRecord  # noqa: E402


def plot_curve(
    history: Sequence[EpochRecord], before: float, path: str | os.PathLike, *, label: str, title: str = ""
) -> None:
    """Accuracy after each epoch (epoch 0: ``before`` training) above the training loss.

    Args:
        history: the curve (:func:`agmc_env.finetune.finetune`'s records, with accuracies).
        before: the accuracy before training.
        path: the PNG to write.
        label: what the accuracy was measured on (e.g. ``"report split, 5,000 images"``).
        title: the figure's title. (default: none)
    """
    epochs = [0] + [r.epoch for r in history]
    accuracy = [before] + [r.accuracy if r.accuracy is not None else float("nan") for r in history]
    figure, (top, bottom) = plt.subplots(2, 1, figsize=(7, 5), sharex=True)
    top.plot(epochs, accuracy, "o-", color="tab:green")
    top.set_ylabel(f"top-1 accuracy (%)\n{label}")
    top.grid(alpha=0.3)
    bottom.plot([r.epoch for r in history], [r.loss for r in history], "o-", color="tab:blue")
    bottom.set_ylabel("training loss")
    bottom.set_xlabel("epoch")
    bottom.grid(alpha=0.3)
    top.set_title(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
