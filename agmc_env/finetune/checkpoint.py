"""Per-epoch training checkpoints, written atomically, so that a fine-tune killed at any moment
(``kill -9`` included) resumes from its last completed epoch and ends with the same weights.

One file, ``<dir>/state.pt``, loadable with ``weights_only=True``: the weights, the optimizer's
momentum, the schedule, the gradient scaler, the weight average, torch's RNG state, the number of
completed epochs, the curve so far and the settings it was trained with.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from agmc_env.atomic import atomic_write
from agmc_env.errors import ConfigError, CorruptFileError, reason

STATE_FILE = "state.pt"


@dataclass
class TrainingState:
    """Everything a fine-tune needs to continue exactly where it stopped.

    Attributes:
        epoch: epochs completed.
        history: one record per completed epoch (see :class:`agmc_env.finetune.engine.EpochRecord`).
        config: the settings (``FinetuneConfig.to_dict()``).
        modules: ``state_dict()`` of each stateful part (``"model"``, ``"optimizer"``, ...).
        rng: torch's CPU generator state (dropout in models that have it).
    """

    epoch: int
    history: list[dict[str, Any]]
    config: dict[str, Any]
    modules: dict[str, Any]
    rng: torch.Tensor


def save_state(directory: str | os.PathLike, state: TrainingState) -> Path:
    """Write ``state`` to ``<directory>/state.pt`` atomically (the old file stays until the new one is whole)."""
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    payload = {
        "epoch": state.epoch,
        "history": state.history,
        "config": state.config,
        "modules": state.modules,
        "rng": state.rng,
    }
    return atomic_write(path / STATE_FILE, lambda tmp: torch.save(payload, tmp))


def load_state(directory: str | os.PathLike, config: dict[str, Any]) -> TrainingState | None:
    """The state saved in ``directory``, or ``None`` when there is none yet.

    Raises:
        ConfigError: the checkpoint was trained with other settings (names the first that differs).
        CorruptFileError: the file cannot be read.
    """
    path = Path(directory) / STATE_FILE
    if not path.is_file():
        return None
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for a damaged file
        message = f"{path}: not a readable fine-tuning checkpoint ({reason(error)}); delete it to start over"
        raise CorruptFileError(message, path) from error
    for option, value in config.items():
        if payload["config"].get(option) != value:
            saved = payload["config"].get(option)
            raise ConfigError.for_option(
                option, f"is {value!r} but the checkpoint in {path.parent} was trained with {saved!r}; "
                "use the same setting to resume, or another output folder to start over"
            )  # fmt: skip
    return TrainingState(payload["epoch"], payload["history"], payload["config"], payload["modules"], payload["rng"])
