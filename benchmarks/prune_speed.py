"""Pruning speed: prune time, cost-model time, and the CPU speed-up of a ResNet-56 pruned to ~50 %
FLOPs, plus what batch-norm re-calibration does to its no-fine-tune accuracy.

    python benchmarks/prune_speed.py --model resnet56 --preserve 0.5 --images 1000
    python benchmarks/prune_speed.py --model tv_resnext50_32x4d --no-pretrained --dataset synthetic --size 64 \
        --images 200 --batch-size 50    # speed only: random weights on random images

The pruned model's ratio is the uniform ratio over the inner units that keeps at most ``--preserve``
of the MACs. The original and the pruned model are timed interleaved, in the same process, on the
same normalised tensors, with the same plain loop (fp32, channels_last, ``torch.no_grad``).
"""

from __future__ import annotations

import argparse
import json

import torch

from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator, normalize_images
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import CostModel, find_units, prune_model, recalibrate_batchnorm
from harness.timing import machine_summary, median, time_call

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="resnet56")
parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True,
                    help="load the model's weights (off: random weights; the accuracies then mean nothing)")
parser.add_argument("--dataset", default=None, help="data set (default: the model's own)")
parser.add_argument("--size", type=int, default=None, help="input side (default: the model's)")
parser.add_argument("--units", default="inner", choices=("inner", "all"))
parser.add_argument("--preserve", type=float, default=0.5, help="fraction of MACs the pruned model keeps")
parser.add_argument("--images", type=int, default=1000, help="images of the search split (speed and accuracy)")
parser.add_argument("--calibration-images", type=int, default=500, help="images for BN re-calibration")
parser.add_argument("--batch-size", type=int, default=250)
parser.add_argument("--repeats", type=int, default=5)
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()

spec = get_spec(args.model)
model = get_model(args.model, pretrained=args.pretrained, init_seed=0)
dataset = args.dataset or spec.dataset
input_size = (3, args.size, args.size) if args.size else spec.input_size
device = torch.device("cpu")
units = find_units(model, input_size, args.units)
cost_model = CostModel(model, units, input_size)

# The uniform ratio that just meets the target, by bisection on the (monotone) cost model.
low, high = 0.0, 1.0
for _ in range(30):
    middle = (low + high) / 2
    if cost_model.cost([middle] * len(units)).macs <= args.preserve * cost_model.base.macs:
        high = middle
    else:
        low = middle
ratios = [high] * len(units)
kept = cost_model.cost(ratios)

prune_s = time_call(lambda: prune_model(model, units, ratios), repeats=args.repeats)
cost_calls = 1000
cost_s = time_call(lambda: [cost_model.cost(ratios) for _ in range(cost_calls)], repeats=args.repeats)
pruned = prune_model(model, units, ratios)

imageset = load_split("search", dataset, size=args.images, image_size=input_size[-1])
images = normalize_images(imageset.images, spec.mean, spec.std, device).contiguous(memory_format=torch.channels_last)


def throughput_loop(net: torch.nn.Module) -> None:
    with torch.no_grad():
        for start in range(0, len(images), args.batch_size):
            net(images[start : start + args.batch_size])


for net in (model, pruned):
    net.eval().to(memory_format=torch.channels_last)
original_s, pruned_s = [], []
for _ in range(args.repeats):  # interleaved, so load changes on a shared machine hit both alike
    original_s += time_call(lambda: throughput_loop(model), repeats=1)
    pruned_s += time_call(lambda: throughput_loop(pruned), repeats=1)
original_ips = len(images) / median(original_s)
pruned_ips = len(images) / median(pruned_s)

evaluator = Evaluator(imageset, spec.mean, spec.std, device="cpu", batch_size=args.batch_size)
accuracy_original = evaluator.accuracy(model)
accuracy_pruned = evaluator.accuracy(pruned)
calibration = load_split("calibration", dataset, size=args.calibration_images, image_size=input_size[-1])
recalibrate_batchnorm(pruned, normalize_images(calibration.images, spec.mean, spec.std, device))
accuracy_recalibrated = evaluator.accuracy(pruned)

result = {
    "model": args.model, "pretrained": args.pretrained, "dataset": dataset, "input_size": list(input_size),
    "units": args.units, "num_units": len(units), "uniform_ratio": round(high, 4),
    "kept_macs": kept.macs, "kept_macs_fraction": round(kept.macs / cost_model.base.macs, 4),
    "kept_params_fraction": round(kept.params / cost_model.base.params, 4),
    "prune_s": round(median(prune_s), 4), "cost_model_us_per_call": round(1e6 * median(cost_s) / cost_calls, 1),
    "images": len(images), "batch_size": args.batch_size,
    "original_images_per_s": round(original_ips), "pruned_images_per_s": round(pruned_ips),
    "speedup": round(pruned_ips / original_ips, 2),
    "accuracy_original": round(accuracy_original, 2), "accuracy_pruned_no_finetune": round(accuracy_pruned, 2),
    "accuracy_pruned_bn_recalibrated": round(accuracy_recalibrated, 2),
    "calibration_images": args.calibration_images, "machine": machine_summary(),
}
print(f"model {args.model}, {len(units)} {args.units} units at ratio {high:.3f}: "
      f"{result['kept_macs_fraction']:.1%} of MACs, {result['kept_params_fraction']:.1%} of params")
print(f"prune a copy (one ratio vector): {result['prune_s'] * 1000:.0f} ms (median of {args.repeats})")
print(f"cost model: {result['cost_model_us_per_call']} us per call")
print(f"CPU fp32 throughput, {len(images)} images, batch {args.batch_size}: original {original_ips:.0f} img/s, "
      f"pruned {pruned_ips:.0f} img/s, speed-up x{result['speedup']}")
print(f"accuracy on {len(images)} search images: original {accuracy_original:.2f} %, pruned {accuracy_pruned:.2f} %, "
      f"pruned + BN re-calibration on {args.calibration_images} images {accuracy_recalibrated:.2f} %")
if args.json_out:
    with open(args.json_out, "w") as handle:
        json.dump(result, handle, indent=2)
