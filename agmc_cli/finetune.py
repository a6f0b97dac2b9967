"""``agmc finetune``: fine-tune a pruned model saved by ``agmc search`` and report its test accuracy."""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

from agmc_cli.common import add_data_arguments, add_device_arguments, print_result
from agmc_env.finetune import FinetuneConfig, finetune
from agmc_env.cost import count_cost
from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator, resolve_device
from agmc_env.models import get_spec

TRAIN_SPLITS = ("calibration", "train")


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
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.01, help="initial learning rate (default: 0.01)")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument(
        "--split", default="calibration", choices=TRAIN_SPLITS,
        help="training images: calibration (training set minus the 1,000 train_holdout images, default) or train",
    )  # fmt: skip
    parser.add_argument("--train-size", type=int, default=None, help="use only the first N training images")
    parser.add_argument("--test-size", type=int, default=None, help="score on the first N test images")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0)
    parser.add_argument("--out", default=None, help="where to save the fine-tuned model (default: <PRUNED>-finetuned)")
    add_device_arguments(parser)
    add_data_arguments(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from agmc_env.pruning import load_pruned, save_pruned

    config = FinetuneConfig(
        epochs=args.epochs, lr=args.lr, batch_size=args.batch_size, weight_decay=args.weight_decay, seed=args.seed
    )
    model, spec = load_pruned(args.pruned)
    model_spec = get_spec(spec["model"])
    device = resolve_device(args.device)
    train = load_split(args.split, model_spec.dataset, args.data_dir, args.split_seed, args.train_size)
    test = load_split("test", model_spec.dataset, args.data_dir, args.split_seed, args.test_size)
    evaluator = Evaluator(test, model_spec.mean, model_spec.std, device, args.precision)
    # A copy: Evaluator moves the model to channels_last under inference_mode, which leaves its
    # parameters as inference tensors that autograd refuses to train.
    before = evaluator.accuracy(copy.deepcopy(model))
    print(f"fine-tuning {spec['model']} (pruned) on {len(train)} {args.split} images, {device}", file=sys.stderr)
    start = time.perf_counter()
    losses = finetune(model, train, model_spec.mean, model_spec.std, device, config, progress=not args.no_progress)
    seconds = time.perf_counter() - start
    after = evaluator.accuracy(model)
    out = Path(args.out) if args.out else Path(str(Path(args.pruned)).rstrip("/") + "-finetuned")
    record = {"epochs": args.epochs, "lr": args.lr, "split": args.split, "images": len(train), "test_accuracy": after}
    save_pruned(out, model.cpu(), {**spec, "finetune": record})
    cost = count_cost(model, tuple(spec["input_size"]))
    print_result(
        {
            "model": spec["model"],
            "test_accuracy_before": before,
            "test_accuracy": after,
            "test_images": len(test),
            "final_loss": losses[-1],
            "flops": cost.flops,
            "params": cost.params,
            "seconds": round(seconds, 2),
            "model_path": str(out),
        },
        args.json,
    )
    return 0
