"""``agmc evaluate``: top-1 accuracy, FLOPs, MACs and params of a model on a data split."""

from __future__ import annotations

import argparse
import sys
import time

from agmc_cli.common import add_data_arguments, add_device_arguments, print_result
from agmc_env.cost import count_cost
from agmc_env.data import SPLITS, load_split
from agmc_env.evaluate import Evaluator
from agmc_env.models import available_models, get_model, get_spec


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        help="accuracy and cost of a model on a data split",
        description="Top-1 accuracy (percent), FLOPs/MACs (conv + linear, FLOPs = 2 x MACs) and "
        "parameters of a zoo model, a local weights file, or a pruned model saved by `agmc search`.",
    )
    parser.add_argument("--model", default="resnet56", help=f"zoo name, one of: {', '.join(available_models())}")
    parser.add_argument("--weights", default=None, help="local weights file (state_dict) instead of the shipped one")
    parser.add_argument("--pruned", default=None, help="a pruned-model folder written by `agmc search` (e.g. OUT/best)")
    parser.add_argument("--split", default="test", choices=SPLITS, help="data split (default: test, all 10,000 images)")
    parser.add_argument("--size", type=int, default=None, help="evaluate on the first SIZE images of the split")
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the search/report split")
    parser.add_argument("--batch-size", type=int, default=250)
    add_device_arguments(parser)
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _load_model(args: argparse.Namespace):
    """The model to score and its zoo name (for input size and normalisation)."""
    if args.pruned is not None:
        from agmc_env.pruning import load_pruned  # only needed for pruned models

        model, spec = load_pruned(args.pruned)
        return model, spec["model"]
    model = get_model(args.model, pretrained=True, weights_path=args.weights, data_dir=args.data_dir)
    return model, args.model


def run(args: argparse.Namespace) -> int:
    model, name = _load_model(args)
    spec = get_spec(name)
    imageset = load_split(args.split, spec.dataset, args.data_dir, args.split_seed, args.size)
    evaluator = Evaluator(imageset, spec.mean, spec.std, args.device, args.precision, args.batch_size)
    print(f"evaluating {name} on {len(imageset)} images ({evaluator.device}, {args.precision})", file=sys.stderr)
    start = time.perf_counter()
    accuracy = evaluator.accuracy(model)
    seconds = time.perf_counter() - start
    cost = count_cost(model, spec.input_size)
    print_result(
        {
            "model": name,
            "split": args.split,
            "accuracy": accuracy,
            "flops": cost.flops,
            "macs": cost.macs,
            "params": cost.params,
            "images": len(imageset),
            "seconds": round(seconds, 3),
            "images_per_second": round(len(imageset) / seconds, 1),
            "device": str(evaluator.device),
            "precision": evaluator.precision,  # "auto" resolved
        },
        args.json,
    )
    return 0
