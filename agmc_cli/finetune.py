"""``agmc finetune``: fine-tune a pruned model saved by ``agmc search`` and report its accuracy."""

from __future__ import annotations

import argparse
import sys

from agmc_cli.common import (
    add_data_arguments, add_device_arguments, add_threads_argument, apply_threads, flag_error, print_result,
)
from agmc_env.errors import ConfigError
from agmc_env.finetune import TRAIN_SPLITS, FinetuneConfig, finetune_pruned

_DEFAULTS = FinetuneConfig()
# The FinetuneConfig fields with a flag of their own: --<field-with-dashes>, and their help.
CONFIG_FLAGS = {
    "epochs": (int, "passes over the training images"),
    "lr": (float, "peak learning rate for a batch of 128 images, scaled linearly to --batch-size"),
    "batch_size": (int, "images per step"),
    "weight_decay": (float, "L2 penalty"),
    "warmup_epochs": (float, "epochs of linear warm-up before the cosine decay"),
    "label_smoothing": (float, "label smoothing of the cross-entropy"),
    "distill_weight": (float, "weight of the distillation term (the label term gets 1 - it)"),
    "temperature": (float, "softening temperature of the distillation term"),
    "ema_decay": (float, "keep an exponential moving average of the weights with this decay, e.g. 0.999"),
    "seed": (int, "seed of the shuffling and the augmentation"),
}


def add_config_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The :class:`~agmc_env.finetune.FinetuneConfig` flags (``--<prefix><field>``), defaults left to it."""
    for name, (type_, text) in CONFIG_FLAGS.items():
        default = getattr(_DEFAULTS, name)
        parser.add_argument(
            f"--{prefix}{name.replace('_', '-')}", dest=f"ft_{name}", type=type_, default=None,
            help=f"{text} (default: {'none' if default is None else default})",
        )  # fmt: skip


def config_from(args: argparse.Namespace, **overrides: object) -> FinetuneConfig:
    """The ``FinetuneConfig`` of the parsed flags (``None``: the library's default)."""
    chosen = {name: getattr(args, f"ft_{name}") for name in CONFIG_FLAGS if getattr(args, f"ft_{name}") is not None}
    return FinetuneConfig(**{**chosen, **overrides}, precision=args.precision)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        help="fine-tune a pruned model (distilling the unpruned one) and report its accuracy",
        description="Fine-tune a pruned model (a folder written by `agmc search`, e.g. OUT/best) on the "
        "training images (random crops with padding 4 and horizontal flips, batched on the device) with "
        "SGD (Nesterov momentum 0.9), a warm-up then cosine learning rate, label smoothing and, by "
        "default, knowledge distillation from the unpruned model it was cut from. After every epoch: "
        "the accuracy on the report split and a checkpoint (continue a killed run with --resume); at "
        "the end, the accuracy on the full test set. Writes OUT (default: <PRUNED>-finetuned): the model in the "
        "format of OUT/best (for `agmc evaluate --pruned` and `agmc export`), finetune.json (settings "
        "and curve), accuracy.png and checkpoint/.",
    )
    parser.add_argument("--pruned", required=True, help="pruned-model folder written by `agmc search` (OUT/best)")
    add_config_arguments(parser)
    parser.add_argument(
        "--distill", action=argparse.BooleanOptionalAction, default=None,
        help="learn the unpruned model's outputs too (default: whenever its weights are found; "
        "--no-distill: labels only)",
    )  # fmt: skip
    parser.add_argument(
        "--split", default="train", choices=TRAIN_SPLITS,
        help="training images: train (all 50,000, default) or calibration (train minus the 1,000 train_holdout images)",
    )  # fmt: skip
    parser.add_argument("--train-size", type=int, default=None, help="train on a seeded subset of N images")
    parser.add_argument("--report-size", type=int, default=None, help="score on the first N report-split images")
    parser.add_argument("--test-size", type=int, default=None, help="score on the first N test images")
    parser.add_argument("--split-seed", type=int, default=None, help="seed of the splits (default: the search's)")
    parser.add_argument("--out", default=None, help="output folder (default: <PRUNED>-finetuned)")
    parser.add_argument("--resume", action="store_true", help="continue from the last epoch checkpointed in --out")
    add_device_arguments(parser, precision="fp32")  # reported accuracies stay exact
    add_threads_argument(parser)
    add_data_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    apply_threads(args)
    print(f"fine-tuning {args.pruned} on the {args.split} images (acc: report-split accuracy)", file=sys.stderr)
    try:
        result = finetune_pruned(
            args.pruned, args.out, config_from(args), distill=args.distill, split=args.split,
            train_size=args.train_size, report_size=args.report_size, test_size=args.test_size,
            split_seed=args.split_seed, data_dir=args.data_dir, device=args.device, resume=args.resume,
            progress=not args.no_progress,
        )  # fmt: skip
    except ConfigError as error:
        raise flag_error(error) from None
    print_result({**result.summary(), "seconds": round(result.seconds, 2)}, args.json)
    return 0
