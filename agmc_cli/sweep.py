"""``agmc sweep``: a grid of searches (models × agents × budgets × seeds) run as Ray Tune trials.

Each trial is what ``agmc search`` runs, in its own folder ``OUT/trials/NAME`` (its best model in
``OUT/trials/NAME/best``), with the resources ``--cpus-per-trial`` and ``--gpus-per-trial`` give it.
Without ``--address`` an embedded Ray starts on this machine and stops with the command; with one the
sweep joins that Ray cluster. The table of all trials goes to ``OUT/results.md``, ``.csv`` and
``.json`` (the columns of ``benchmarks/compare.py``) and to stdout (``--json``: one object).
``--resume`` runs only the trials that are not finished; those killed mid-search continue from their
checkpoint. See :mod:`agents.sweep` and :mod:`agents.ray_sweep`. Needs ``pip install "agmc-env[ray]"``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any

from agents.presets import SEARCH_DEFAULTS
from agents.registry import AGENTS
from agmc_cli.common import add_env_option, env_options, flag_error
from agmc_cli.flags import add_flag, add_force_flag, add_output, check_output_folder
from agmc_cli.search import ENV_FLAGS, PRESET, WORKERS_HELP
from agmc_env.checks import PRESERVE, SEED, Integer, ListOf, Number, OneOf
from agmc_env.envs.config import option_default
from agmc_env.errors import EXIT_FAILURE, ConfigError
from agmc_env.models import available_models

# Env options a sweep sets per trial (grid axes), so they are not shared flags.
GRID_OPTIONS = ("model", "preserve")
SHARED_ENV_FLAGS = tuple(option for option in ENV_FLAGS if option not in GRID_OPTIONS)
RUN_FLAGS = {
    "models": "--models", "agents": "--agents", "seeds": "--seeds", "preserve": "--preserve",
    "episodes": "--episodes", "warmup_episodes": "--warmup", "population": "--population",
    "rescore_top": "--rescore-top", "rescore_size": "--rescore-size", "address": "--address",
    "cpus_per_trial": "--cpus-per-trial", "gpus_per_trial": "--gpus-per-trial", "workers": "--workers",
}  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sweep",
        description="Run a grid of searches (every --models × --agents × --preserve × --seeds) as Ray Tune "
        "trials, each the search `agmc search` runs, in its own folder OUT/trials/NAME. An embedded Ray "
        "runs on this machine unless --address names a cluster. The table of all trials goes to "
        "OUT/results.md, .csv and .json. Needs Ray: pip install \"agmc-env[ray]\".",
    )
    add_flag(parser, "--models", ListOf(OneOf(tuple(available_models()))), ["resnet20"], "models of the grid", nargs="+")
    add_flag(parser, "--agents", ListOf(OneOf(tuple(AGENTS))), [SEARCH_DEFAULTS.agent], "agents of the grid", nargs="+")
    add_flag(parser, "--seeds", ListOf(SEED), [0], "seeds of the grid", nargs="+")
    add_flag(parser, "--preserve", ListOf(PRESERVE), [0.5], "budgets of the grid: fractions of the cost to keep", nargs="+")
    add_flag(parser, "--episodes", Integer(1), SEARCH_DEFAULTS.episodes, "episodes of each search")
    add_flag(parser, "--warmup", Integer(0), SEARCH_DEFAULTS.warmup_episodes, "random-action episodes before the DDPG-style agents learn", option="warmup_episodes")
    add_flag(parser, "--population", Integer(2), None, "episodes per generation of cem (default: the agent's, 8)")
    add_flag(parser, "--workers", Integer(1, 256), 1, WORKERS_HELP + " (per trial: give it as many --cpus-per-trial)")
    for option in SHARED_ENV_FLAGS:
        add_env_option(parser, option, PRESET)
    add_flag(parser, "--threads", Integer(1, 1024), None, "torch CPU threads of each trial (default: its --cpus-per-trial, at least 1)")
    add_flag(parser, "--rescore-top", Integer(0), SEARCH_DEFAULTS.rescore_top, "as `agmc search --rescore-top` (0: no re-score)")
    add_flag(parser, "--rescore-size", Integer(1), None, "as `agmc search --rescore-size` (default: the whole splits)")
    add_flag(parser, "--finetune-epochs", Integer(0), 0, "then fine-tune each trial's best model (0: no fine-tuning)")
    add_flag(parser, "--finetune-size", Integer(1), None, "fine-tune on a seeded subset of N training images (default: all)")
    add_flag(parser, "--cpus-per-trial", Number(0, low_open=True), 1.0, "Ray CPUs of each trial (fractions allowed)")
    add_flag(parser, "--gpus-per-trial", Number(0), 0.0, "Ray GPUs of each trial (fractions allowed: 0.25 puts four trials on a GPU)")
    parser.add_argument(
        "--address", default=None,
        help="join the Ray cluster there (HOST:PORT, ray://HOST:PORT, or auto: the one `ray start` runs here); "
        "default: an embedded Ray on this machine, for this command only",
    )  # fmt: skip
    add_output(parser, "--out", True, "sweep directory (default: runs/sweep)")
    parser.add_argument("--resume", action="store_true", help="run only the unfinished trials of the sweep in --out")
    add_force_flag(parser, "every trial is rerun from scratch")
    parser.add_argument("--no-progress", action="store_true", help="no Tune status table")
    parser.add_argument("--json", action="store_true", help="print the table as one JSON object")
    parser.set_defaults(run=run, check=check)


def _out(args: argparse.Namespace) -> str:
    return args.out or "runs/sweep"


def check(args: argparse.Namespace) -> None:
    """Before any work: the sweep directory may be written."""
    check_output_folder("--out", _out(args), args.force, args.resume)


def settings(args: argparse.Namespace) -> dict[str, Any]:
    """The settings every trial shares (what ``--resume`` checks against the sweep's record)."""
    env = env_options(args, SHARED_ENV_FLAGS, PRESET)
    for key in ("data_dir", "cache_dir", "image_folder", "weights_path"):  # each trial has its own working directory
        if env.get(key) is not None and env[key] != option_default(key, PRESET):
            env[key] = str(Path(env[key]).expanduser().resolve())
    return {
        "env_options": env, "episodes": args.episodes, "warmup_episodes": args.warmup, "population": args.population,
        "rescore_top": args.rescore_top, "rescore_size": args.rescore_size, "finetune_epochs": args.finetune_epochs,
        "finetune_size": args.finetune_size, "threads": args.threads, "workers": args.workers,
    }  # fmt: skip


def run(args: argparse.Namespace) -> int:
    from agents.ray_sweep import import_ray, run_sweep
    from agents.sweep import check_sweep_folder, plan_grid, write_results

    out = Path(_out(args))
    try:
        trials = plan_grid(args.models, args.agents, args.seeds, args.preserve)
        shared = settings(args)
        check_sweep_folder(out, shared, args.resume)
        import_ray()
        with contextlib.redirect_stdout(sys.stderr):  # Tune's progress and the workers' logs: stdout is the table's
            rows = run_sweep(
                trials, out, shared, resume=args.resume, overwrite=args.force, address=args.address,
                cpus_per_trial=args.cpus_per_trial, gpus_per_trial=args.gpus_per_trial, verbose=0 if args.no_progress else 1,
            )  # fmt: skip
    except ConfigError as error:
        raise flag_error(error, RUN_FLAGS) from None
    paths = write_results(out, rows, shared)
    if args.json:
        json.dump({"out": str(out), "trials": len(rows), "rows": rows, **{k: str(p) for k, p in paths.items()}}, sys.stdout)
        sys.stdout.write("\n")
    else:
        print(paths["markdown"].read_text(), end="")
        print(f"\ntables: {paths['markdown']}, {paths['csv']}, {paths['json']}")
    failed = [r for r in rows if r["status"] == "error"]
    for row in failed:
        print(f"agmc sweep: trial {row['model']}-{row['method']}-seed{row['seed']} failed: {row['error']}", file=sys.stderr)
    return EXIT_FAILURE if failed else 0
