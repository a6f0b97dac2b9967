"""``agmc search``: search a per-unit pruning policy with an RL agent or a baseline.

Progress on stderr; the summary on stdout (``--json``: one object). Everything else is in ``--out``:
``config.json``, ``episodes.jsonl``, ``best/`` (the pruned model and ``policy.json``),
``rewards.png``, ``best_policy.png`` (and ``best_latency.png`` with ``--target latency``), ``summary.json``, ``checkpoint/`` (see :mod:`agents.search`).
After the last episode the ``--rescore-top`` best policies are re-scored on the whole search split
and the best of them is kept (:mod:`agents.rescore`); the screen then lists them and labels each
accuracy of the chosen policy with its split, image count and precision.
With ``--finetune-epochs N``, the best model is then fine-tuned into ``best-finetuned/`` by
:func:`agmc_env.finetune.finetune_pruned` (what ``agmc finetune --pruned OUT/best`` does), and the
summary gains its accuracies.

The env flags are built from ``EnvConfig`` (:func:`agmc_cli.common.add_env_option`); the defaults
are the env preset ``"agmc-search"`` and :data:`agents.presets.SEARCH_DEFAULTS`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from agents.presets import SEARCH_DEFAULTS
from agents.registry import AGENTS, agent_options
from agmc_cli.common import add_env_option, add_threads_argument, apply_threads, env_options, flag_error, print_result
from agmc_cli.flags import add_flag, add_force_flag, add_output, check_output_folder
from agmc_env.checks import SEED, Integer, OneOf
from agmc_env.atomic import atomic_write_json
from agmc_env.errors import ConfigError, CorruptFileError
from agmc_env.finetune import FinetuneConfig, finetune_pruned

PRESET = SEARCH_DEFAULTS.env_preset
# The env options `agmc search` has a flag for, in --help order. Left out: input_size (the zoo
# knows it), observation="graph" (needs an agent with a graph encoder), render_mode (no display).
ENV_FLAGS = (
    "model", "dataset", "image_folder", "pretrained", "weights_path", "target", "preserve", "max_ratio",
    "pruning", "units", "importance", "round_to", "embedding", "action_mode", "reward", "val_size", "split_seed",
    "bn_recalibration", "calibration_size", "calibration_precision", "device", "precision", "recheck_margin",
    "latency_batch", "data_dir", "cache_dir",
)  # fmt: skip
# Flags of the search runner's and the agents' own options, for errors the library raises about them.
RUN_FLAGS = {
    "episodes": "--episodes", "warmup_episodes": "--warmup", "population": "--population",
    "epochs": "--finetune-epochs", "rescore_top": "--rescore-top", "rescore_size": "--rescore-size",
    "workers": "--workers",
}  # fmt: skip
WORKERS_HELP = (
    "play the episodes of random and cem on N env copies at once, one process each: the same episodes "
    "as N=1, sooner where cores are free"
)


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    agents = "; ".join(f"{name}: {spec.summary}" for name, spec in AGENTS.items())
    warmup = ", ".join(name for name, spec in AGENTS.items() if spec.warmup)
    parser = subparsers.add_parser(
        "search",
        description="Run EPISODES episodes of ModelCompression-v0 with an agent: each episode picks "
        "one pruning ratio per prunable unit under the budget (--target, --preserve), prunes the "
        "model for real and scores it on --val-size images of the search split. The best pruned "
        "model goes to OUT/best (load it with `agmc evaluate --pruned OUT/best`, fine-tune it with "
        "`agmc finetune`). A search killed at any point continues with --resume. Agents: " + agents,
    )
    add_flag(parser, "--agent", OneOf(tuple(AGENTS)), SEARCH_DEFAULTS.agent, "the searching agent")
    add_flag(parser, "--episodes", Integer(1), SEARCH_DEFAULTS.episodes, "episodes in total")
    add_flag(
        parser, "--warmup", Integer(0), SEARCH_DEFAULTS.warmup_episodes,
        f"random-action episodes before {warmup} learn (AMC used 100)", option="warmup_episodes",
    )  # fmt: skip
    add_flag(parser, "--population", Integer(2), None, "episodes per generation of cem (default: the agent's, 8)")
    add_flag(parser, "--workers", Integer(1, 256), 1, WORKERS_HELP)
    for option in ENV_FLAGS:
        add_env_option(parser, option, PRESET)
    add_flag(parser, "--seed", SEED, 0, "seeds the agent, the env and torch")
    add_threads_argument(parser)
    add_flag(
        parser, "--rescore-top", Integer(0), SEARCH_DEFAULTS.rescore_top,
        "after the last episode, re-score the K best distinct policies (by reward) at fp32 on the whole "
        "search split, keep the best of them in OUT/best and score it on the report split and the test set; "
        "0: keep the best reward, no further scoring",
    )  # fmt: skip
    add_flag(
        parser, "--rescore-size", Integer(1), None,
        "re-score on the first N images of each split (default: the whole splits, on CIFAR-10 5,000 "
        "search, 5,000 report and 10,000 test images)",
    )  # fmt: skip
    add_flag(
        parser, "--finetune-epochs", Integer(0), 0,
        "then fine-tune OUT/best for this many epochs into OUT/best-finetuned, with the defaults of "
        "`agmc finetune` (distillation from the unpruned model included); 0: no fine-tuning",
    )  # fmt: skip
    add_flag(parser, "--finetune-size", Integer(1), None, "fine-tune on a seeded subset of N training images (default: all)")
    add_output(parser, "--out", True, "search directory (default: runs/MODEL-AGENT-TARGETPRESERVE)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out from its last episode")
    add_force_flag(parser, "a previous search in it is replaced")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(run=run, check=check)


def _planned_episodes(out: Path, args: argparse.Namespace) -> int | None:
    """The episode count the exploration noise decays over: a resumed search keeps its first plan
    (``--episodes`` may grow on resume; the noise then stays at its floor)."""
    config = out / "config.json"
    if args.resume and config.is_file():
        try:
            return json.loads(config.read_text()).get("agent_options", {}).get("total_episodes")
        except (ValueError, AttributeError) as error:
            raise CorruptFileError(
                f"{config} is not a readable search config ({error}); start the search over: re-run without --resume, "
                "with --force",
                config,
            ) from None
    return args.episodes


def _out(args: argparse.Namespace) -> str:
    return args.out or f"runs/{args.model}-{args.agent}-{args.target}{args.preserve:g}"


def check(args: argparse.Namespace) -> None:
    """Before any work: the search directory may be written (see :mod:`agmc_cli.flags`)."""
    check_output_folder("--out", _out(args), args.force, args.resume)


def run(args: argparse.Namespace) -> int:
    from agents.search import run_search  # torch, SB3 and the env only once the arguments are parsed

    apply_threads(args)
    out = _out(args)
    try:
        # Checked before the search, not after hours of it.
        finetune_config = _finetune_config(args) if args.finetune_epochs else None
        summary = run_search(
            out,
            env_options(args, ENV_FLAGS, PRESET),
            agent=args.agent,
            episodes=args.episodes,
            seed=args.seed,
            agent_options=agent_options(
                args.agent, warmup_episodes=args.warmup, population=args.population,
                total_episodes=_planned_episodes(Path(out), args),
            ),  # fmt: skip
            resume=args.resume,
            overwrite=args.force,
            tensorboard=args.tensorboard,
            progress=not args.no_progress,
            rescore_top=args.rescore_top,
            rescore_size=args.rescore_size,
            workers=args.workers,
        )
        if finetune_config is not None:
            summary = _finetune_best(args, finetune_config, summary)
    except ConfigError as error:
        raise flag_error(error, RUN_FLAGS) from None
    if args.json or "rescore" not in summary:
        print_result(summary, args.json)
    else:
        _print_rescored(summary)
    return 0


def _print_rescored(summary: dict[str, Any]) -> None:
    """The summary for people: the key lines, then the chosen policy's accuracies by split and the candidates."""
    labelled = summary["accuracy_splits"]
    print_result({k: v for k, v in summary.items() if k not in ("rescore", "accuracy_splits", *labelled)}, False)
    print(f"\naccuracy of the chosen policy (episode {summary['best_episode']}), by split:")
    for key, where in labelled.items():
        note = " (the search's reward)" if key == "search_reward_accuracy" else ""
        images = f"{where['images']:,} images"
        print(f"  {key:<23} {summary[key]:6.2f} %  {where['split']} split, {images}, {where['precision']}{note}")
    rows = summary["rescore"]
    reward_images = labelled["search_reward_accuracy"]["images"]
    split_images = labelled["search_split_accuracy"]["images"]
    print(f"\nre-scored top {len(rows)} by reward on the search split (* the chosen one):")
    print(f"  {'rank':>5} {'episode':>7} {'reward':>8} {f'acc@{reward_images}':>10} {f'acc@{split_images}':>10}")
    for row in rows:
        mark = "*" if row["winner"] else " "
        print(
            f"  {mark}{row['rank']:>4} {row['episode']:>7} {row['reward']:>8.4f} {row['reward_accuracy']:>10.2f} "
            f"{row['search_split_accuracy']:>10.2f}"
        )


def _finetune_config(args: argparse.Namespace) -> FinetuneConfig:
    return FinetuneConfig(epochs=args.finetune_epochs, seed=args.seed, precision=args.precision)


def _finetune_best(args: argparse.Namespace, config: FinetuneConfig, summary: dict[str, Any]) -> dict[str, Any]:
    """Fine-tune the search's best model into ``OUT/best-finetuned``; the summary with its accuracies."""
    out = Path(summary["out"])
    result = finetune_pruned(
        out / "best", out / "best-finetuned", config, train_size=args.finetune_size, data_dir=args.data_dir,
        device=args.device, resume=args.resume, progress=not args.no_progress,
    )  # fmt: skip
    summary = {
        **summary,
        "finetune_epochs": args.finetune_epochs,
        "finetune_teacher": result.teacher,
        "report_accuracy_before_finetune": result.report_accuracy_before,
        "report_accuracy_finetuned": result.report_accuracy,
        "test_accuracy_before_finetune": result.test_accuracy_before,
        "test_accuracy_finetuned": result.test_accuracy,
        "finetuned_model_path": str(result.model_path),
    }
    atomic_write_json(out / "summary.json", summary)
    return summary
