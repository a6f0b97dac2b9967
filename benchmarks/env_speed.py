"""Episode speed of ModelCompression-v0: wall time per episode, its split, and the env's overhead.

    python benchmarks/env_speed.py --models resnet20 resnet56 --val-size 1000 --episodes 5

For each model: the mean wall time of an episode (reset, one step per unit with random actions, the
final prune + evaluate), split into pruning / evaluation / the rest (reset, non-terminal steps,
cost, reward), the mean and worst non-terminal step, and the ratio of the episode time to a plain
evaluation of the same pruned model on the same images (the env's overhead; goal <= 1.10).
Goal on ResNet-56 with 1,000 images: an episode under 2.5 s in fp32 on the CPU.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import gymnasium as gym
import numpy as np

from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator
from agmc_env.models import get_spec
from harness.timing import machine_summary

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--models", nargs="+", default=["resnet20", "resnet56"])
parser.add_argument("--val-size", type=int, default=1000, help="images of the search split per reward")
parser.add_argument("--episodes", type=int, default=5, help="timed episodes per model (after one warm-up)")
parser.add_argument("--device", default="cpu")
parser.add_argument("--precision", default="fp32")
parser.add_argument("--preserve", type=float, default=0.5)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()

rows = []
for name in args.models:
    env = gym.make(
        "agmc_env:ModelCompression-v0", model=name, val_size=args.val_size, device=args.device,
        precision=args.precision, preserve=args.preserve,
    )
    inner = env.unwrapped
    # The plain evaluation scores the same images with the same settings, outside the env.
    spec = get_spec(name)
    plain_evaluator = Evaluator(
        load_split("search", spec.dataset, size=args.val_size), spec.mean, spec.std, args.device,
        precision=inner.precision, batch_size=inner.batch_size,
    )
    rng = np.random.default_rng(args.seed)
    episodes, prune, evaluate, plain, steps = [], [], [], [], []
    for episode in range(args.episodes + 1):  # episode 0 warms up (first forward passes, allocator)
        start = time.perf_counter()
        env.reset(seed=args.seed + episode)
        terminated = False
        while not terminated:
            step_start = time.perf_counter()
            _, _, terminated, _, _ = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
            if not terminated and episode > 0:
                steps.append(time.perf_counter() - step_start)
        seconds = time.perf_counter() - start
        # The same pruned model on the same images, evaluated directly: what an episode cannot beat.
        plain_start = time.perf_counter()
        plain_evaluator.accuracy(inner.pruned_model)
        plain_seconds = time.perf_counter() - plain_start
        if episode > 0:
            episodes.append(seconds)
            prune.append(inner.last_timings["prune_seconds"])
            evaluate.append(inner.last_timings["eval_seconds"])
            plain.append(plain_seconds)
    env.close()
    mean = statistics.mean
    rows.append(
        {
            "model": name,
            "units": len(inner.units),
            "images": args.val_size,
            "episode_s": mean(episodes),
            "prune_s": mean(prune),
            "eval_s": mean(evaluate),
            "rest_s": mean(episodes) - mean(prune) - mean(evaluate),
            "plain_eval_s": mean(plain),
            "ratio": mean(episodes) / mean(plain),
            "step_ms_mean": 1e3 * mean(steps),
            "step_ms_max": 1e3 * max(steps),
        }
    )

print(f"Machine: {machine_summary()}")
print(f"{args.episodes} episodes per model after one warm-up, {args.precision}, device {args.device}, "
      f"preserve {args.preserve} FLOPs, random actions\n")
print("| model | units | images | episode (s) | prune (s) | evaluate (s) | rest (s) | plain eval (s) "
      "| episode / plain eval | step mean (ms) | step max (ms) |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    print(f"| {r['model']} | {r['units']} | {r['images']} | {r['episode_s']:.3f} | {r['prune_s']:.3f} | "
          f"{r['eval_s']:.3f} | {r['rest_s']:.3f} | {r['plain_eval_s']:.3f} | {r['ratio']:.3f} | "
          f"{r['step_ms_mean']:.3f} | {r['step_ms_max']:.3f} |")
if args.json_out:
    with open(args.json_out, "w") as handle:
        json.dump({"machine": machine_summary(), "args": vars(args), "rows": rows}, handle, indent=2)
