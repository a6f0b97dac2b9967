"""ONNX export of a (pruned) model with a dynamic batch axis, checked against torch with onnxruntime."""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch

from agmc_env.atomic import atomic_write
from agmc_env.errors import UnsupportedModelError

DEFAULT_OPSET = 17


def _dynamo() -> bool:
    return importlib.util.find_spec("onnxscript") is not None  # the new exporter needs onnxscript


def supported_opsets() -> range:
    """The ONNX opsets the installed exporter writes (a model may still need a higher one)."""
    try:
        from torch.onnx import _constants

        low, torchscript_high, high = (
            _constants.ONNX_MIN_OPSET, _constants.ONNX_TORCHSCRIPT_EXPORTER_MAX_OPSET, _constants.ONNX_MAX_OPSET,
        )  # fmt: skip
    except (ImportError, AttributeError):  # a torch that moved them: the values of torch 2.x
        low, torchscript_high, high = 7, 20, 23
    # The dynamo exporter builds opset 18 and converts from there.
    return range(18, high + 1) if _dynamo() else range(low, torchscript_high + 1)


@contextlib.contextmanager
def _quiet_output() -> Iterator[None]:
    """Silence file descriptors 1 and 2: on a failure the TorchScript exporter prints the whole
    graph (thousands of lines) from C++, where ``contextlib.redirect_stdout`` cannot reach."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 1)
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in (*saved, devnull):
            os.close(fd)


def export_onnx(model: torch.nn.Module, input_size: tuple[int, ...], path: str | os.PathLike, opset: int) -> None:
    """Export ``model`` (eval mode, CPU) with a dynamic batch axis, atomically, to ``path``.

    Raises:
        UnsupportedModelError: the exporter cannot write this model at ``opset`` (the message
            gives the exporter's reason).
    """
    example = torch.randn(2, *input_size)
    options: dict[str, Any] = {"input_names": ["input"], "output_names": ["logits"], "opset_version": opset}
    if _dynamo():
        options["dynamic_shapes"] = {"x": {0: torch.export.Dim("batch")}}
    else:
        options["dynamic_axes"] = {"input": {0: "batch"}, "logits": {0: "batch"}}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(tmp: Path) -> None:
        torch.onnx.export(model, (example,), str(tmp), dynamo=_dynamo(), **options)

    try:
        with warnings.catch_warnings(), _quiet_output():  # the exporter's notes are not the user's business
            warnings.simplefilter("ignore")
            atomic_write(path, write)
    except Exception as error:  # the exporters raise RuntimeError, OnnxExporterError, ValueError...
        reason = (str(error).strip().splitlines() or ["(no message)"])[0]
        raise UnsupportedModelError(
            f"the ONNX exporter could not write {type(model).__name__} at opset {opset}: "
            f"{type(error).__name__}: {reason} (a higher opset, e.g. {DEFAULT_OPSET}, may work)"
        ) from error


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
