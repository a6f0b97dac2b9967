"""How many images BN re-calibration needs, and at which precision (issue 18).

    python benchmarks/calibration_size.py --model resnet56 --policies 30 --threads 1 \\
        --json-out results/calibration_size_resnet56.json --csv-out results/calibration_size_resnet56.csv
    python benchmarks/calibration_size.py --quick          # ResNet-20, a few policies: a smoke test

Every re-calibration is an estimate from a finite sample of training images, so the accuracy an
episode reports carries a calibration error as well as the sampling error of its reward images.
This script measures the first one. For ``--policies`` random policies (the env's random actions
through the budget wall, ``fill_budget="give_back"``) and the unpruned model, each pruned model is
re-calibrated with every ``--settings`` entry (``precision:images``, the first images of one
augmented calibration set) and with the reference (``--reference`` images in fp32), then scored in
fp32 on the same ``--score-images`` search-split images. Per setting: the mean calibration time,
the accuracy difference from the reference (mean and largest absolute), the Spearman rank
correlation with it, and the unpruned model's accuracy. For scale, the binomial standard error of
a reward on ``--reward-images`` images is printed beside them (the sampling error of the reward
images, which are also a fixed sample).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import gymnasium as gym
import numpy as np
import torch

from agmc_env.data.splits import load_split
from agmc_env.evaluate import Evaluator
from agmc_env.pruning import recalibrate_batchnorm
from harness.reporting import markdown_table, publish, spearman, write_csv
from harness.timing import machine_summary

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="resnet56")
parser.add_argument("--policies", type=int, default=30, help="random policies (the unpruned model comes on top)")
parser.add_argument("--reference", type=int, default=2048, help="calibration images of the fp32 reference")
parser.add_argument(
    "--settings", nargs="+", default=["fp32:512", "bf16:512", "fp32:256", "bf16:256", "bf16:128"],
    help="precision:images of each compared re-calibration",
)
parser.add_argument("--score-images", type=int, default=2000, help="search-split images every model is scored on")
parser.add_argument("--reward-images", type=int, nargs="+", default=[500, 1000], help="for the binomial error column")
parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
parser.add_argument("--seed", type=int, default=0, help="seed of the random policies")
parser.add_argument("--quick", action="store_true", help="ResNet-20, 3 policies, 500 score images: a smoke test")
parser.add_argument("--csv-out", default=None)
parser.add_argument("--json-out", default=None)
args = parser.parse_args()
if args.quick:
    args.model, args.policies, args.score_images, args.reference = "resnet20", 3, 500, 512
if args.threads is not None:
    torch.set_num_threads(args.threads)
settings = [(precision, int(images)) for precision, images in (entry.split(":") for entry in args.settings)]
if any(images > args.reference for _, images in settings):
    parser.error(f"--settings ask for more images than --reference ({args.reference})")

ENV_ID = "agmc_env:ModelCompression-v0"
shared = {"model": args.model, "val_size": 100, "fill_budget": "give_back", "device": "cpu"}
# The policies' episodes need no re-calibration (the wall does not depend on the reward): only the
# second env re-calibrates, once, to hand over its calibration images.
env = gym.make(ENV_ID, **shared)
inner = env.unwrapped
calibrating = gym.make(ENV_ID, **shared, bn_recalibration=True, calibration_size=args.reference).unwrapped
bundle, episode_evaluator = inner._resources.bundle, inner._resources.evaluator
calibration = calibrating._resources.calibration_images  # the first n images of it are setting n's
score_set = load_split("search", bundle.dataset, size=args.score_images)
scorer = Evaluator(score_set, bundle.mean, bundle.std, device="cpu", precision="fp32", batch_size=500)


def random_policies() -> list[list[float] | None]:
    """``None`` (the unpruned model), then ``--policies`` seeded random episodes' final ratios."""
    env.action_space.seed(args.seed)
    policies: list[list[float] | None] = [None]
    for episode in range(args.policies):
        env.reset(seed=args.seed + episode)
        terminated = False
        while not terminated:
            *_, terminated, _, info = env.step(env.action_space.sample())
        policies.append([float(ratio) for ratio in info["ratios"]])
    return policies


def calibrated_accuracy(model: torch.nn.Module, precision: str, images: int) -> tuple[float, float]:
    """(seconds of the re-calibration, fp32 accuracy on the score images) of a re-calibrated copy."""
    model = episode_evaluator.prepare(copy.deepcopy(model))  # the env's device and memory format
    start = time.perf_counter()
    with episode_evaluator.autocast(precision):
        recalibrate_batchnorm(model, calibration[:images])
    seconds = time.perf_counter() - start
    return seconds, scorer.accuracy(model)


reference = ("fp32", args.reference)
every = [reference, *(key for key in dict.fromkeys(settings) if key != reference)]
accuracy: dict[tuple[str, int], list[float]] = {key: [] for key in every}
seconds: dict[tuple[str, int], list[float]] = {key: [] for key in every}
policies = random_policies()
for index, ratios in enumerate(policies):
    if ratios is None:
        model = copy.deepcopy(bundle.model)
    else:
        model = bundle.method.prune(ratios, importance=inner.config.importance)
    for key in every:
        spent, score = calibrated_accuracy(model, *key)
        seconds[key].append(spent)
        accuracy[key].append(score)
    print(f"policy {index}/{len(policies) - 1}: " + ", ".join(f"{p}:{n} {accuracy[(p, n)][-1]:.2f}" for p, n in every), flush=True)

unpruned_plain = scorer.accuracy(copy.deepcopy(bundle.model))
truth = accuracy[reference][1:]  # the pruned policies only; index 0 is the unpruned model
rows = []
for key in every:
    pruned = accuracy[key][1:]
    gaps = [abs(a - b) for a, b in zip(pruned, truth)]
    rows.append({
        "precision": key[0], "images": key[1],
        "calibration_s": round(statistics.mean(seconds[key][1:]), 3),
        "mean_abs_diff": round(statistics.mean(gaps), 3), "max_abs_diff": round(max(gaps), 3),
        "spearman": round(spearman(pruned, truth), 4),
        "same_best": int(np.argmax(pruned)) == int(np.argmax(truth)),
        "unpruned_accuracy": round(accuracy[key][0], 2),
    })  # fmt: skip
binomial = {
    n: round(statistics.mean(100 * (p / 100 * (1 - p / 100) / n) ** 0.5 for p in truth), 3) for n in args.reward_images
}
headers = ["precision", "images", "calibration_s", "mean_abs_diff", "max_abs_diff", "spearman", "same_best", "unpruned_accuracy"]
table = markdown_table(headers, [[row[h] for h in headers] for row in rows])
if args.csv_out:
    write_csv(args.csv_out, rows)
print(
    f"{args.model}: {args.policies} random policies (accuracy {min(truth):.2f}-{max(truth):.2f} %), scored in fp32 on "
    f"{args.score_images} search images; differences against the {reference[0]}:{reference[1]} re-calibration; "
    f"unpruned model without re-calibration {unpruned_plain:.2f} %"
)
print("binomial standard error of a reward (points): " + ", ".join(f"{n} images {e}" for n, e in binomial.items()))
publish(
    table, args.json_out,
    {"args": vars(args), "rows": rows, "binomial_error": binomial, "unpruned_plain": unpruned_plain,
     "accuracy": {f"{p}:{n}": values for (p, n), values in accuracy.items()}},
    machine_summary(),
)  # fmt: skip
