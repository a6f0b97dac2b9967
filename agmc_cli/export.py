"""``agmc export``: write a pruned model as ONNX and check it against torch with onnxruntime."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch

from agmc_cli.common import print_result
from agmc_cli.flags import add_flag, add_output
from agmc_env.checks import Integer, Number, PathString
from agmc_env.export import DEFAULT_OPSET, supported_opsets


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export",
        description="Export a pruned model (a folder written by `agmc search` or `agmc finetune`) to "
        "ONNX with a dynamic batch dimension. When onnxruntime is installed, the ONNX model is run "
        "on random inputs and its outputs compared with torch's (the command fails if they differ "
        "by more than --tolerance).",
    )
    add_flag(parser, "--pruned", PathString(), help="pruned-model folder (OUT/best)", required=True)
    add_output(parser, "--onnx", False, "output .onnx file (replaced when it exists)", required=True)
    opsets = supported_opsets()
    add_flag(parser, "--opset", Integer(opsets.start, opsets.stop - 1), DEFAULT_OPSET, "ONNX opset")
    add_flag(parser, "--tolerance", Number(0.0), 1e-3, "largest |onnx - torch| logit difference")
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
