"""``agmc export``: write a pruned model as ONNX and check it against torch with onnxruntime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from agmc_cli.common import print_result


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        help="export a pruned model to ONNX (checked with onnxruntime when installed)",
        description="Export a pruned model (a folder written by `agmc search` or `agmc finetune`) to "
        "ONNX with a dynamic batch dimension. When onnxruntime is installed, the ONNX model is run "
        "on random inputs and its outputs compared with torch's (the command fails if they differ "
        "by more than --tolerance).",
    )
    parser.add_argument("--pruned", required=True, help="pruned-model folder (OUT/best)")
    parser.add_argument("--onnx", required=True, help="output .onnx file")
    parser.add_argument("--opset", type=int, default=17, help="ONNX opset (default: 17)")
    parser.add_argument("--tolerance", type=float, default=1e-3, help="largest |onnx - torch| logit difference")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agmc_env.cost import count_cost
    from agmc_env.export import check_onnx, export_onnx
    from agmc_env.pruning import load_pruned

    model, spec = load_pruned(args.pruned)
    model = model.cpu().eval().to(memory_format=torch.contiguous_format)
    input_size = tuple(spec["input_size"])
    path = Path(args.onnx)
    export_onnx(model, input_size, path, args.opset)
    difference = check_onnx(model, input_size, path)
    if difference is None:
        print("onnxruntime is not installed: the exported model was not checked", file=sys.stderr)
    cost = count_cost(model, input_size)
    print_result(
        {
            "model": spec["model"],
            "onnx": str(path),
            "bytes": path.stat().st_size,
            "flops": cost.flops,
            "params": cost.params,
            "checked": difference is not None,
            "max_abs_difference": difference,
        },
        args.json,
    )
    if difference is not None and difference > args.tolerance:
        print(f"agmc export: ONNX outputs differ from torch's by {difference:.3g} > {args.tolerance}", file=sys.stderr)
        return 1
    return 0
