"""``agmc finetune``: fine-tune a pruned model saved by ``agmc search`` and report its accuracy."""

from __future__ import annotations

import argparse
import sys

from agmc_cli.common import (
    add_data_arguments, add_device_arguments, add_threads_argument, apply_threads, flag_error, print_result,
)
from agmc_cli.flags import add_flag, add_force_flag, add_output, check_output_folder
from agmc_env.checks import SEED, Integer, OneOf, PathString
from agmc_env.errors import ConfigError
from agmc_env.finetune import TRAIN_SPLITS, FinetuneConfig, finetune_pruned
from agmc_env.finetune.config import flag_settings, setting_check
from agmc_env.finetune.pipeline import default_output

_DEFAULTS = FinetuneConfig()


def add_config_arguments(parser: argparse.ArgumentParser, prefix: str = "") -> None:
    """The :class:`~agmc_env.finetune.FinetuneConfig` flags (``--<prefix><field>``), defaults left to it.

    Each flag is checked at parse time by the setting's own check (:func:`setting_check`).
    """
    for name, text in flag_settings().items():
        default = getattr(_DEFAULTS, name)
        add_flag(
            parser, f"--{prefix}{name.replace('_', '-')}", setting_check(name), None,
            f"{text} (default: {'none' if default is None else default})", option=name, dest=f"ft_{name}",
        )  # fmt: skip


def config_from(args: argparse.Namespace, **overrides: object) -> FinetuneConfig:
    """The ``FinetuneConfig`` of the parsed flags (``None``: the library's default)."""
    chosen = {name: getattr(args, f"ft_{name}") for name in flag_settings() if getattr(args, f"ft_{name}") is not None}
    return FinetuneConfig(**{**chosen, **overrides}, precision=args.precision)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "finetune",
        description="Fine-tune a pruned model (a folder written by `agmc search`, e.g. OUT/best) on the "
        "training images (random crops with padding 4 and horizontal flips, batched on the device) with "
        "SGD (Nesterov momentum 0.9), a warm-up then cosine learning rate, label smoothing and, by "
        "default, knowledge distillation from the unpruned model it was cut from. After every epoch: "
        "the accuracy on the report split and a checkpoint (continue a killed run with --resume); at "
        "the end, the accuracy on the full test set. Writes OUT (default: <PRUNED>-finetuned): the model in the "
        "format of OUT/best (for `agmc evaluate --pruned` and `agmc export`), finetune.json (settings "
        "and curve), accuracy.png and checkpoint/.",
    )
    add_flag(parser, "--pruned", PathString(), help="pruned-model folder written by `agmc search` (OUT/best)", required=True)
    add_config_arguments(parser)
    parser.add_argument(
        "--distill", action=argparse.BooleanOptionalAction, default=None,
        help="learn the unpruned model's outputs too (default: whenever its weights are found; "
        "--no-distill: labels only)",
    )  # fmt: skip
    add_flag(
        parser, "--split", OneOf(TRAIN_SPLITS), "train",
        "training images: train (all 50,000) or calibration (train minus the 1,000 train_holdout images)",
    )  # fmt: skip
    add_flag(parser, "--train-size", Integer(1), help="train on a seeded subset of N images")
    add_flag(parser, "--report-size", Integer(1), help="score on the first N report-split images")
    add_flag(parser, "--test-size", Integer(1), help="score on the first N test images")
    add_flag(parser, "--split-seed", SEED, help="seed of the splits (default: the search's)")
    add_output(parser, "--out", True, "output folder (default: <PRUNED>-finetuned)")
    parser.add_argument("--resume", action="store_true", help="continue from the last epoch checkpointed in --out")
    add_force_flag(parser, "a previous fine-tune in it is replaced")
    # The training's precision: bf16 where the CPU has it natively (2x+ the images/s of fp32 on a
    # Zen 4); the accuracies reported are scored in fp32 whatever it is.
    add_device_arguments(parser, precision="auto")
    add_threads_argument(parser)
    add_data_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run, check=check)


def check(args: argparse.Namespace) -> None:
    """Before any work: the output folder may be written (see :mod:`agmc_cli.flags`)."""
    check_output_folder("--out", args.out or default_output(args.pruned), args.force, args.resume)


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
