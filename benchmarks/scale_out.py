"""Scale-out: k independent searches one after another against the same k as a Ray sweep.

    python benchmarks/scale_out.py --trials 2 --cpus 2 --json-out benchmarks/results/scale_out.json
    python benchmarks/scale_out.py --quick          # a smoke test (a minute): 2 trials of 2 episodes

Three figures, every search a one-thread search of ``--agent`` on ``--model`` (``--episodes``
episodes, reward on ``--val-size`` search images, no re-score), seeds 0..k-1:

1. **serial**: the k searches through the bare runner (``agents.sweep.run_trial``, what one trial
   runs), one after another in this process;
2. **sweep**: the same k searches as one Ray sweep (``agents.ray_sweep.run_sweep``) on an embedded
   Ray of ``--cpus`` CPUs, one CPU per trial, start-up and shut-down of Ray included; the ratio
   sweep / serial (k one-thread searches on k cores: ideally 1/k plus the overhead);
3. **overhead**: Ray's start-up and shut-down alone, and one search as a one-trial sweep against the
   same search bare: per-trial overhead = one-trial sweep − bare search − Ray start-up/shut-down
   (the trial's worker process, its imports, Tune's bookkeeping and the per-episode reports);
4. **workers**: one CEM search (population ``--cpus`` × 2) with ``workers=1`` against
   ``workers=--cpus`` (``agents.parallel``: the same episodes), and the speed-up.

A one-episode search warms the caches (the layer embedding) before anything is timed.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
from pathlib import Path

import torch

from agents.ray_sweep import connect, run_sweep
from agents.sweep import Trial, run_trial
from harness.reporting import markdown_table, publish
from harness.timing import machine_summary

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--trials", type=int, default=2, help="k: independent searches (seeds 0..k-1)")
parser.add_argument("--cpus", type=int, default=2, help="CPUs of the embedded Ray (one per trial)")
parser.add_argument("--model", default="resnet20")
parser.add_argument("--agent", default="random", help="any agmc search agent")
parser.add_argument("--episodes", type=int, default=30)
parser.add_argument("--val-size", type=int, default=500, help="search images of each reward")
parser.add_argument("--out-dir", default=None, help="where the searches go (default: a temporary folder)")
parser.add_argument("--quick", action="store_true", help="2 trials of 2 episodes on 50 images")
parser.add_argument("--json-out", default=None)
args = parser.parse_args()
if args.quick:
    args.trials, args.episodes, args.val_size = 2, 2, 50

torch.set_num_threads(1)  # every search is a one-thread search, in this process and in each trial
settings = {
    "env_options": {"val_size": args.val_size, "device": "cpu"}, "episodes": args.episodes, "warmup_episodes": 1,
    "population": None, "rescore_top": 0, "threads": 1,
}  # fmt: skip
trials = [Trial(args.model, args.agent, 0.5, seed) for seed in range(args.trials)]
folder = contextlib.nullcontext(args.out_dir) if args.out_dir else tempfile.TemporaryDirectory(prefix="scale_out-")


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def ray_start_stop() -> float:
    import ray

    def start_stop() -> None:
        connect(None, num_cpus=args.cpus)
        ray.shutdown()

    return timed(start_stop)


with folder as root:
    root = Path(root)
    run_trial(Trial(args.model, args.agent, 0.5, 999), root / "warmup", {**settings, "episodes": 1})
    serial = timed(lambda: [run_trial(t, root / "serial", settings) for t in trials])
    # Tune's progress to stderr, as `agmc sweep` does: stdout is the table's.
    with contextlib.redirect_stdout(sys.stderr):
        sweep = timed(lambda: run_sweep(trials, root / "sweep", settings, num_cpus=args.cpus, verbose=0))
        start_stop = ray_start_stop()
        one_bare = timed(lambda: run_trial(trials[0], root / "one-bare", settings))
        one_sweep = timed(lambda: run_sweep(trials[:1], root / "one-sweep", settings, num_cpus=args.cpus, verbose=0))
    overhead = one_sweep - one_bare - start_stop
    cem = Trial(args.model, "cem", 0.5, 0)
    cem_settings = {**settings, "population": 2 * args.cpus}
    cem_serial = timed(lambda: run_trial(cem, root / "cem-1", cem_settings))
    cem_workers = timed(lambda: run_trial(cem, root / "cem-n", {**cem_settings, "workers": args.cpus}))

rows = [
    [f"{args.trials} searches, one after another (bare runner)", f"{serial:.1f}", "1.00"],
    [f"the same {args.trials} as a Ray sweep on {args.cpus} CPUs", f"{sweep:.1f}", f"{sweep / serial:.2f}"],
    ["Ray start-up + shut-down (embedded)", f"{start_stop:.1f}", ""],
    ["one search, bare runner", f"{one_bare:.1f}", ""],
    ["the same search as a one-trial sweep", f"{one_sweep:.1f}", ""],
    ["per-trial overhead (one-trial sweep − bare − Ray start/stop)", f"{overhead:.1f}", ""],
    ["one CEM search, workers=1", f"{cem_serial:.1f}", ""],
    [f"the same CEM search, workers={args.cpus}", f"{cem_workers:.1f}", f"{cem_workers / cem_serial:.2f} of workers=1"],
]
table = markdown_table(["what", "wall s", "ratio"], rows, align="lrr")
print(
    f"{args.trials} × {args.agent} on {args.model}, {args.episodes} episodes, reward on {args.val_size} images, "
    "one torch thread per search, no re-score"
)
publish(table, args.json_out, {
    "args": vars(args), "serial_s": serial, "sweep_s": sweep, "ratio": sweep / serial, "ray_start_stop_s": start_stop,
    "one_bare_s": one_bare, "one_sweep_s": one_sweep, "per_trial_overhead_s": overhead,
    "cem_workers_1_s": cem_serial, "cem_workers_n_s": cem_workers, "cem_speedup": cem_serial / cem_workers,
}, machine_summary())  # fmt: skip
