"""``agmc finetune``: fine-tune a pruned model saved by ``agmc search`` and report its test accuracy."""

from __future__ import annotations

import argparse
import sys

from agmc_cli.common import add_data_arguments, add_device_arguments, flag_error, print_result
from agmc_env.errors import ConfigError
from agmc_env.finetune import TRAIN_SPLITS, FinetuneConfig, finetune_pruned

_DEFAULTS = FinetuneConfig()


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a pruned model and report its test accuracy",
        description="Fine-tune a pruned model (a folder written by `agmc search`, e.g. OUT/best) with "
        "SGD (Nesterov momentum 0.9, weight decay 5e-4) and a cosine learning-rate schedule, on the "
        "training images with random crops (padding 4) and horizontal flips, then score it on the "
        "test split and save it (default: next to the input, as <PRUNED>-finetuned).",
    )
    parser.add_argument("--pruned", required=True, help="pruned-model folder written by `agmc search` (OUT/best)")
    parser.add_argument("--epochs", type=int, default=_DEFAULTS.epochs)
    parser.add_argument("--lr", type=float, default=_DEFAULTS.lr, help=f"initial learning rate (default: {_DEFAULTS.lr})")
    parser.add_argument("--batch-size", type=int, default=_DEFAULTS.batch_size)
    parser.add_argument("--weight-decay", type=float, default=_DEFAULTS.weight_decay)
    parser.add_argument(
        "--split", default="calibration", choices=TRAIN_SPLITS,
        help="training images: calibration (training set minus the 1,000 train_holdout images, default) or train",
    )  # fmt: skip
    parser.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-size", type=int, default=None, help="score on the first N test images")
    parser.add_argument("--seed", type=int, default=_DEFAULTS.seed)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="where to save the fine-tuned model (default: <PRUNED>-finetuned)")
    add_device_arguments(parser, precision="fp32")  # reported accuracies stay exact
    add_data_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(f"fine-tuning {args.pruned} on the {args.split} images", file=sys.stderr)
    try:
        config = FinetuneConfig(
            epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, weight_decay=args.weight_decay, seed=args.seed
        )
        result = finetune_pruned(
            args.pruned, args.out, config, split=args.split, train_size=args.train_size, test_size=args.test_size,
            split_seed=args.split_seed, data_dir=args.data_dir, device=args.device, precision=args.precision,
            progress=not args.no_progress,
        )  # fmt: skip
    except ConfigError as error:
        raise flag_error(error) from None
    print_result(
        {
            "model": result.model,
            "test_accuracy_before": result.test_accuracy_before,
            "test_accuracy": result.test_accuracy,
            "test_images": result.test_images,
            "final_loss": result.final_loss,
            "flops": result.flops,
            "params": result.params,
            "seconds": round(result.seconds, 2),
            "model_path": str(result.model_path),
        },
        args.json,
    )
    return 0
