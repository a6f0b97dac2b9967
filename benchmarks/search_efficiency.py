"""Search efficiency: best reward so far against episode, learned (GNN) vs rule-based layer embedding.

    python benchmarks/search_efficiency.py --model resnet20 --seeds 0 1 2 --episodes 60
    python benchmarks/search_efficiency.py --quick

The same DDPG agent (AMC's settings) searches with the graph auto-encoder embedding (method
``agmc_ddpg``) and with AMC's rule-based features (``amc``); everything else is equal (model,
budget, reward on the search split, warm-up, seeds). For every run the best reward so far is
taken per episode; the plot shows the mean over seeds with a min-max band, and the table the
episode at which each run first reaches a level. The levels are fractions (``--levels``) of the
way from the lowest first-episode reward of all runs to the best reward any run reached; a run
that never reaches a level counts as not reached (shown as ``n/k reached``). The uniform
(handcrafted) policy's reward is drawn for reference.

Runs live in ``<out-dir>/<model>/<method>/seed<seed>/`` (``harness.methods``), by default under
``runs/benchmarks`` like ``benchmarks/compare.py``'s: with ``--reuse`` and the same settings, its
``amc``/``agmc_ddpg`` runs are read back (or resumed to ``--episodes``) instead of searched again.
"""

from __future__ import annotations

import argparse
import statistics
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the backend
import numpy as np  # noqa: E402

from agents.presets import SEARCH_DEFAULTS  # noqa: E402
from harness.methods import (  # noqa: E402
    add_fill_budget_argument, benchmark_env_options, best_so_far, episodes_to_reach, method_search, read_episodes,
)
from harness.reporting import markdown_table, mean_std, write_csv, write_json  # noqa: E402
from harness.timing import machine_summary  # noqa: E402

EMBEDDINGS = {"gnn": "agmc_ddpg", "rule": "amc"}  # embedding -> benchmark method (DDPG in both)

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="resnet20")
parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
parser.add_argument("--episodes", type=int, default=100)
parser.add_argument("--warmup-episodes", type=int, default=20)
parser.add_argument("--preserve", type=float, default=0.5, help="fraction of FLOPs to keep")
parser.add_argument("--val-size", type=int, default=1000, help="search-split images scored for the reward")
parser.add_argument("--bn-recalibration", action=argparse.BooleanOptionalAction, default=True)
add_fill_budget_argument(parser)
parser.add_argument("--levels", nargs="+", type=float, default=[0.5, 0.8, 0.9, 0.95])
# The curves are rewards; the re-score only names the runs' best models (compare.py --reuse reads them).
parser.add_argument("--rescore-top", type=int, default=SEARCH_DEFAULTS.rescore_top, help="as agmc search's")
parser.add_argument("--rescore-size", type=int, default=None, help="as agmc search's (default: the whole splits)")
parser.add_argument("--device", default="auto")
parser.add_argument("--out-dir", default="runs/benchmarks", help="search directories (shared with compare.py)")
parser.add_argument("--reuse", action="store_true", help="reuse (or resume) searches found in --out-dir")
parser.add_argument("--quick", action="store_true", help="2 seeds, 6 episodes, 200 images")
parser.add_argument("--plot-out", default=None, help="default: <out-dir>/<model>_search_efficiency.png")
args = parser.parse_args()
if args.quick:
    args.seeds, args.episodes, args.warmup_episodes, args.val_size, args.rescore_size = args.seeds[:2], 6, 2, 200, 200

out_dir = Path(args.out_dir)
env_options = benchmark_env_options(args)
rescore = {"rescore_top": args.rescore_top, "rescore_size": args.rescore_size}
_, uniform = method_search(out_dir, args.model, "handcrafted", 0, env_options, 1, reuse=args.reuse, **rescore)
curves: dict[str, list[list[float]]] = {}
for embedding, method in EMBEDDINGS.items():
    for seed in args.seeds:
        out, _ = method_search(
            out_dir, args.model, method, seed, env_options, args.episodes, args.warmup_episodes, args.reuse, **rescore
        )
        rewards = [r["reward"] for r in read_episodes(out)][: args.episodes]
        curves.setdefault(embedding, []).append(best_so_far(rewards))
        print(f"{embedding} seed {seed}: best reward {max(rewards):.4f} at episode {int(np.argmax(rewards)) + 1}",
              flush=True)

