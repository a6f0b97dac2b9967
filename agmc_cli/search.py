"""``agmc search``: search a per-unit pruning policy with an RL agent or a baseline.

Progress on stderr; the summary on stdout (``--json``: one object). Everything else is in ``--out``:
``config.json``, ``episodes.jsonl``, ``best/`` (the pruned model and ``policy.json``),
``rewards.png``, ``best_policy.png``, ``summary.json``, ``checkpoint/`` (see :mod:`agents.search`).
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
from agmc_cli.common import (
    add_env_option, add_threads_argument, apply_threads, env_options, flag_error, positive_int, print_result,
)
from agmc_env.atomic import atomic_write_json
from agmc_env.errors import ConfigError, CorruptFileError
from agmc_env.finetune import FinetuneConfig, finetune_pruned

PRESET = SEARCH_DEFAULTS.env_preset
# The env options `agmc search` has a flag for, in --help order. Left out: input_size (the zoo
# knows it), observation="graph" (needs an agent with a graph encoder), render_mode (no display).
ENV_FLAGS = (
    "model", "dataset", "image_folder", "pretrained", "weights_path", "target", "preserve", "max_ratio",
    "pruning", "units", "importance", "embedding", "action_mode", "reward", "val_size", "split_seed",
    "bn_recalibration", "device", "precision", "data_dir", "cache_dir",
)  # fmt: skip
# Flags of the search runner's and the agents' own options, for errors the library raises about them.
RUN_FLAGS = {
    "episodes": "--episodes", "warmup_episodes": "--warmup", "population": "--population",
    "epochs": "--finetune-epochs",
}  # fmt: skip


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    agents = "; ".join(f"{name}: {spec.summary}" for name, spec in AGENTS.items())
    warmup = ", ".join(name for name, spec in AGENTS.items() if spec.warmup)
    parser = subparsers.add_parser(
        "search",
        help="search a pruning policy (RL agent or baseline), save the best pruned model",
        description="Run EPISODES episodes of ModelCompression-v0 with an agent: each episode picks "
        "one pruning ratio per prunable unit under the budget (--target, --preserve), prunes the "
        "model for real and scores it on --val-size images of the search split. The best pruned "
        "model goes to OUT/best (load it with `agmc evaluate --pruned OUT/best`, fine-tune it with "
        "`agmc finetune`). A search killed at any point continues with --resume. Agents: " + agents,
    )
    parser.add_argument(
        "--agent", default=SEARCH_DEFAULTS.agent, choices=tuple(AGENTS),
        help=f"the searching agent (default: {SEARCH_DEFAULTS.agent})",
    )  # fmt: skip
    parser.add_argument(
        "--episodes", type=int, default=SEARCH_DEFAULTS.episodes,
        help=f"episodes in total (default: {SEARCH_DEFAULTS.episodes})",
    )  # fmt: skip
    parser.add_argument(
        "--warmup", type=int, default=SEARCH_DEFAULTS.warmup_episodes,
        help=f"random-action episodes before {warmup} learn (default: {SEARCH_DEFAULTS.warmup_episodes}; AMC used 100)",
    )  # fmt: skip
    parser.add_argument("--population", type=int, default=None, help="episodes per generation of cem (default: the agent's, 8)")
    for option in ENV_FLAGS:
        add_env_option(parser, option, PRESET)
    parser.add_argument("--seed", type=int, default=0, help="seeds the agent, the env and torch (default: 0)")
    add_threads_argument(parser)
    parser.add_argument(
        "--finetune-epochs", type=int, default=0,
        help="then fine-tune OUT/best for this many epochs into OUT/best-finetuned, with the defaults of "
        "`agmc finetune` (distillation from the unpruned model included); 0: no fine-tuning (default: 0)",
    )  # fmt: skip
    parser.add_argument(
        "--finetune-size", type=positive_int, default=None,
        help="fine-tune on a seeded subset of N training images (default: all)",
    )  # fmt: skip
    parser.add_argument("--out", default=None, help="search directory (default: runs/MODEL-AGENT-TARGETPRESERVE)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out from its last episode")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(run=run)


def _planned_episodes(out: Path, args: argparse.Namespace) -> int | None:
    """The episode count the exploration noise decays over: a resumed search keeps its first plan
    (``--episodes`` may grow on resume; the noise then stays at its floor)."""
    config = out / "config.json"
    if args.resume and config.is_file():
        try:
            return json.loads(config.read_text()).get("agent_options", {}).get("total_episodes")
        except (ValueError, AttributeError) as error:
            raise CorruptFileError(f"{config} is not a search's config ({error}); re-run without --resume", config)
    return args.episodes


def run(args: argparse.Namespace) -> int:
    from agents.search import run_search  # torch, SB3 and the env only once the arguments are parsed

    apply_threads(args)
    out = args.out or f"runs/{args.model}-{args.agent}-{args.target}{args.preserve:g}"
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
            tensorboard=args.tensorboard,
            progress=not args.no_progress,
        )
        if finetune_config is not None:
            summary = _finetune_best(args, finetune_config, summary)
    except ConfigError as error:
        raise flag_error(error, RUN_FLAGS) from None
    print_result(summary, args.json)
    return 0


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
