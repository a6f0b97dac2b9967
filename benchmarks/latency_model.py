"""Latency target (issue 16): how well the latency model predicts, and what a latency budget buys.

    # accuracy: >= 50 random policies, predicted vs measured whole-model latency (ResNet-56, CPU, batch 1)
    python benchmarks/latency_model.py accuracy --model resnet56 --policies 50 --json-out results/latency_model_resnet56.json
    # the same on a torchvision model at 224x224 (random weights: only latency is measured)
    python benchmarks/latency_model.py accuracy --model tv_mobilenet_v2 --no-pretrained --policies 50
    # search: a 50 %-latency search against FLOPs-budget searches, measured speed-ups and accuracies
    python benchmarks/latency_model.py search --model resnet56 --preserve 0.5 --flops-preserve 0.5 0.35 --episodes 300

Measurement (``agmc_env.latency.timing``): fp32, NCHW, ``torch.inference_mode``, ``--threads`` torch
threads, a fixed random input of ``--batch`` images; ``--warmup`` untimed calls, then ``--repeats``
samples of about 2 ms each (several calls per sample for fast models), the median kept. Every pruned
model is timed round-robin with the unpruned one, so each policy has its own base and the measured
speed-up is fair under load; the relative error of the predicted latency is reported against the
measured latency, and that of the predicted speed-up against the measured speed-up (which a load
change between building the table and timing the policy does not move).

``accuracy`` draws policies seeded: for policy i a ceiling ``c_i ~ U(0.05, --max-ratio)`` and each
unit's ratio ``~ U(0, c_i)``, so light and heavy prunings both appear. ``search`` runs
``agents.search.run_search`` once with ``target="latency"`` at ``--preserve`` and once per
``--flops-preserve`` with ``target="flops"`` (same agent, seed, episodes, reward images), then times
each chosen policy (``--warmup``/``--repeats``; predictions from the env's own table, built with the
default settings); ``--finetune-epochs`` fine-tunes each chosen model (``agmc finetune``'s
defaults) and reports the report-split accuracy before and after.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import statistics
import time
from pathlib import Path

import torch

from agmc_env.latency import TimingSettings, latency_report, load_latency_model
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import make_pruning_method
from harness.reporting import markdown_table, publish, write_csv
from harness.timing import machine_summary

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("mode", choices=("accuracy", "search"))
parser.add_argument("--model", default="resnet56")
parser.add_argument("--pretrained", action=argparse.BooleanOptionalAction, default=True,
                    help="load the zoo weights (accuracy mode: off is fine, only latency is measured)")
parser.add_argument("--size", type=int, default=None, help="input side (default: the model's; torchvision 224)")
parser.add_argument("--units", default="inner", choices=("inner", "all"))
parser.add_argument("--round-to", type=int, default=None, help="keep multiples of this many channels per unit (round_to)")
parser.add_argument("--batch", type=int, default=1, help="latency_batch: images per timed forward pass")
parser.add_argument("--device", default="cpu")
parser.add_argument("--threads", type=int, default=1, help="torch threads while timing")
parser.add_argument("--warmup", type=int, default=5)
parser.add_argument("--repeats", type=int, default=21)
parser.add_argument("--points", type=int, default=8, help="kept counts per unit in the latency table")
parser.add_argument("--policies", type=int, default=50, help="accuracy: random policies")
parser.add_argument("--max-ratio", type=float, default=0.8)
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--preserve", type=float, default=0.5, help="search: fraction of the latency to keep")
parser.add_argument("--flops-preserve", type=float, nargs="*", default=[0.5],
                    help="search: FLOPs budgets to compare with (pick the one whose measured speed-up matches)")
parser.add_argument("--agent", default="agmc")
parser.add_argument("--episodes", type=int, default=300)
parser.add_argument("--val-size", type=int, default=500)
parser.add_argument("--dataset", default=None, help="search: data set (default: the model's; synthetic for a dry run)")
parser.add_argument("--calibration-size", type=int, default=None, help="search: BN re-calibration images (env default)")
parser.add_argument("--reuse", action="store_true",
                    help="search: read a finished search's summary from --out-dir instead of searching again "
                         "(time its policy anew, e.g. on a quiet machine after searches that ran side by side)")
parser.add_argument("--rescore-top", type=int, default=5)
parser.add_argument("--rescore-size", type=int, default=None)
parser.add_argument("--finetune-epochs", type=int, default=0)
parser.add_argument("--finetune-size", type=int, default=None)
parser.add_argument("--out-dir", default="runs/latency_model")
parser.add_argument("--csv-out", default=None)
parser.add_argument("--json-out", default=None)
parser.add_argument("--cache-dir", default=None, help="latency-table cache (default: AGMC_CACHE)")
args = parser.parse_args()

torch.set_num_threads(args.threads)
settings = TimingSettings(args.warmup, args.repeats)
spec = get_spec(args.model)
input_size = (3, args.size, args.size) if args.size else spec.input_size
method_note = (f"fp32 NCHW, batch {args.batch}, {args.device}, {args.threads} thread(s), warm-up {args.warmup}, "
               f"median of {args.repeats} samples, {args.points} kept counts per unit"
               + (f", widths rounded to multiples of {args.round_to}" if args.round_to else ""))


def percent(value: float) -> float:
    return round(100.0 * value, 2)


def accuracy_mode() -> None:
    model = get_model(args.model, pretrained=args.pretrained, init_seed=0).eval()
    method = make_pruning_method("channel", model, input_size, unit_set=args.units, round_to=args.round_to)
    start = time.perf_counter()
    # Keyed like the env's table (the input size is part of the key): a search at the same batch,
    # threads and settings reuses the table measured here, so it can be built on a quiet machine first.
    latency = load_latency_model(method, args.model, args.batch, args.device, args.cache_dir, settings, args.points)
    table_s = time.perf_counter() - start
    query_start = time.perf_counter()
    for _ in range(1000):
        latency.predict_ratios([0.3] * len(method.units))
    query_us = (time.perf_counter() - query_start) * 1000
    rng = random.Random(args.seed)
    rows = []
    for index in range(args.policies):
        ceiling = rng.uniform(0.05, args.max_ratio)
        ratios = [rng.uniform(0.0, ceiling) for _ in method.units]
        report = latency_report(method, ratios, latency, args.batch, args.device, settings)
        speedup_error = report["speedup_predicted"] / report["speedup"] - 1.0
        rows.append({
            "policy": index, "kept_flops": round(report["kept_flops_fraction"], 4),
            "base_ms": round(report["base_latency_ms"], 4), "measured_ms": round(report["latency_ms"], 4),
            "predicted_ms": round(report["latency_predicted_ms"], 4),
            "latency_error_pct": percent(report["latency_prediction_error"]),
            "speedup": round(report["speedup"], 3), "speedup_predicted": round(report["speedup_predicted"], 3),
            "speedup_error_pct": percent(speedup_error), "ratios": [round(r, 4) for r in ratios],
        })
        print(f"policy {index}: measured {report['latency_ms']:.3f} ms, predicted {report['latency_predicted_ms']:.3f} ms "
              f"({rows[-1]['latency_error_pct']:+.1f} %), speed-up x{report['speedup']:.2f} vs x{report['speedup_predicted']:.2f}",
              flush=True)
    latency_errors = [abs(r["latency_error_pct"]) for r in rows]
    speedup_errors = [abs(r["speedup_error_pct"]) for r in rows]

    def spread(values: list[float]) -> list[str]:
        ordered = sorted(values)  # p90 by nearest rank
        return [f"{statistics.median(values):.2f}", f"{ordered[math.ceil(0.9 * len(ordered)) - 1]:.2f}", f"{max(values):.2f}"]

    table = markdown_table(
        ["model", "input", "units", "policies", "error of", "median abs %", "p90 abs %", "max abs %", "base ms (table)",
         "table build s", "query µs"],
        [[args.model, f"{input_size[-1]}²", len(method.units), len(rows), "latency", *spread(latency_errors),
          f"{latency.base_ms:.3f}", f"{table_s:.1f}", f"{query_us:.1f}"],
         [args.model, f"{input_size[-1]}²", len(method.units), len(rows), "speed-up", *spread(speedup_errors), "", "", ""]],
    )
    if args.csv_out:
        write_csv(args.csv_out, rows)
    print(f"method: {method_note}")
    publish(table, args.json_out, {"mode": "accuracy", "args": vars(args), "method": method_note,
                                   "table_seconds": table_s, "query_us": query_us, "rows": rows}, machine_summary())


def finished_summary(out: Path) -> dict | None:
    """The summary of the finished search in ``out`` with ``--episodes`` episodes, else ``None``."""
    try:
        summary = json.loads((out / "summary.json").read_text())
    except (OSError, ValueError):
        return None
    return summary if summary.get("episodes") == args.episodes else None


def search_mode() -> None:
    from agents.registry import agent_options
    from agents.search import run_search
    from agmc_env.finetune import FinetuneConfig, finetune_pruned
    from agmc_env.pruning import load_pruned

    common = {"model": args.model, "pretrained": args.pretrained, "val_size": args.val_size, "units": args.units,
              "max_ratio": args.max_ratio, "device": args.device, "latency_batch": args.batch,
              "bn_recalibration": True, "fill_budget": "give_back", "cache_dir": args.cache_dir, "round_to": args.round_to}
    if args.dataset:
        common["dataset"] = args.dataset
    if args.calibration_size is not None:
        common["calibration_size"] = args.calibration_size
    runs = [("latency", args.preserve)] + [("flops", p) for p in args.flops_preserve]
    model = get_model(args.model, pretrained=args.pretrained, init_seed=0).eval()
    method = make_pruning_method("channel", model, input_size, unit_set=args.units, round_to=args.round_to)
    # The env's own table (its default settings and key): the latency search was budgeted by it.
    latency = load_latency_model(method, args.model, args.batch, args.device, args.cache_dir)
    rows = []
    for target, preserve in runs:
        out = Path(args.out_dir) / args.model / f"{target}{preserve:g}" / f"seed{args.seed}"
        options = {**common, "target": target, "preserve": preserve}
        start = time.perf_counter()
        summary = finished_summary(out) if args.reuse else None
        if summary is None:
            summary = run_search(out, options, args.agent, args.episodes, args.seed,
                                 agent_options(args.agent, total_episodes=args.episodes), overwrite=True, progress=False,
                                 rescore_top=args.rescore_top, rescore_size=args.rescore_size)
        report = latency_report(method, summary["ratios"], latency, args.batch, args.device, settings)
        row = {
            "target": target, "preserve": preserve, "episodes": summary["episodes"], "search_s": round(time.perf_counter() - start),
            "kept_flops": round(report["kept_flops_fraction"], 4), "kept_params": round(report["kept_params_fraction"], 4),
            "speedup_measured": round(report["speedup"], 3), "speedup_predicted": round(report["speedup_predicted"], 3),
            "latency_ms": round(report["latency_ms"], 4), "base_ms": round(report["base_latency_ms"], 4),
            "search_accuracy": round(summary.get("search_split_accuracy", summary["best_accuracy"]), 2),
            "report_accuracy": summary.get("report_split_accuracy"),
        }
        if args.finetune_epochs:
            result = finetune_pruned(out / "best", out / "best-finetuned", FinetuneConfig(epochs=args.finetune_epochs, seed=args.seed),
                                     train_size=args.finetune_size, device=args.device, progress=False)
            row.update(report_accuracy=round(result.report_accuracy_before, 2), report_accuracy_ft=round(result.report_accuracy, 2))
        assert load_pruned(out / "best") is not None  # the chosen model is on disk for `agmc evaluate`
        rows.append(row)
        print(f"{target} {preserve:g}: " + ", ".join(f"{k} {v}" for k, v in row.items()), flush=True)
    headers = ["target", "preserve", "episodes", "kept_flops", "kept_params", "speedup_measured", "speedup_predicted",
               "search_accuracy", "report_accuracy", "report_accuracy_ft"]
    table = markdown_table(headers, [[row.get(h, "") for h in headers] for row in rows])
    if args.csv_out:
        write_csv(args.csv_out, rows)
    print(f"method: {method_note}; agent {args.agent}, {args.episodes} episodes, seed {args.seed}, reward on {args.val_size} images")
    publish(table, args.json_out, {"mode": "search", "args": vars(args), "method": method_note, "rows": rows}, machine_summary())


accuracy_mode() if args.mode == "accuracy" else search_mode()
