"""The GPU path, checked in one prepared run (under 10 minutes on one data-centre GPU).

    python benchmarks/gpu_check.py --json-out benchmarks/results/gpu_check.json
    python benchmarks/gpu_check.py --quick --device cpu     # the script itself, tiny, on a CPU (a minute)

Without CUDA (and without ``--device cpu``) it prints that it skipped and exits 0. Five steps, each
timed, each allowed to fail on its own (the table says which, the exit code is 1):

1. ``pytest -m gpu``: the GPU tests (``tests/test_gpu.py``);
2. the evaluator's throughput on CUDA in fp32, bf16 and fp16 against a plain PyTorch loop
   (``benchmarks/eval_speed.py --precisions fp32 bf16 fp16``, ResNet-56, 5,000 images);
3. one ResNet-56 episode (BN re-calibration on, fp32) on the CPU, its ratios replayed on CUDA
   (``env.unwrapped.replay``): the same pruned model must score within ``--tolerance`` points;
4. a ``--episodes`` (100) episode ResNet-56 AGMC search with the reward on the GPU (wall time,
   seconds per episode);
5. one fine-tune epoch of that search's best model on the GPU (wall time, report accuracy).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path

import gymnasium as gym
import numpy as np
import torch

from agents.search import run_search
from agmc_env.finetune import FinetuneConfig, finetune_pruned
from harness.reporting import markdown_table, publish
from harness.timing import machine_summary

ROOT = Path(__file__).resolve().parents[1]
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--device", default="cuda", help="cuda (default), or cpu to check the script itself")
parser.add_argument("--model", default="resnet56")
parser.add_argument("--images", type=int, default=5000, help="images of the throughput step")
parser.add_argument("--val-size", type=int, default=1000, help="reward images of the episode and the search")
parser.add_argument("--episodes", type=int, default=100, help="episodes of the search")
parser.add_argument("--tolerance", type=float, default=0.1, help="largest CPU/CUDA accuracy difference, points")
parser.add_argument("--finetune-size", type=int, default=None, help="training images of the epoch (default: all)")
parser.add_argument("--step-timeout", type=int, default=240, help="seconds each subprocess step may take")
parser.add_argument("--quick", action="store_true", help="ResNet-20, 200 images, 3 episodes, a 256-image epoch")
parser.add_argument("--out-dir", default=None, help="where the search goes (default: a temporary folder)")
parser.add_argument("--json-out", default=None)
args = parser.parse_args()
if args.quick:
    args.model, args.images, args.val_size, args.episodes, args.finetune_size = "resnet20", 200, 100, 3, 256

if args.device.startswith("cuda") and not torch.cuda.is_available():
    print("gpu_check: no CUDA device here: skipped (pass --device cpu to check the script itself)")
    sys.exit(0)
on_gpu = args.device.startswith("cuda")
steps: list[dict] = []


def step(name: str):
    """Run the decorated function now as a step: its wall time, its figures, or its error."""

    def run(fn):
        start = time.perf_counter()
        try:
            figures, ok = fn(), True
        except Exception as error:  # one broken step must not hide the others' figures
            figures, ok = {"error": f"{type(error).__name__}: {error}"}, False
            traceback.print_exc()
        steps.append({"step": name, "ok": ok, "seconds": round(time.perf_counter() - start, 1), **figures})
        print(f"gpu_check: {name}: {'ok' if ok else 'FAILED'} {figures}", file=sys.stderr, flush=True)
        return figures

    return run


def _subprocess(argv: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=args.step_timeout)


@step("gpu tests (pytest -m gpu)")
def gpu_tests() -> dict:
    if not on_gpu:
        return {"skipped": "not on a GPU"}
    done = _subprocess([sys.executable, "-m", "pytest", "-q", "-m", "gpu", "-p", "no:cacheprovider", "tests/test_gpu.py"])
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-300:]
    if done.returncode != 0:
        raise RuntimeError(f"pytest exited {done.returncode}: {summary}")
    return {"pytest": summary}


@step("evaluator throughput vs a plain loop")
def throughput() -> dict:
    precisions = ["fp32", "bf16", "fp16"] if on_gpu else ["fp32"]
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "eval.json"
        done = _subprocess([
            sys.executable, "benchmarks/eval_speed.py", "--model", args.model, "--images", str(args.images),
            "--device", args.device, "--precisions", *precisions, "--json-out", str(out),
        ])  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"eval_speed.py exited {done.returncode}: {done.stderr[-300:]}")
        rows = json.loads(out.read_text())["rows"]
    return {r["precision"]: f"{r['agmc_images_per_s']} img/s vs plain {r['plain_images_per_s']} ({r['ratio']}×)" for r in rows}


@step(f"{args.model} episode: CPU vs {args.device}, same ratios")
def same_accuracy() -> dict:
    options = {"model": args.model, "val_size": args.val_size, "bn_recalibration": True, "precision": "fp32"}
    env = gym.make("agmc_env:ModelCompression-v0", **options, device="cpu")
    env.reset(seed=0)
    terminated = False
    while not terminated:
        _, _, terminated, _, info = env.step(np.full(env.action_space.shape, 0.3, dtype=np.float32))
    env.close()
    other = gym.make("agmc_env:ModelCompression-v0", **options, device=args.device)
    other.reset(seed=0)
    replayed = other.unwrapped.replay(info["ratios"], info["importance_seed"])
    other.close()
    gap = abs(replayed["accuracy"] - info["accuracy"])
    if gap > args.tolerance:
        raise AssertionError(f"CPU {info['accuracy']:.2f} % vs {args.device} {replayed['accuracy']:.2f} %: {gap:.2f} points apart")
    return {"cpu_accuracy": info["accuracy"], "device_accuracy": replayed["accuracy"], "gap_points": round(gap, 3)}


root = Path(args.out_dir) if args.out_dir else Path(tempfile.mkdtemp(prefix="gpu_check-"))


@step(f"{args.episodes}-episode {args.model} search, reward on {args.device}")
def search() -> dict:
    options = {"model": args.model, "val_size": args.val_size, "device": args.device}
    summary = run_search(root / "search", options, "agmc", episodes=args.episodes, progress=False, rescore_top=0, overwrite=True)
    return {
        "search_s": summary["seconds"], "s_per_episode": round(summary["seconds"] / summary["episodes"], 3),
        "best_accuracy": summary["best_accuracy"], "kept_flops": round(summary["kept_flops_fraction"], 3),
        "precision": summary["precision"], "batch_size": summary["batch_size"],
    }  # fmt: skip


@step(f"one fine-tune epoch on {args.device}")
def finetune_epoch() -> dict:
    if not (root / "search" / "best").is_dir():
        raise RuntimeError("the search step left no best model")
    start = time.perf_counter()
    result = finetune_pruned(
        root / "search" / "best", root / "tuned", FinetuneConfig(epochs=1), train_size=args.finetune_size,
        report_size=1000 if args.quick else None, test_size=1000 if args.quick else None, device=args.device,
        progress=False,
    )  # fmt: skip
    return {
        "epoch_s": round(time.perf_counter() - start, 1), "report_before": result.report_accuracy_before,
        "report_after": result.report_accuracy, "test_after": result.test_accuracy,
    }  # fmt: skip


table = markdown_table(
    ["step", "result", "wall s", "figures"],
    [[s["step"], "ok" if s["ok"] else "FAILED", s["seconds"], "; ".join(f"{k} {v}" for k, v in s.items() if k not in ("step", "ok", "seconds"))]
     for s in steps],
    align="llrl",
)  # fmt: skip
publish(table, args.json_out, {"args": vars(args), "steps": steps}, machine_summary())
sys.exit(0 if all(s["ok"] for s in steps) else 1)
