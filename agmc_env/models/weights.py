"""Loading checkpoints into models, with explicit checks instead of ``strict=False`` silence."""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn

from agmc_env.errors import CorruptFileError, MissingFileError, reason


# What to do about a weights file that cannot be read.
_REDO = "save it again, or for shipped weights delete it and run `agmc data --download` (`agmc data --verify` checks them)"


class WeightsMismatchError(CorruptFileError):
    """A checkpoint does not fit the model's architecture."""


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Read a checkpoint with ``weights_only=True`` (no arbitrary pickles).

    Accepts a bare state_dict, or a dict holding one under ``state_dict`` / ``model``; strips the
    ``module.`` prefix that ``nn.DataParallel`` leaves behind.
    """
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"weights file not found: {path}", path=path)
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises several types for corrupt or foreign files
        message = (
            f"could not read weights file {path} ({reason(error)}); it is truncated or not a "
            f"torch checkpoint: {_REDO}"
        )
        raise WeightsMismatchError(message, path) from None
    state = checkpoint
    if isinstance(checkpoint, dict):
        for key in ("state_dict", "model"):
            if isinstance(checkpoint.get(key), dict):
                state = checkpoint[key]
                break
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsMismatchError(f"{path} does not hold a state_dict of tensors; {_REDO}", path)
    return {k.removeprefix("module."): v for k, v in state.items()}


def load_weights(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load ``path`` into ``model`` in place and return it.

    Missing ``num_batches_tracked`` buffers (older checkpoints lack them) are the only tolerated
    difference; any other missing or unexpected key, or a shape mismatch, raises.

    Raises:
        WeightsMismatchError: naming the offending keys.
    """
    state = read_state_dict(path)
    expected = model.state_dict()
    missing = [k for k in expected if k not in state and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in state if k not in expected]
    wrong_shape = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(expected[k].shape)}"
        for k in expected
        if k in state and state[k].shape != expected[k].shape
    ]
    if missing or unexpected or wrong_shape:
        details = []
        if missing:
            details.append(f"missing keys {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        if unexpected:
            details.append(f"unexpected keys {unexpected[:5]}{' ...' if len(unexpected) > 5 else ''}")
        if wrong_shape:
            details.append(f"shape mismatches {wrong_shape[:5]}")
        raise WeightsMismatchError(
            f"weights in {path} do not fit {model.__class__.__name__}: " + "; ".join(details), path
        )
    model.load_state_dict(state, strict=False)
    return model
