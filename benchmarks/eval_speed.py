"""Evaluation throughput: the project's Evaluator against a plain PyTorch loop, same model, same
tensors, same process, fp32 and bf16 (``--precisions``: fp16 too, on a GPU).

    python benchmarks/eval_speed.py --model resnet56 --images 2000 --repeats 3
    python benchmarks/eval_speed.py --device cuda --precisions fp32 bf16 fp16

The plain loop is what a user would write: NCHW float tensors, ``torch.no_grad()``, batches of the
same size. The Evaluator adds channels_last, ``inference_mode`` and one host sync per call.
"""

from __future__ import annotations

import argparse

import torch

from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator, normalize_images
from agmc_env.models import get_model, get_spec
from harness.reporting import markdown_table, publish
from harness.timing import machine_summary, median, time_call

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="resnet56")
parser.add_argument("--images", type=int, default=2000, help="images of the search split to score")
parser.add_argument("--batch-size", type=int, default=250)
parser.add_argument("--repeats", type=int, default=3)
parser.add_argument("--device", default="auto")
parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16", "fp16"])
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()

spec = get_spec(args.model)
model = get_model(args.model)
imageset = load_split("search", spec.dataset, size=args.images)


def plain_loop(images: torch.Tensor, labels: torch.Tensor, precision: str) -> float:
    correct = 0
    dtype = torch.float16 if precision == "fp16" else torch.bfloat16
    with torch.no_grad(), torch.autocast(images.device.type, dtype, enabled=precision != "fp32"):
        for start in range(0, len(labels), args.batch_size):
            logits = model(images[start : start + args.batch_size])
            correct += (logits.argmax(1) == labels[start : start + args.batch_size]).sum().item()
    return 100.0 * correct / len(labels)


rows = []
for precision in args.precisions:
    evaluator = Evaluator(imageset, spec.mean, spec.std, args.device, precision, args.batch_size)
    plain_images = normalize_images(imageset.images, spec.mean, spec.std, evaluator.device)
    plain_labels = imageset.labels.to(evaluator.device)
    # Interleave the two so that load changes on a shared machine hit both alike.
    plain_s, project_s = [], []
    for _ in range(args.repeats):
        model.to(memory_format=torch.contiguous_format)
        plain_s += time_call(lambda: plain_loop(plain_images, plain_labels, precision), repeats=1)
        project_s += time_call(lambda: evaluator.accuracy(model), repeats=1)
    plain_ips = len(imageset) / median(plain_s)
    project_ips = len(imageset) / median(project_s)
    rows.append({
        "model": args.model, "precision": precision, "device": str(evaluator.device),
        "images": len(imageset), "plain_images_per_s": round(plain_ips), "agmc_images_per_s": round(project_ips),
        "ratio": round(project_ips / plain_ips, 3),
        "plain_accuracy": plain_loop(plain_images, plain_labels, precision),
        "agmc_accuracy": evaluator.accuracy(model),
    })

table = markdown_table(
    ["model", "precision", "device", "images", "plain loop img/s", "agmc Evaluator img/s", "ratio", "accuracy plain / agmc"],
    [[r["model"], r["precision"], r["device"], r["images"], r["plain_images_per_s"], r["agmc_images_per_s"], r["ratio"],
      f"{r['plain_accuracy']:.2f} / {r['agmc_accuracy']:.2f}"] for r in rows],
    align="lllrrrrl",
)  # fmt: skip
publish(table, args.json_out, {"rows": rows}, machine_summary())
