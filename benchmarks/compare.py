"""The paper's comparison at CPU scale: handcrafted, random search, AMC and AGMC at 50 % FLOPs.

    python benchmarks/compare.py --models resnet20 --seeds 0 1 2 --episodes 60 --finetune-epochs 1
    python benchmarks/compare.py --quick

For each model and seed, every method runs through the project's search runner
(``agents.search.run_search``, one directory per run under ``--out-dir``) with the same episode
budget and the same env options (CIFAR-10, ``target="flops"``, ``preserve=0.5``, reward
``"accuracy"`` on ``--val-size`` images of the search split, BN statistics re-estimated after pruning
unless ``--no-bn-recalibration``, unused budget given back as ``agmc search`` does unless
``--fill-budget none``):

==============  ===========================================================================
method          agent of ``agents.registry``
==============  ===========================================================================
handcrafted     ``handcrafted``: one uniform ratio meeting the budget, L1 channel selection
                (deterministic: one episode)
random          ``random``: random ratios through the budget wall, best of the budget
amc             ``amc``: DDPG on AMC's rule-based layer features
agmc_ddpg       ``agmc``: DDPG on the learned graph (GAE) embedding
agmc_td3        ``td3`` with ``embedding="gnn"``
==============  ===========================================================================

The methods and the run layout are ``harness.methods``'s. Each search names its best model by
re-scoring its ``--rescore-top`` best policies on the search split (``agents.rescore``); that model is
then scored on the report split (never seen by a search or by that choice),
without fine-tuning and after the same fine-tune for every method (``agmc_env.finetune.finetune``
with its default settings, as ``agmc finetune``: ``--finetune-epochs`` (default 1) on
``--finetune-size`` images of the training set, bf16 where the CPU runs it natively
(``--finetune-precision``), distilling the unpruned model unless ``--no-distill``, the seed of the run);
after the fine-tune it is also scored on the full test set, the split the papers report. Each fine-tune's
scores are saved in its run directory, so ``--reuse`` resumes a killed comparison without redoing them.
The papers' own figures are printed beside ours with their own baselines. Its CPU speed-up is the throughput ratio pruned / unpruned, measured interleaved in this process.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

import torch

from agents.presets import SEARCH_DEFAULTS
from harness.methods import METHODS, add_fill_budget_argument, benchmark_env_options, method_search
from agmc_env.finetune import FinetuneConfig, finetune
from harness.reporting import markdown_table, mean_std, write_csv, write_json
from agmc_env.atomic import atomic_write_json
from agmc_env.data import load_split
from agmc_env.evaluate import Evaluator, resolve_device
from agmc_env.models import get_model, get_spec
from agmc_env.pruning import load_pruned
from harness.timing import machine_summary, median, time_call

# What the papers report at about 50 % FLOPs, top-1 after fine-tuning, with their own unpruned
# baselines (which differ, so the fair comparison is the change from each one's baseline).
# (method, pruned %, baseline % or None where the source gives none, note)
PAPERS = {
    "resnet56": [
        ("AGMC (public code's README)", 92.00, None, "DDPG on a GAE embedding, 50 % FLOPs"),
        ("AMC (He et al. 2018)", 91.9, 92.8, "50 % FLOPs"),
        ("GNN-RL (Yu et al. 2022)", 93.49, 93.39, "same starting checkpoint as ours"),
        ("DepGraph / Torch-Pruning (Fang et al. 2023)", 93.64, 93.53, "2.57× FLOPs reduction"),
        ("handcrafted (in the AGMC paper)", None, None, "AGMC's paper: 3.6 points under AGMC"),
    ],
    "resnet20": [("AGMC (public code's README)", 88.42, None, "50 % FLOPs")],
}

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--models", nargs="+", default=["resnet20", "resnet56"])
parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=list(METHODS))
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--episodes", type=int, default=100, help="episode budget of every searcher")
parser.add_argument("--warmup-episodes", type=int, default=20, help="random warm-up episodes of DDPG/TD3")
parser.add_argument("--preserve", type=float, default=0.5, help="fraction of FLOPs to keep")
add_fill_budget_argument(parser)
parser.add_argument("--val-size", type=int, default=1000, help="search-split images scored for the reward")
parser.add_argument(
    "--bn-recalibration", action=argparse.BooleanOptionalAction, default=True,
    help="re-estimate BN statistics after pruning, in every episode (env option; default: on, since without it "
    "inner-unit pruning to 50%% FLOPs leaves ResNet-20 near chance and the reward barely ranks policies)",
)
parser.add_argument(
    "--rescore-top", type=int, default=SEARCH_DEFAULTS.rescore_top,
    help="re-score this many of a search's best policies on the search split before naming its best "
    "(0: the best reward)",
)  # fmt: skip
parser.add_argument("--rescore-size", type=int, default=None, help="search-split images of the re-score (default: all 5,000)")
parser.add_argument("--report-size", type=int, default=None, help="report-split images (default: all 5,000)")
parser.add_argument("--test-size", type=int, default=None, help="test-set images scored after the fine-tune (default: all 10,000)")
parser.add_argument("--finetune-epochs", type=int, default=1, help="0: no fine-tuning")
parser.add_argument("--finetune-size", type=int, default=None, help="training images to fine-tune on (default: all 50,000)")
parser.add_argument(
    "--distill", action=argparse.BooleanOptionalAction, default=True,
    help="fine-tune with knowledge distillation from the unpruned model (default: on)",
)  # fmt: skip
parser.add_argument(
    "--finetune-precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
    help="training precision of the fine-tune, as `agmc finetune --precision` (default: auto, bf16 where native)",
)
parser.add_argument("--speed-images", type=int, default=500, help="images per CPU throughput measurement")
parser.add_argument("--device", default="auto", help="device of the searches and fine-tuning")
parser.add_argument("--out-dir", default="runs/benchmarks", help="search directories (runs/ is git-ignored)")
parser.add_argument("--reuse", action="store_true", help="reuse (or resume) searches found in --out-dir")
parser.add_argument("--quick", action="store_true", help="ResNet-20, seed 0, 6 episodes, 200 images, a tiny fine-tune")
parser.add_argument("--csv-out", default=None, help="default: <out-dir>/compare.csv")
parser.add_argument("--json-out", default=None, help="default: <out-dir>/compare.json")
args = parser.parse_args()
if args.quick:
    args.models, args.seeds, args.episodes, args.warmup_episodes = ["resnet20"], [0], 6, 2
    args.val_size, args.report_size, args.finetune_size, args.speed_images = 200, 500, 256, 250
    args.test_size = 500
    args.rescore_size = 500
    args.finetune_epochs = min(args.finetune_epochs, 1)

out_dir = Path(args.out_dir)
device = resolve_device(args.device)
env_options = benchmark_env_options(args)
cpu = torch.device("cpu")


def finetuned_scores(
    out: Path, pruned, original, spec, train, report: Evaluator, test: Evaluator, seed: int
) -> dict:
    """Report-split and test-set accuracy of the run's best model after the fine-tune, cached in the run.

    A fine-tune takes minutes to hours here, so each result is written atomically next to the search
    it belongs to, keyed by every setting that changes it, and ``--reuse`` picks it up after a kill.
    """
    distill = "distill" if args.distill else "labels"
    cache = out / f"finetune_{args.finetune_epochs}ep_{distill}_{args.finetune_precision}_{args.finetune_size or 'all'}.json"
    if args.reuse and cache.exists():
        return json.loads(cache.read_text())
    tuned = copy.deepcopy(pruned)
    config = FinetuneConfig(epochs=args.finetune_epochs, seed=seed, precision=args.finetune_precision)
    teacher = original if args.distill else None
    started = time.perf_counter()
    finetune(tuned, train, spec.mean, spec.std, device, config, teacher=teacher, progress=False)
    scores = {"finetune_s": time.perf_counter() - started, "report_acc_ft": report.accuracy(tuned),
              "test_acc_ft": test.accuracy(tuned)}
    atomic_write_json(cache, scores)
    return scores


rows = []
for model_name in args.models:
    spec = get_spec(model_name)
    original = get_model(model_name)
    report = Evaluator(load_split("report", spec.dataset, size=args.report_size), spec.mean, spec.std, device)
    timing = Evaluator(load_split("report", spec.dataset, size=args.speed_images), spec.mean, spec.std, cpu)
    train = load_split("train", spec.dataset, size=args.finetune_size) if args.finetune_epochs else None
    test = None
    if args.finetune_epochs:
        test = Evaluator(load_split("test", spec.dataset, size=args.test_size), spec.mean, spec.std, device)
    baseline = report.accuracy(copy.deepcopy(original))
    baseline_test = test.accuracy(copy.deepcopy(original)) if test is not None else None
    rows.append({"model": model_name, "method": "unpruned", "seed": None, "report_acc": baseline,
                 "report_acc_ft": None, "test_acc_ft": baseline_test, "kept_flops": 1.0, "kept_params": 1.0,
                 "speedup": 1.0})
    print(f"{model_name}: unpruned report accuracy {baseline:.2f} %", flush=True)
    for seed in args.seeds:
        for method in args.methods:
            out, summary = method_search(
                args.out_dir, model_name, method, seed, env_options, args.episodes, args.warmup_episodes, args.reuse,
                args.rescore_top, args.rescore_size,
            )  # fmt: skip
            pruned, _ = load_pruned(out / "best")
            row = {
                "model": model_name, "method": method, "seed": seed, "episodes": summary["episodes"],
                "best_episode": summary["best_episode"], "search_acc": summary["best_accuracy"],
                "kept_flops": summary["kept_flops_fraction"], "kept_params": summary["kept_params_fraction"],
                "search_s": summary["seconds"], "report_acc": report.accuracy(copy.deepcopy(pruned)),
            }
            # Interleaved so that load changes on a shared machine hit both alike.
            original_s, pruned_s = [], []
            for _ in range(3):
                original_s += time_call(lambda: timing.accuracy(original), repeats=1)
                pruned_s += time_call(lambda: timing.accuracy(pruned), repeats=1)
            row["speedup"] = median(original_s) / median(pruned_s)
            if train is not None:
                row.update(finetuned_scores(out, pruned, original, spec, train, report, test, seed))
                row["test_delta_ft"] = row["test_acc_ft"] - baseline_test
            rows.append(row)
            print(f"{model_name} seed {seed} {method}: " + ", ".join(
                f"{k} {v:.3f}" for k, v in row.items() if isinstance(v, float)), flush=True)

print(f"\nmachine: {machine_summary()}")
print(f"budget: {args.episodes} episodes per searcher (DDPG/TD3: {args.warmup_episodes} warm-up), "
      f"reward on {args.val_size} search images, BN re-calibration {'on' if args.bn_recalibration else 'off'}, "
      f"fill_budget {args.fill_budget}, report split {args.report_size or 5000} images, "
      f"fine-tune {args.finetune_epochs} epoch(s) on {args.finetune_size or 'all'} training images "
      f"({'distilling the unpruned model' if args.distill else 'labels only'}), "
      f"seeds {args.seeds}, device {device}\n")
for model_name in args.models:
    table = []
    for method in ["unpruned", *args.methods]:
        group = [r for r in rows if r["model"] == model_name and r["method"] == method]

        def cell(key: str, scale: float = 1.0, digits: int = 2) -> str:
            return mean_std([r[key] * scale for r in group if r.get(key) is not None], digits)

        table.append([method, cell("search_acc"), cell("report_acc"), cell("report_acc_ft"), cell("test_acc_ft"),
                      cell("test_delta_ft") if method != "unpruned" else "",
                      cell("kept_flops", 100, 1), cell("kept_params", 100, 1), cell("speedup")])
    ft = f"{args.finetune_epochs} ep FT" if args.finetune_epochs else "FT not run"
    print(f"### {model_name}, CIFAR-10, {args.preserve:.0%} FLOPs kept, mean ± std over seeds {args.seeds}\n")
    print(markdown_table(
        ["method", "search acc %", "report acc % (no FT)", f"report acc % ({ft})", f"test acc % ({ft})",
         "test Δ to unpruned, points", "kept FLOPs %", "kept params %", "CPU speed-up ×"],
        table, align="lrrrrrrrr",
    ))
    if model_name in PAPERS:
        print("\nThe papers' figures (test set, after their own fine-tuning, on their own baselines):\n")
        print(markdown_table(
            ["method", "pruned %", "baseline %", "Δ, points", "note"],
            [[name, f"{acc:.2f}" if acc is not None else "", f"{base:.2f}" if base is not None else "",
              f"{acc - base:+.2f}" if acc is not None and base is not None else "", note]
             for name, acc, base, note in PAPERS[model_name]],
            align="lrrrl",
        ))
    gaps = []
    for key in ("report_acc", "report_acc_ft", "test_acc_ft"):
        for other in ("handcrafted", "amc"):
            for agmc in ("agmc_ddpg", "agmc_td3"):
                per_seed = {r["seed"]: r.get(key) for r in rows if r["model"] == model_name and r["method"] == agmc}
                diffs = [per_seed[r["seed"]] - r[key] for r in rows if r["model"] == model_name
                         and r["method"] == other and r.get(key) is not None and per_seed.get(r["seed"]) is not None]
                if diffs:
                    label = {"report_acc": "report, no FT", "report_acc_ft": "report, after FT", "test_acc_ft": "test, after FT"}[key]
                    gaps.append(f"{agmc} − {other} ({label}): {mean_std(diffs)}")
    if gaps:
        print("\nper-seed gaps, points: " + "; ".join(gaps))
    print()

write_csv(args.csv_out or out_dir / "compare.csv", rows)
write_json(args.json_out or out_dir / "compare.json", {"machine": machine_summary(), "args": vars(args), "rows": rows})
