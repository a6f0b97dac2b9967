"""ONNX export of a (pruned) model with a dynamic batch axis, checked against torch with onnxruntime."""

from __future__ import annotations

import importlib.util
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch


def export_onnx(model: torch.nn.Module, input_size: tuple[int, ...], path: Path, opset: int) -> None:
    """Export ``model`` (eval mode, CPU) with a dynamic batch axis."""
    dynamo = importlib.util.find_spec("onnxscript") is not None  # the new exporter needs onnxscript
    example = torch.randn(2, *input_size)
    options: dict[str, Any] = {"input_names": ["input"], "output_names": ["logits"], "opset_version": opset}
    if dynamo:
        options["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch")}}
    else:
        options["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():  # the exporter's notes on constant folding are not the user's business
        warnings.simplefilter("ignore", UserWarning)
        torch.onnx.export(model, (example,), str(path), dynamo=dynamo, **options)


def check_onnx(model: torch.nn.Module, input_size: tuple[int, ...], path: Path, batch: int = 4) -> float | None:
    """Largest absolute difference between onnxruntime's and torch's outputs; ``None`` without onnxruntime."""
    if importlib.util.find_spec("onnxruntime") is None:
        return None
    import onnxruntime

    inputs = torch.randn(batch, *input_size, generator=torch.Generator().manual_seed(0))
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    (result,) = session.run(None, {session.get_inputs()[0].name: inputs.numpy()})
    with torch.no_grad():
        expected = model(inputs).numpy()
    return float(np.abs(result - expected).max())
