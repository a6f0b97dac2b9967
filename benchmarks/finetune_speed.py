"""Fine-tuning speed: the engine of ``agmc_env.finetune`` against a plain PyTorch training loop.

    python benchmarks/finetune_speed.py --model resnet56 --preserve 0.5 --images 768 --rounds 3
    python benchmarks/finetune_speed.py --full-epoch        # also time one real epoch (50,000 images)

Both train the same pruned model (the uniform policy at ``--preserve`` of the FLOPs, saved by a
one-episode search) on the same uint8 training tensors, in this process, interleaved round by round
so that load changes on a shared machine hit both alike:

- plain loop: the textbook recipe: a ``DataLoader`` (same process) over a ``Dataset`` that applies
  torchvision's ``RandomCrop(32, padding=4)`` + ``RandomHorizontalFlip`` + ``Normalize`` image by
  image, NCHW, ``loss.item()`` every step, SGD with a constant learning rate;
- engine: :func:`agmc_env.finetune.finetune` with its defaults (batched augmentation on the device,
  channels_last, host syncs once per epoch, warm-up + cosine schedule), labels only, so that both do
  the same work per image; a row without channels_last tells whether NHWC pays on this machine; a
  last row adds distillation from the unpruned model (one extra forward
  pass of a twice larger model per batch).

Each figure is the median images/s over ``--rounds`` rounds of ``--images`` images, per precision
(``fp32``, ``bf16`` autocast). The epoch time is 50,000 images at the median fp32 rate, or measured
with ``--full-epoch``.
"""

from __future__ import annotations

import argparse
import copy
import tempfile
import time
from collections.abc import Callable

import torch
from torch import nn
from torchvision.transforms import v2

from agents.search import run_search
from agmc_env.data import ImageSet, load_split
from agmc_env.finetune import FinetuneConfig, finetune
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import load_pruned
from harness.reporting import markdown_table, write_json
from harness.timing import machine_summary, median

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="resnet56")
parser.add_argument("--preserve", type=float, default=0.5, help="fraction of FLOPs the pruned model keeps")
parser.add_argument("--images", type=int, default=768, help="training images per measurement")
parser.add_argument("--batch-size", type=int, default=256)
parser.add_argument("--rounds", type=int, default=3)
parser.add_argument("--precisions", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
parser.add_argument("--full-epoch", action="store_true", help="also time one epoch of the engine on all training images")
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()
if args.threads is not None:
    torch.set_num_threads(args.threads)

device = torch.device("cpu")
spec = get_spec(args.model)
with tempfile.TemporaryDirectory() as folder:
    env_options = {"model": args.model, "preserve": args.preserve, "val_size": 100, "device": "cpu"}
    run_search(folder, env_options, "uniform", episodes=1, progress=False)
    pruned, _ = load_pruned(f"{folder}/best")
teacher = get_model(args.model)
train = load_split("train", spec.dataset)
subset = train.subset(torch.arange(args.images), "train")


def plain_loop(model: nn.Module, data: ImageSet, precision: str) -> None:
    """One epoch of the textbook CIFAR training loop over ``data``."""
    transform = v2.Compose([
        v2.RandomCrop(32, padding=4), v2.RandomHorizontalFlip(), v2.ToDtype(torch.float32, scale=True),
        v2.Normalize(spec.mean, spec.std),
    ])  # fmt: skip

    class Augmented(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(data)

        def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
            return transform(data.images[index]), data.labels[index]

    loader = torch.utils.data.DataLoader(Augmented(), batch_size=args.batch_size, shuffle=True)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4)
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")
    model.train()
    total = 0.0
    for images, labels in loader:
        with autocast:
            loss = nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += loss.item()


def engine(precision: str, distill: bool = False, channels_last: bool = True) -> Callable[[nn.Module, ImageSet], None]:
    config = FinetuneConfig(epochs=1, batch_size=args.batch_size, precision=precision, channels_last=channels_last)

    def run(model: nn.Module, data: ImageSet) -> None:
        finetune(model, data, spec.mean, spec.std, device, config, teacher=teacher if distill else None, progress=False)

    return run


def images_per_s(train_fn: Callable[[nn.Module, ImageSet], None], data: ImageSet) -> float:
    model = copy.deepcopy(pruned)
    start = time.perf_counter()
    train_fn(model, data)
    return len(data) / (time.perf_counter() - start)


warmup = train.subset(torch.arange(args.batch_size), "train")
rows, figures = [], {}
for precision in args.precisions:
    methods = {
        "plain loop": lambda model, data: plain_loop(model, data, precision),
        "engine": engine(precision),
        "engine, NCHW": engine(precision, channels_last=False),
        "engine + distillation": engine(precision, distill=True),
    }
    for fn in methods.values():  # one untimed batch each: kernel selection, allocator warm-up
        images_per_s(fn, warmup)
    rates: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(args.rounds):
        for name, fn in methods.items():
            rates[name].append(images_per_s(fn, subset))
    plain = median(rates["plain loop"])
    for name in methods:
        rate = median(rates[name])
        figures[f"{precision}/{name}"] = rate
        rows.append([precision, name, f"{rate:.0f}", f"{rate / plain:.2f}", f"{len(train) / rate / 60:.1f}"])
        print(f"{precision} {name}: {rate:.0f} images/s ({rate / plain:.2f}x the plain loop)", flush=True)

if args.full_epoch:
    start = time.perf_counter()
    engine("fp32")(copy.deepcopy(pruned), train)
    figures["fp32/engine full epoch s"] = time.perf_counter() - start

print(f"\nmachine: {machine_summary()}")
print(f"model: {args.model} pruned to {args.preserve:.0%} FLOPs (uniform policy), batch {args.batch_size}, "
      f"{args.images} images x {args.rounds} rounds, interleaved\n")  # fmt: skip
print(markdown_table(
    ["precision", "loop", "images/s", "× plain loop", f"min per epoch ({len(train):,} images, estimated)"],
    rows, align="llrrr",
))  # fmt: skip
if args.full_epoch:
    print(f"\nmeasured: one epoch of the engine (fp32, labels only) on {len(train):,} images: "
          f"{figures['fp32/engine full epoch s'] / 60:.1f} min")  # fmt: skip
if args.json_out:
    write_json(args.json_out, {"machine": machine_summary(), "args": vars(args), "images_per_s": figures})
