"""Search speed: the old evaluation settings against the new defaults, side by side in one process.

    python benchmarks/search_speed.py                       # ResNet-56, the full figures (tens of minutes)
    python benchmarks/search_speed.py --threads 1 --json-out results/search_speed.json
    python benchmarks/search_speed.py --quick               # a smoke test on ResNet-20 (a minute)

"old" is fp32 with a fixed batch of 250, batch norms kept, BN re-calibration in NCHW, every episode
scored; "new" is the default:
``precision="auto"`` and a measured batch size (``agmc_env.tuning``), batch norms folded while scoring,
repeated pruned shapes served from the env's reward cache; with ``--recheck-margin M`` a third
setting, "recheck", is "new" with ``recheck_margin=M`` (close calls re-scored in fp32), and with
``--recheck-calibration fp32`` also ``calibration_precision="fp32"`` (batch norms re-calibrated in
fp32 while the reward is scored in bf16). Four parts:

1. episodes with random actions (``--val-size`` images, BN re-calibration on, as ``agmc search``):
   the split prune / BN re-calibration / evaluation, and the evaluation and episode times over a
   best plain loop at the same precision (``no_grad``, the fastest batch size) on the same pruned
   model and tensors, both timed warm with the same statistic (see ``warm_seconds``); both
   settings score the same random policies;
2. the wall time of ``agmc search`` with its defaults, split into the env's parts and the agent's;
3. agreement over random policies on each ``--agreement-models`` model (BN re-calibration on):
   Spearman rank correlation of the rewards, the largest accuracy difference;
4. the best policy of the new search re-scored with the old settings.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import gymnasium as gym
import numpy as np
import torch

import agmc_env.envs.resources as resources
from agents.episode_log import read_episodes
from agmc_cli import main as agmc_main
from agmc_env.envs.config import EnvConfig
from agmc_env.envs.model_compression import ModelCompressionEnv
from agmc_env.evaluate import Evaluator
from agmc_env.tuning import CPU_BATCH_SIZES
from harness.reporting import spearman
from harness.timing import machine_summary

PARTS = ("episodes", "search", "agreement")
parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--model", default="resnet56", help="model of parts 1, 2 and 4")
parser.add_argument("--val-size", type=int, default=1000, help="reward images in parts 1 and 3")
parser.add_argument("--episodes", type=int, default=5, help="timed random-action episodes per setting (part 1)")
parser.add_argument("--search-episodes", type=int, default=None, help="episodes of part 2 (default: agmc search's)")
parser.add_argument("--agreement-models", nargs="+", default=["resnet20", "resnet56"])
parser.add_argument("--policies", type=int, default=50, help="random policies per model (part 3)")
parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
parser.add_argument("--device", default="cpu")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--quick", action="store_true", help="ResNet-20, 100 images, a few episodes: a smoke test")
parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS), help="which parts to run")
parser.add_argument(
    "--recheck-margin", type=float, default=None,
    help="also time and compare a third setting: the new defaults with recheck_margin=M (close calls re-scored in fp32)",
)
parser.add_argument(
    "--recheck-calibration", choices=("reward", "fp32"), default="reward",
    help="calibration_precision of the recheck setting (fp32: statistics as an fp32 run computes them)",
)
parser.add_argument("--json-out", default=None, help="also write the figures to this JSON file")
args = parser.parse_args()
search_extra: list[str] = []
if args.quick:
    args.model, args.val_size, args.episodes, args.agreement_models, args.policies = "resnet20", 100, 2, ["resnet20"], 4
    args.search_episodes, search_extra = 3, ["--warmup", "1", "--val-size", "100"]
if args.threads is not None:
    torch.set_num_threads(args.threads)
ENV_ID = "agmc_env:ModelCompression-v0"
SETTINGS: tuple[str, ...] = ("old", "new") + (("recheck",) if args.recheck_margin is not None else ())


class OldEvaluator(Evaluator):
    """The evaluation before issue 18: fp32, batch 250, batch norms kept, re-calibration in NCHW."""

    def __init__(self, *positional, **options) -> None:
        super().__init__(*positional, **{**options, "precision": "fp32", "batch_size": 250, "fold_batchnorm": False})

    def prepare(self, model: torch.nn.Module) -> torch.nn.Module:
        return model.eval().to(self.device)  # the env re-calibrated before the evaluator saw the model

    def screen(self, model: torch.nn.Module, stop_below: float | None = None, sigmas: float = 3.0) -> tuple[float, bool]:
        # No folding, no early stop, channels_last for the evaluation only: the code before issue 18.
        model.eval().to(self.device, memory_format=self.memory_format)
        with torch.inference_mode():
            return self._accuracy(model, None, sigmas)


_calibration = resources._calibration


def old_calibration(*options) -> torch.Tensor:
    return _calibration(*options).contiguous()  # NCHW, as before


TIMINGS: list[dict[str, float]] = []  # the env's split of every finished episode, in order
_finish = ModelCompressionEnv._finish


def _recorded_finish(self: ModelCompressionEnv):
    result = _finish(self)
    TIMINGS.append(dict(self.last_timings))
    return result


ModelCompressionEnv._finish = _recorded_finish  # for this script's whole run, the searches included


@contextlib.contextmanager
def setting(name: str) -> Iterator[None]:
    """Envs made inside the block evaluate with the ``name`` settings (and keep them afterwards)."""
    resources.clear_caches()  # envs share evaluators: start each setting with its own
    with contextlib.ExitStack() as stack:
        if name == "old":
            stack.enter_context(mock.patch.object(resources, "Evaluator", OldEvaluator))
            stack.enter_context(mock.patch.object(resources, "_calibration", old_calibration))
            stack.enter_context(mock.patch.object(ModelCompressionEnv, "reward_cache_size", 0))
        yield
    resources.clear_caches()


def make_env(model: str, val_size: int, name: str = "new") -> gym.Env:
    recheck = {}
    if name == "recheck":
        recheck = {"recheck_margin": args.recheck_margin, "calibration_precision": args.recheck_calibration}
    return gym.make(ENV_ID, model=model, val_size=val_size, bn_recalibration=True, device=args.device, **recheck)


def plain_loop_seconds(model: torch.nn.Module, images: torch.Tensor, precision: str, batch_size: int) -> float:
    """What a user would write: ``no_grad``, autocast at ``precision``, the evaluator's own tensors
    (same memory format), no batch-norm folding, one pass at ``batch_size``."""
    autocast = torch.autocast("cpu", dtype=torch.bfloat16) if precision == "bf16" else contextlib.nullcontext()
    model = model.eval().to(memory_format=torch.channels_last)
    start = time.perf_counter()
    with torch.no_grad(), autocast:
        for first in range(0, len(images), batch_size):
            model(images[first : first + batch_size]).argmax(1)
    return time.perf_counter() - start


def warm_seconds(inner: ModelCompressionEnv, repeats: int = 3) -> tuple[float, float]:
    """The env's evaluator and the best plain loop on the episode's pruned model, both warm.

    The first pass over a new pruned shape pays a one-off cost (oneDNN builds its kernels for the
    shapes) that a plain loop pays alike, and the evaluator has already paid it inside the episode.
    So both are timed again here, interleaved (load changes hit both alike), each with its minimum
    over ``repeats``: the evaluator at its own batch size, the plain loop at every candidate batch
    size of :mod:`agmc_env.tuning` (its best kept). Same statistic for both, so neither gains from
    taking the minimum of more samples than the other.
    """
    evaluator, model = inner._resources.evaluator, inner.pruned_model
    sizes = (*(size for size in CPU_BATCH_SIZES if size < len(evaluator)), len(evaluator))
    env_s, plain_s = [], {size: [] for size in sizes}
    for _ in range(repeats):
        start = time.perf_counter()
        evaluator.accuracy(model)
        env_s.append(time.perf_counter() - start)
        for size in sizes:
            plain_s[size].append(plain_loop_seconds(model, evaluator.images, inner.precision, size))
    return min(env_s), min(min(times) for times in plain_s.values())


def run_episode(env: gym.Env, actions: np.ndarray) -> dict:
    env.reset()
    for action in actions:
        *_, terminated, _, info = env.step(np.array([action], dtype=np.float32))
    assert terminated
    return info


def mean_timings(rows: list[dict[str, float]]) -> dict[str, float]:
    keys = ("prune_seconds", "calibration_seconds", "eval_seconds")
    return {key: statistics.mean(row[key] for row in rows) if rows else 0.0 for key in keys}


# 1. Random-action episodes: the split of an episode and the evaluation against a plain loop.
episodes: dict[str, dict] = {}
rng = np.random.default_rng(args.seed)
policies: list[np.ndarray] = []  # the same random actions for both settings
for name in SETTINGS if "episodes" in args.parts else ():
    with setting(name):
        env = make_env(args.model, args.val_size, name)
    inner = env.unwrapped
    env.reset(seed=args.seed)
    walls, env_warm, plain, first = [], [], [], len(TIMINGS)
    for episode in range(args.episodes + 1):  # episode 0 warms up (allocator, kernel choice)
        if len(policies) <= episode:
            policies.append(rng.uniform(-1, 1, len(inner.units)))
        actions = policies[episode]
        start = time.perf_counter()
        run_episode(env, actions)
        wall = time.perf_counter() - start
        if episode:
            walls.append(wall)
            warm_env, warm_plain = warm_seconds(inner)
            env_warm.append(warm_env)
            plain.append(warm_plain)
    split = mean_timings(TIMINGS[first + 1 :])
    mean_wall, mean_env_warm, mean_plain = statistics.mean(walls), statistics.mean(env_warm), statistics.mean(plain)
    episodes[name] = {
        "precision": inner.precision, "batch_size": inner.batch_size, "episode_s": mean_wall,
        **split, "eval_warm_s": mean_env_warm, "first_pass_extra_s": split["eval_seconds"] - mean_env_warm,
        "plain_eval_s": mean_plain, "eval_over_plain": mean_env_warm / mean_plain,
        # The same episode with the evaluator swapped for the best plain loop (first-pass cost kept,
        # a plain loop pays it too): what the episode would cost with no env overhead at all.
        "episode_over_plain": mean_wall / (mean_wall - mean_env_warm + mean_plain),
    }
    env.close()

# 2. agmc search with its defaults (old: --precision fp32 and the old evaluator).
searches: dict[str, dict] = {}
search_dirs = tempfile.TemporaryDirectory()
for name in SETTINGS if "search" in args.parts else ():
    out = Path(search_dirs.name) / name
    argv = ["search", "--model", args.model, "--out", str(out), "--no-progress", "--device", args.device, *search_extra]
    # Per-episode costs are measured here; the re-score after the last episode is a one-off, left out.
    argv += ["--rescore-top", "0"]
    if args.search_episodes is not None:
        argv += ["--episodes", str(args.search_episodes)]
    if name == "old":
        argv += ["--precision", "fp32"]
    if name == "recheck":
        argv += ["--recheck-margin", str(args.recheck_margin), "--calibration-precision", args.recheck_calibration]
    first = len(TIMINGS)
    with setting(name), contextlib.redirect_stdout(io.StringIO()):
        if agmc_main(argv) != 0:
            raise SystemExit(f"agmc {' '.join(argv)} failed")
    summary = json.loads((out / "summary.json").read_text())
    records = read_episodes(out / "episodes.jsonl")
    split = mean_timings(TIMINGS[first:])
    env_s = sum(split.values())
    searches[name] = {
        "episodes": summary["episodes"], "seconds": summary["seconds"], "precision": summary.get("precision"),
        "batch_size": summary.get("batch_size"), "cached_episodes": sum(r.get("reward_cached", False) for r in records),
        **split, "agent_and_rest_s": summary["seconds"] / summary["episodes"] - env_s,
        "best_accuracy": summary["best_accuracy"], "best_ratios": summary["ratios"],
        # config.json holds the preset and the options that differ from it: resolve them.
        "val_size": EnvConfig.create(**json.loads((out / "config.json").read_text())["env_options"]).val_size,
    }

# 3. Agreement over random policies; 4. the new search's best policy re-scored with the old settings.
agreement = []
for model in args.agreement_models if "agreement" in args.parts else ():
    envs = {}
    for name in SETTINGS:
        with setting(name):
            envs[name] = make_env(model, args.val_size, name)
        envs[name].reset(seed=args.seed)
    width = len(envs["new"].unwrapped.units)
    scores: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for _ in range(args.policies):
        actions = rng.uniform(-1, 1, width)
        for name in SETTINGS:
            scores[name].append(run_episode(envs[name], actions))
    rewards = {name: [info["reward"] for info in scores[name]] for name in SETTINGS}
    for name in SETTINGS[1:]:
        agreement.append({
            "model": model, "setting": name, "policies": args.policies, "precision_new": envs[name].unwrapped.precision,
            "spearman": spearman(rewards["old"], rewards[name]),
            "max_accuracy_diff": max(abs(o["accuracy"] - n["accuracy"]) for o, n in zip(scores["old"], scores[name])),
            "mean_accuracy_diff": statistics.mean(abs(o["accuracy"] - n["accuracy"]) for o, n in zip(scores["old"], scores[name])),
        })

best_rescored: dict[str, float] = {}
if searches:
    with setting("old"):
        rescoring = make_env(args.model, searches["new"]["val_size"])
    rescoring.reset(seed=args.seed)
    max_ratio = rescoring.unwrapped.config.max_ratio
    old_info = run_episode(rescoring, np.array([2 * r / max_ratio - 1 for r in searches["new"]["best_ratios"]]))
    best_rescored = {"new_accuracy": searches["new"]["best_accuracy"], "old_settings_accuracy": old_info["accuracy"]}
search_dirs.cleanup()

print(f"Machine: {machine_summary()}\n")
print(f"### Episodes: {args.model}, {args.val_size} images, BN re-calibration, random actions, {args.episodes} after a warm-up\n")
print("| setting | precision | batch | episode (s) | prune (s) | BN re-calibration (s) | evaluation in the episode (s) "
      "| evaluation, warm (s) | best plain loop, warm (s) | evaluation / plain loop | episode / plain loop |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, r in episodes.items():
    print(f"| {name} | {r['precision']} | {r['batch_size']} | {r['episode_s']:.3f} | {r['prune_seconds']:.3f} | "
          f"{r['calibration_seconds']:.3f} | {r['eval_seconds']:.3f} | {r['eval_warm_s']:.3f} | {r['plain_eval_s']:.3f} | {r['eval_over_plain']:.2f} | "
          f"{r['episode_over_plain']:.2f} |")
for name in SETTINGS[1:]:
    if name in episodes and "old" in episodes:
        print(f"\n{name} episode / old (fp32) episode, same policies: {episodes[name]['episode_s'] / episodes['old']['episode_s']:.2f}")
print(f"\n### `agmc search --model {args.model}` with its defaults\n")
print("| setting | precision | batch | episodes | wall (s) | cached episodes | prune (s/ep) | BN re-calibration (s/ep) "
      "| evaluation (s/ep) | agent and rest (s/ep) | best accuracy |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for name, r in searches.items():
    print(f"| {name} | {r['precision']} | {r['batch_size']} | {r['episodes']} | {r['seconds']:.1f} | {r['cached_episodes']} | "
          f"{r['prune_seconds']:.3f} | {r['calibration_seconds']:.3f} | {r['eval_seconds']:.3f} | "
          f"{r['agent_and_rest_s']:.3f} | {r['best_accuracy']:.2f} |")
print("\n### Agreement, new defaults against old settings (random policies, BN re-calibration)\n")
print("| model | setting | policies | precision | Spearman of rewards | max accuracy difference (points) | mean difference |")
print("|---|---|---:|---|---:|---:|---:|")
for r in agreement:
    print(f"| {r['model']} | {r['setting']} | {r['policies']} | {r['precision_new']} | {r['spearman']:.4f} | "
          f"{r['max_accuracy_diff']:.3f} | {r['mean_accuracy_diff']:.3f} |")
if best_rescored:
    print(f"\nBest policy of the new search: {best_rescored['new_accuracy']:.2f} % as scored, "
          f"{best_rescored['old_settings_accuracy']:.2f} % re-scored with the old settings (fp32, batch 250, unfolded).")
if args.json_out:
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine_summary(), "args": vars(args), "episodes": episodes, "searches": searches,
               "agreement": agreement, "best_rescored": best_rescored}
    Path(args.json_out).write_text(json.dumps(payload, indent=2))
