"""``agmc evaluate``: top-1 accuracy, FLOPs, MACs and params of a model on a data split."""

from __future__ import annotations

import argparse
import sys

from agmc_cli.common import add_data_arguments, add_device_arguments, add_env_option, flag_error, print_result
from agmc_cli.flags import add_flag
from agmc_env.checks import Integer, OneOf, PathString
from agmc_env.data import SPLITS
from agmc_env.errors import ConfigError
from agmc_env.scoring import PrunedCost, load_scored_model, pruned_cost, score_model


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "evaluate",
        description="Top-1 accuracy (percent), FLOPs/MACs (conv + linear, FLOPs = 2 x MACs) and "
        "parameters of a zoo model, a local weights file, or a pruned model saved by `agmc search`.",
    )
    add_env_option(parser, "model")
    add_env_option(parser, "weights_path", help="local weights file (state_dict) instead of the shipped one")
    add_flag(parser, "--pruned", PathString(), help="a pruned-model folder written by `agmc search` (e.g. OUT/best)")
    add_flag(parser, "--split", OneOf(SPLITS), "test", "data split (test: all 10,000 images)")
    add_flag(parser, "--size", Integer(1), help="evaluate on the first SIZE images of the split")
    add_env_option(parser, "split_seed")
    add_flag(parser, "--batch-size", Integer(1), 250, "images per forward pass")
    add_device_arguments(parser, precision="fp32")  # reported accuracies stay exact
    add_data_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    try:
        model, name = load_scored_model(args.model, args.weights_path, args.pruned, args.data_dir)
        what = f"{name} pruned ({args.pruned})" if args.pruned else name
        print(f"evaluating {what} on the {args.split} split ({args.device}, {args.precision})", file=sys.stderr)
        score = score_model(
            model, name, args.split, size=args.size, split_seed=args.split_seed, data_dir=args.data_dir,
            device=args.device, precision=args.precision, batch_size=args.batch_size,
        )  # fmt: skip
        cost = pruned_cost(model, args.pruned) if args.pruned else None
    except ConfigError as error:
        raise flag_error(error) from None
    print_result(
        {
            "model": name,
            **({"pruned": str(args.pruned)} if args.pruned else {}),
            "split": args.split,
            "accuracy": score.accuracy,
            "flops": score.flops,
            "macs": score.macs,
            "params": score.params,
            **(_compared_to_original(cost) if cost is not None else {}),
            "images": score.images,
            "seconds": round(score.seconds, 3),
            "images_per_second": round(score.images / score.seconds, 1),
            "device": score.device,
            "precision": score.precision,  # "auto" resolved
        },
        args.json,
    )
    return 0


def _compared_to_original(cost: PrunedCost) -> dict[str, object]:
    """A pruned model's kept FLOPs and params next to the unpruned model's, and the search's budget."""
    figures: dict[str, object] = {
        "original_flops": cost.original.flops,
        "original_params": cost.original.params,
        "kept_flops_fraction": round(cost.kept_flops_fraction, 4),
        "kept_params_fraction": round(cost.kept_params_fraction, 4),
    }
    if cost.target is not None and cost.preserve is not None:
        figures["budget"] = f"{cost.target} <= {cost.preserve:g} of the original"
    return figures
