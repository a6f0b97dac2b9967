"""Zoo coverage: which torchvision classification models the whole pipeline handles.

    python benchmarks/zoo_coverage.py --threads 1 --csv-out benchmarks/results/zoo_coverage.csv
    python benchmarks/zoo_coverage.py --quick

Each model of ``torchvision.models.list_models(module=torchvision.models)`` (the giants too) is
built without weights (10 classes), at an input size it accepts (``--size``, raised where an
architecture needs more, rounded up to a ViT's patch size), and put through four stages, each
checked on its own where it can be:

1. graph: ``build_graph`` (torch.fx trace + shape propagation);
2. embed: GAE layer embeddings of that graph (``node_embeddings``, a throw-away cache folder) and
   the unit embeddings of the prunable units;
3. prune: ``find_units`` (``--units``), random ratios, ``prune_model``, a forward pass of the
   pruned copy, and the analytic ``CostModel`` against ``count_cost`` of the pruned copy (exact);
4. env: one episode of ``ModelCompression-v0`` on ``dataset="synthetic"`` with random actions, at
   ``--preserve`` of the FLOPs with the default ``units="inner"`` (the budget is never raised: a
   model that cannot reach it fails).

A failed stage records the exception and whether it is a *refusal* (an ``agmc_env.errors`` error,
whose message names the layer or the limit) or a *crash* (anything else). A stage whose input
failed is "skip". Each model runs in a forked child process capped at ``--max-memory-gb`` of
address space (raised for models whose weights need more, within 80 % of the available memory), one
at a time, so a stage that explodes in memory fails that model only. Models over ``--max-params`` (default: none) are not built.
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import signal
import tempfile
import time
import traceback

import gymnasium as gym
import numpy as np
import torch
import torchvision

import agmc_env
from harness.reporting import markdown_table, write_csv, write_json
from agmc_env.cost import count_cost
from agmc_env.embedding import GAEConfig, node_embeddings, unit_embeddings
from agmc_env.errors import AgmcError
from agmc_env.graph import build_graph
from agmc_env.pruning import CostModel, find_units, prune_model
from harness.timing import machine_summary

# Smallest input these architectures accept (maxvit_t's window partition needs 224, inception_v3 >= 75).
MIN_SIZE = {"maxvit_t": 224, "inception_v3": 96}
# A ViT's input side must be a multiple of its patch size (vit_h_14: 14).
PATCH = {"vit_b_16": 16, "vit_b_32": 32, "vit_l_16": 16, "vit_l_32": 32, "vit_h_14": 14}
QUICK_MODELS = ("resnet18", "mobilenet_v3_small", "shufflenet_v2_x0_5", "squeezenet1_1")

parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
parser.add_argument("--models", nargs="*", default=None, help="torchvision names (default: every classification model)")
parser.add_argument("--quick", action="store_true", help=f"only {', '.join(QUICK_MODELS)}")
parser.add_argument("--size", type=int, default=64, help="input height = width (raised to MIN_SIZE where needed)")
parser.add_argument("--units", default="inner", choices=("inner", "all"))
parser.add_argument("--max-params", type=float, default=None, help="skip models with more parameters (default: none)")
parser.add_argument("--gae-epochs", type=int, default=GAEConfig.epochs,
                    help="GAE epochs of the embed stage (default: the env's, so its episode reuses the embedding)")
parser.add_argument("--val-size", type=int, default=16, help="synthetic images scored by the env episode")
parser.add_argument("--preserve", type=float, default=0.5, help="FLOPs budget of the env episode")
parser.add_argument("--stage-timeout", type=int, default=300, help="seconds before a stage counts as failed")
parser.add_argument("--max-memory-gb", type=float, default=6.0,
                    help="address-space cap of each model's process (raised to 8x its weights' size where larger)")
parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's choice)")
parser.add_argument("--giants-last", action="store_true",
                    help="run the models over 100M parameters after the others (with --time-budget: the ones left out)")
parser.add_argument("--time-budget", type=float, default=None,
                    help="seconds after which no further model is started (those left are 'not run')")
parser.add_argument("--seed", type=int, default=0)
parser.add_argument("--csv-out", default=None)
parser.add_argument("--json-out", default=None)
args = parser.parse_args()

torch.manual_seed(args.seed)
if args.threads is not None:
    torch.set_num_threads(args.threads)
names = args.models or (list(QUICK_MODELS) if args.quick else torchvision.models.list_models(module=torchvision.models))


def listed_params(name: str) -> int:
    """Parameters of ``name`` with 1000 classes, as torchvision lists them (nothing is built)."""
    return next(iter(torchvision.models.get_model_weights(name))).meta["num_params"]


if args.giants_last:  # sorted is stable: the listed order otherwise
    names = sorted(names, key=lambda name: listed_params(name) > 100e6)
cache_dir = tempfile.mkdtemp(prefix="agmc-zoo-")
STAGES = ("graph", "embed", "prune", "env")


class StageTimeout(Exception):
    pass


def _alarm(signum, frame):  # noqa: ANN001 - signal handler signature
    raise StageTimeout(f"stage took longer than {args.stage_timeout} s")


signal.signal(signal.SIGALRM, _alarm)


def run_stage(fn):
    """(status, detail, seconds) of ``fn()``; the detail is its return value or the error.

    A failure is ``"refused"`` when the library raised one of its own errors (a message meant for
    the user), ``"FAIL"`` for anything else (a crash).
    """
    start = time.perf_counter()
    signal.alarm(args.stage_timeout)
    try:
        detail = fn()
        status = "pass"
    except Exception as error:  # noqa: BLE001 - the point is to record any failure
        status, detail = ("refused" if isinstance(error, AgmcError) else "FAIL"), type(error).__name__
        try:
            frame = traceback.extract_tb(error.__traceback__)[-1]
            message = str(error).strip().splitlines()[0] if str(error).strip() else ""
            detail = f"{type(error).__name__}: {message[:300]} ({frame.filename.split('/')[-1]}:{frame.lineno})"
        except MemoryError:
            pass
    finally:
        signal.alarm(0)
    return status, detail, time.perf_counter() - start


def input_side(name: str) -> int:
    """An input side ``name`` accepts: ``--size``, raised to MIN_SIZE, rounded up to a ViT's patch."""
    size = max(args.size, MIN_SIZE.get(name, 0))
    patch = PATCH.get(name, 1)
    return -(-size // patch) * patch


def build(name: str, size: int) -> torch.nn.Module:
    extra = {"image_size": size} if name.startswith("vit_") else {}
    if name == "maxvit_t":
        extra = {"input_size": (size, size)}
    return torchvision.models.get_model(name, weights=None, num_classes=10, **extra).eval()


def check_prune(model: torch.nn.Module, input_size: tuple[int, int, int], rng: np.random.Generator, found: list) -> str:
    units = find_units(model, input_size, units=args.units)
    found.extend(units)
    if not units:
        raise ValueError(f"no prunable units with units={args.units!r}")
    ratios = rng.uniform(0.0, 0.8, len(units)).tolist()
    pruned = prune_model(model, units, ratios)
    with torch.inference_mode():
        out = pruned(torch.randn(2, *input_size))
    if tuple(out.shape) != (2, 10):
        raise ValueError(f"pruned model outputs shape {tuple(out.shape)}, expected (2, 10)")
    predicted, measured = CostModel(model, units, input_size).cost(ratios), count_cost(pruned, input_size)
    if (predicted.macs, predicted.params) != (measured.macs, measured.params):
        raise ValueError(f"cost model says {predicted}, the pruned model has {measured}")
    base = count_cost(model, input_size)
    return f"{len(units)} units, kept MACs {measured.macs / base.macs:.2f}"


def check_env(model: torch.nn.Module, input_size: tuple[int, int, int], rng: np.random.Generator) -> str:
    env = gym.make(
        "agmc_env:ModelCompression-v0", model=model, dataset="synthetic", input_size=input_size,
        units=args.units, val_size=args.val_size, device="cpu", cache_dir=cache_dir, preserve=args.preserve,
    )
    try:
        env.reset(seed=args.seed)
        steps, terminated, info = 0, False, {}
        while not terminated:
            _, _, terminated, truncated, info = env.step(rng.uniform(-1, 1, env.action_space.shape).astype(np.float32))
            steps += 1
            if truncated or steps > 10_000:
                raise RuntimeError(f"episode did not terminate after {steps} steps")
        if info["kept_flops_fraction"] > args.preserve + 1e-9:
            raise RuntimeError(f"episode ended outside the budget: kept FLOPs {info['kept_flops_fraction']:.4f}")
        return f"{steps} steps, kept FLOPs {info['kept_flops_fraction']:.2f}"
    finally:
        env.close()
        agmc_env.envs.resources.clear_caches()


def check_model(name: str) -> dict:
    """One row of the table: every stage of one model (run in a child process)."""
    size = input_side(name)
    input_size = (3, size, size)
    row = {"model": name, "input": f"{size}x{size}"}
    rng = np.random.default_rng(args.seed)
    status, model, seconds = run_stage(lambda: build(name, size))
    if status != "pass":
        return {**row, **{stage: "skip" for stage in STAGES}, "error": f"build: {model}"}
    params = sum(p.numel() for p in model.parameters())
    row["params_M"] = round(params / 1e6, 1)
    row["memory_cap_gb"] = round(_cap_memory(params), 1)
    if args.max_params is not None and params > args.max_params:
        return {**row, **{stage: "skip" for stage in STAGES}, "error": f"not run: {params / 1e6:.0f}M params > --max-params"}
    errors = []
    found: list = []  # the prune stage's units, reused by the embed stage (find_units is the slow part)
    row["graph"], graph, row["graph_s"] = run_stage(lambda: build_graph(model, input_size))
    row["prune"], detail, row["prune_s"] = run_stage(lambda: check_prune(model, input_size, rng, found))
    if row["prune"] != "pass":
        errors.append(f"prune: {detail}")
    else:
        row["prune_detail"] = detail
    if row["graph"] == "pass":
        row["nodes"] = graph.num_nodes

        def embed() -> str:
            result = node_embeddings(graph, GAEConfig(epochs=args.gae_epochs, seed=args.seed), cache_dir=cache_dir)
            units = found or find_units(model, input_size, units=args.units)
            unit_embeddings(graph, result, [u.module_names for u in units])
            return f"AUC {result.auc:.2f}"

        row["embed"], detail, row["embed_s"] = run_stage(embed)
        if row["embed"] != "pass":
            errors.insert(0, f"embed: {detail}")
    else:
        errors.insert(0, f"graph: {graph}")
        row["embed"] = "skip"
    row["env"], detail, row["env_s"] = run_stage(lambda: check_env(model, input_size, rng))
    if row["env"] != "pass":
        errors.append(f"env: {detail}")
    row["error"] = "; ".join(errors)
    return row


def _cap_memory(params: int) -> float:
    """Cap this process's address space at ``--max-memory-gb`` more than it holds now, or 8x its fp32
    weights more where that is larger (the giants), but never over 80 % of the memory available now
    (a shared machine's other work keeps its memory); returns the cap in GB."""
    with open("/proc/self/statm") as statm:
        held = int(statm.read().split()[0]) * resource.getpagesize()
    with open("/proc/meminfo") as meminfo:
        available = next(int(line.split()[1]) * 1024 for line in meminfo if line.startswith("MemAvailable:"))
    cap = held + min(max(int(args.max_memory_gb * 2**30), 8 * 4 * params), int(0.8 * available))
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    return cap / 2**30


def _child(name: str, connection) -> None:  # noqa: ANN001 - a multiprocessing Connection
    connection.send(check_model(name))


rows = []
started = time.perf_counter()
context = multiprocessing.get_context("fork")
for name in names:
    if args.time_budget is not None and time.perf_counter() - started > args.time_budget:
        rows.append({"model": name, **{stage: "skip" for stage in STAGES}, "error": "not run: --time-budget spent"})
        print(f"{name}: not run (--time-budget {args.time_budget:.0f} s spent)", flush=True)
        continue
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(name, sender))
    child.start()
    sender.close()
    try:
        row = receiver.recv()
    except EOFError:  # the child died without answering (killed, or out of memory outside a stage)
        row = {"model": name, **{stage: "FAIL" for stage in STAGES}, "error": "process died"}
    child.join()
    if row["error"] == "process died":
        row["error"] = f"process died (exit code {child.exitcode}) under its memory cap (--max-memory-gb {args.max_memory_gb})"
    rows.append(row)
    timings = " ".join(f"{s}={row[s]}({row.get(s + '_s', 0):.0f}s)" for s in STAGES)
    print(f"{name}: {timings}" + (f"  [{row['error']}]" if row["error"] else ""), flush=True)
    if args.csv_out:  # after every model: a run stopped early keeps what it measured
        write_csv(args.csv_out, rows)