top = max(curve[-1] for runs in curves.values() for curve in runs)
floor = min(curve[0] for runs in curves.values() for curve in runs)
levels = {fraction: floor + fraction * (top - floor) for fraction in args.levels}
rows, table = [], []
for embedding, runs in curves.items():
    reached = {f: [episodes_to_reach(curve, level) for curve in runs] for f, level in levels.items()}
    cells = [embedding, mean_std([c[-1] for c in runs], 4), mean_std([c[args.warmup_episodes - 1] for c in runs], 4)]
    for fraction, hits in reached.items():
        got = [h for h in hits if h is not None]
        cells.append(f"{mean_std(got, 1) if got else '–'} ({len(got)}/{len(hits)} reached)")
    table.append(cells)
    for seed, curve, *hits in zip(args.seeds, runs, *reached.values()):
        rows.append({"model": args.model, "embedding": embedding, "seed": seed, "final_best": curve[-1], "curve": curve,
                     **{f"episodes_to_{f:g}": h for f, h in zip(levels, hits)}})

figure, axis = plt.subplots(figsize=(7, 4.2))
for (embedding, runs), color in zip(curves.items(), ("tab:blue", "tab:orange")):
    length = min(len(c) for c in runs)
    stack = np.array([c[:length] for c in runs])
    episodes = np.arange(1, length + 1)
    label = f"{embedding} embedding (DDPG), mean of {len(runs)} seeds"
    axis.plot(episodes, stack.mean(0), color=color, label=label)
    axis.fill_between(episodes, stack.min(0), stack.max(0), color=color, alpha=0.2)
axis.axhline(uniform["best_reward"], color="grey", linestyle="--", label="uniform (handcrafted) policy")
axis.axvline(args.warmup_episodes + 0.5, color="black", linestyle=":", linewidth=1, label="end of random warm-up")
axis.set(xlabel="episode", ylabel="best reward so far (search accuracy / 100)",
         title=f"{args.model}, {args.preserve:.0%} FLOPs: learned vs rule-based layer embedding")
axis.legend(loc="best", fontsize=8)
axis.grid(alpha=0.3)
figure.tight_layout()
plot_path = Path(args.plot_out or out_dir / f"{args.model}_search_efficiency.png")
plot_path.parent.mkdir(parents=True, exist_ok=True)
figure.savefig(plot_path, dpi=110)

print(f"\nmachine: {machine_summary()}")
print(f"{args.model}, {args.episodes} episodes ({args.warmup_episodes} random warm-up), reward on {args.val_size} "
      f"search images, BN re-calibration {'on' if args.bn_recalibration else 'off'}, seeds {args.seeds}")
print(f"levels: lowest first-episode reward {floor:.4f} + fraction x (best of all runs {top:.4f} - that); "
      f"uniform (handcrafted) policy's reward {uniform['best_reward']:.4f}\n")
print(markdown_table(
    ["embedding", "final best reward", "best after warm-up",
     *[f"episodes to {f:g} ({level:.4f})" for f, level in levels.items()]],
    table, align="l" + "r" * (2 + len(levels)),
))
print(f"\nplot: {plot_path}")
write_csv(out_dir / f"{args.model}_search_efficiency.csv", rows)
write_json(out_dir / f"{args.model}_search_efficiency.json", {
    "machine": machine_summary(), "args": vars(args), "uniform_reward": uniform["best_reward"],
    "first_episode_floor": floor, "top_reward": top,
    "levels": {f"{f:g}": level for f, level in levels.items()}, "rows": rows,
    "median_final_best": {e: statistics.median(c[-1] for c in runs) for e, runs in curves.items()},
})
