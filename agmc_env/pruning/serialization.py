"""Save and load pruned models without pickles: a JSON spec beside a ``weights_only`` state_dict.

The spec names the base model of the zoo and the kept channels of each unit; loading builds the base
model, prunes it to those channel counts (which fixes every shape) and loads the saved weights.
Files: ``<dir>/pruned.json`` and ``<dir>/weights.pt``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from agmc_env.atomic import atomic_write, atomic_write_text
from agmc_env.errors import ConfigError, CorruptFileError, MissingFileError, reason
from agmc_env.models import get_model, get_spec
from agmc_env.pruning.channel import prune_to_kept
from agmc_env.pruning.unit_search import find_units
from agmc_env.pruning.units import UNIT_SETS, PrunableUnit

SPEC_FILE = "pruned.json"
WEIGHTS_FILE = "weights.pt"
FORMAT_VERSION = 1
_REQUIRED = ("model", "units", "input_size", "unit_names", "kept_channels")
# What to do about a damaged pruned-model folder.
_REDO = "save the pruned model again (re-run the search or fine-tune that wrote it)"


def pruning_spec(
    model_name: str,
    units: Sequence[PrunableUnit],
    kept: Sequence[int],
    unit_set: str = "inner",
    input_size: Sequence[int] = (3, 32, 32),
    num_classes: int | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The JSON-safe architecture record of a model pruned from zoo model ``model_name``.

    ``extra`` (JSON-safe: ratios, accuracy, ...) is stored alongside and returned by :func:`load_pruned`.
    """
    get_spec(model_name)  # a model outside the zoo cannot be rebuilt: fail at save, not at load
    if unit_set not in UNIT_SETS:
        raise ConfigError(f"unit_set must be one of {UNIT_SETS}, got {unit_set!r}")
    if len(kept) != len(units):
        raise ConfigError(f"need one kept count per unit ({len(units)}), got {len(kept)}")
    return {
        "format_version": FORMAT_VERSION,
        "model": model_name,
        "num_classes": num_classes,
        "units": unit_set,
        "input_size": [int(s) for s in input_size],
        "unit_names": [u.name for u in units],
        "kept_channels": [int(k) for k in kept],
        **extra,
    }


def save_pruned(path_dir: str | os.PathLike, model: nn.Module, spec_json: Mapping[str, Any]) -> Path:
    """Write ``spec_json`` (see :func:`pruning_spec`) and ``model``'s state_dict into ``path_dir``."""
    missing = [key for key in _REQUIRED if key not in spec_json]
    if missing:
        raise ConfigError(f"spec_json lacks {missing}; build it with pruning_spec()")
    path = Path(path_dir)
    path.mkdir(parents=True, exist_ok=True)
    # Each file is swapped in whole, weights first: a kill leaves the old model or the new one
    # readable, never a truncated file (the spec is what marks the folder as a finished save).
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    atomic_write(path / WEIGHTS_FILE, lambda tmp: torch.save(state, tmp))
    atomic_write_text(path / SPEC_FILE, json.dumps(dict(spec_json), indent=2) + "\n")
    return path


def read_pruned_files(path_dir: str | os.PathLike) -> tuple[dict[str, Any], dict[str, torch.Tensor]]:
    """The spec and the state_dict a :func:`save_pruned` folder holds, checked as far as files go.

    Raises:
        MissingFileError: ``pruned.json`` or ``weights.pt`` is missing.
        CorruptFileError: either is unreadable, truncated or of another format (names the file).
    """
    path = Path(path_dir)
    for name in (SPEC_FILE, WEIGHTS_FILE):
        if not (path / name).is_file():
            raise MissingFileError(f"{path / name} not found: not a directory written by save_pruned", path=path / name)
    try:
        spec = json.loads((path / SPEC_FILE).read_text())
        if not isinstance(spec, dict):
            raise ValueError(f"a JSON {type(spec).__name__}, not an object")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        message = f"{path / SPEC_FILE} is not a readable pruned-model spec ({error}); {_REDO}"
        raise CorruptFileError(message, path / SPEC_FILE) from None
    if spec.get("format_version") != FORMAT_VERSION:
        version = spec.get("format_version")
        raise CorruptFileError(f"{path / SPEC_FILE}: format_version {version!r}, expected {FORMAT_VERSION}", path / SPEC_FILE)
    if missing := [key for key in _REQUIRED if key not in spec]:
        raise CorruptFileError(f"{path / SPEC_FILE} lacks {missing}; {_REDO}", path / SPEC_FILE)
    try:
        state = torch.load(path / WEIGHTS_FILE, map_location="cpu", weights_only=True)
        if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
            raise ValueError("it does not hold a state_dict of tensors")
    except Exception as error:  # torch raises several types for a truncated or foreign file
        message = f"{path / WEIGHTS_FILE} is not a readable weights file ({reason(error)}); {_REDO}"
        raise CorruptFileError(message, path / WEIGHTS_FILE) from None
    return spec, state


def load_pruned(path_dir: str | os.PathLike) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild a model saved by :func:`save_pruned`; returns ``(model in eval mode, spec)``.

    Raises:
        MissingFileError, CorruptFileError: see :func:`read_pruned_files`; also a spec whose units
            or shapes do not match its model in this version.
    """
    path = Path(path_dir)
    spec, state = read_pruned_files(path)
    input_size = tuple(spec["input_size"])
    base = get_model(spec["model"], pretrained=False, num_classes=spec.get("num_classes"))
    units = find_units(base, input_size, spec["units"])
    if [u.name for u in units] != spec["unit_names"]:
        raise CorruptFileError(f"{path / SPEC_FILE}: its units do not match those of {spec['model']!r} in this version", path / SPEC_FILE)
    model = prune_to_kept(base, units, spec["kept_channels"])
    try:
        model.load_state_dict(state)
    except RuntimeError as error:  # missing or extra keys, other shapes: not the model the spec describes
        message = f"{path / WEIGHTS_FILE} does not fit the model {path / SPEC_FILE} describes ({reason(error)}); {_REDO}"
        raise CorruptFileError(message, path / WEIGHTS_FILE) from None
    return model.eval(), spec