run = [r for r in rows if not r["error"].startswith(("not run", "build"))]
passed = [r for r in run if all(r[stage] == "pass" for stage in STAGES)]
refused = [r for r in run if r not in passed and not any(r[stage] == "FAIL" for stage in STAGES)]
print(f"\nmachine: {machine_summary()}; {time.perf_counter() - started:.0f} s in all")
print(f"models: {len(rows)} listed, {len(run)} run at input {args.size}x{args.size} (raised: {MIN_SIZE}, "
      f"ViTs to a multiple of their patch), units={args.units!r}, preserve={args.preserve}")
for stage in STAGES:
    print(f"- {stage}: {sum(r[stage] == 'pass' for r in run)}/{len(run)} pass")
print(f"- all four stages: {len(passed)}/{len(rows)} pass; {len(refused)} refused clearly; "
      f"{len(run) - len(passed) - len(refused)} crashed; {len(rows) - len(run)} not run")
print()
print(markdown_table(
    ["model", "input", "params M", "graph", "embed", "prune", "env", "units / kept MACs", "error"],
    [[r["model"], r.get("input", ""), r.get("params_M", ""), r["graph"], r["embed"], r["prune"], r["env"],
      r.get("prune_detail", ""), r["error"]] for r in rows],
    align="llrllllll",
))
if args.csv_out:
    write_csv(args.csv_out, rows)
if args.json_out:
    write_json(args.json_out, {"machine": machine_summary(), "args": vars(args), "rows": rows})
