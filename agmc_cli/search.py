"""``agmc search``: search a per-unit pruning policy with an RL agent or a baseline.

Progress on stderr; the summary on stdout (``--json``: one object). Everything else is in ``--out``:
``config.json``, ``episodes.jsonl``, ``best/`` (the pruned model and ``policy.json``),
``rewards.png``, ``best_policy.png``, ``summary.json``, ``checkpoint/`` (see :mod:`agents.search`).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from agmc_env.errors import ConfigError
from agmc_cli.common import add_data_arguments, add_device_arguments, print_result
from agents.registry import AGENTS
from agmc_env.data import DATASETS
from agmc_env.models import available_models
from agmc_env.pruning import IMPORTANCES, TARGETS

# Chosen so that `agmc search` on ResNet-20 takes minutes on a 2-core CPU and still beats the
# uniform baseline (benchmarks/RESULTS.md has the measurement): in a 150-episode trial the AGMC
# agent's rewards left the random warm-up level (~30 %) after ~25 learning episodes and settled
# at 55-60 % against 51 % for the uniform ratio.
DEFAULT_MODEL = "resnet20"
DEFAULT_EPISODES = 200
DEFAULT_WARMUP = 20
DEFAULT_VAL_SIZE = 500
_WARMUP_AGENTS = ("ddpg", "td3", "sac", "amc", "agmc")


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    agents = "; ".join(f"{name}: {spec.summary}" for name, spec in AGENTS.items())
    parser = subparsers.add_parser(
        "search",
        help="search a pruning policy (RL agent or baseline), save the best pruned model",
        description="Run EPISODES episodes of ModelCompression-v0 with an agent: each episode picks "
        "one pruning ratio per prunable unit under the budget (--target, --preserve), prunes the "
        "model for real and scores it on --val-size images of the search split. The best pruned "
        "model goes to OUT/best (load it with `agmc evaluate --pruned OUT/best`, fine-tune it with "
        "`agmc finetune`). A search killed at any point continues with --resume. Agents: " + agents,
    )
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"zoo name (default: {DEFAULT_MODEL}), one of: {', '.join(available_models())}")
    parser.add_argument("--dataset", default=None, choices=DATASETS, help="default: the model's own")
    parser.add_argument("--target", default="flops", choices=TARGETS, help="the budgeted cost (default: flops)")
    parser.add_argument("--preserve", type=float, default=0.5, help="fraction of the target cost to keep, in (0, 1] (default: 0.5)")
    parser.add_argument("--agent", default="agmc", choices=tuple(AGENTS), help="the searching agent (default: agmc)")
    parser.add_argument("--episodes", type=int, default=DEFAULT_EPISODES, help=f"episodes in total (default: {DEFAULT_EPISODES})")
    parser.add_argument(
        "--warmup", type=int, default=DEFAULT_WARMUP,
        help=f"random-action episodes before DDPG/TD3/SAC learn (default: {DEFAULT_WARMUP}; AMC used 100)",
    )  # fmt: skip
    parser.add_argument("--val-size", type=int, default=DEFAULT_VAL_SIZE, help=f"search-split images per reward (default: {DEFAULT_VAL_SIZE})")
    parser.add_argument("--importance", default="l1", choices=IMPORTANCES, help="which channels go (default: l1)")
    parser.add_argument(
        "--bn-recalibration", action=argparse.BooleanOptionalAction, default=True,
        help="re-estimate batch-norm statistics of every pruned model (512 training images) before "
        "scoring it (default: on; without it most ResNets pruned to 50%% FLOPs score near chance, "
        "which leaves the agent little to learn from)",
    )  # fmt: skip
    parser.add_argument("--max-ratio", type=float, default=0.8, help="largest pruning ratio of a unit (default: 0.8)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--split-seed", type=int, default=0, help="seed of the search/report split")
    add_device_arguments(parser, precision="auto")  # the search reward: speed first, fp32 where bf16 is emulated
    parser.add_argument(
        "--threads", type=int, default=None,
        help="torch CPU threads (default: torch's choice, one per core); 1 is much faster on a busy machine",
    )  # fmt: skip
    add_data_arguments(parser)
    parser.add_argument("--out", default=None, help="search directory (default: runs/MODEL-AGENT-TARGETPRESERVE)")
    parser.add_argument("--resume", action="store_true", help="continue the search in --out from its last episode")
    parser.add_argument("--tensorboard", action="store_true", help="also write TensorBoard logs to OUT/tensorboard")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    parser.set_defaults(run=run)


def _check(args: argparse.Namespace) -> None:
    if args.model not in available_models():
        raise ConfigError(f"--model must be one of {', '.join(available_models())}; got {args.model!r}")
    if not 0.0 < args.preserve <= 1.0:
        raise ConfigError(f"--preserve must be in (0, 1], got {args.preserve}")
    if not 0.0 < args.max_ratio < 1.0:
        raise ConfigError(f"--max-ratio must be in (0, 1), got {args.max_ratio}")
    for name in ("episodes", "val_size"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')} must be >= 1, got {getattr(args, name)}")
    if args.threads is not None and args.threads < 1:
        raise ConfigError(f"--threads must be >= 1, got {args.threads}")
    if args.warmup < 0:
        raise ConfigError(f"--warmup must be >= 0, got {args.warmup}")
    if args.data_dir is not None and not Path(args.data_dir).is_dir():
        raise ConfigError(f"--data-dir {args.data_dir} is not a directory (it should hold cifar10/ and pretrained/)")


def env_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``ModelCompression-v0`` options the command line asks for."""
    options = {
        "model": args.model,
        "target": args.target,
        "preserve": args.preserve,
        "val_size": args.val_size,
        "importance": args.importance,
        "bn_recalibration": args.bn_recalibration,
        "max_ratio": args.max_ratio,
        "split_seed": args.split_seed,
        "device": args.device,
        "precision": args.precision,
    }
    if args.dataset is not None:
        options["dataset"] = args.dataset
    if args.data_dir is not None:
        options["data_dir"] = args.data_dir
    return options


def run(args: argparse.Namespace) -> int:
    from agents.search import run_search  # torch, SB3 and the env only once the arguments are good

    _check(args)
    if args.threads is not None:
        import torch

        torch.set_num_threads(args.threads)
    out = args.out or f"runs/{args.model}-{args.agent}-{args.target}{args.preserve:g}"
    agent_options = {"warmup_episodes": args.warmup} if args.agent in _WARMUP_AGENTS else {}
    summary = run_search(
        out,
        env_options(args),
        agent=args.agent,
        episodes=args.episodes,
        seed=args.seed,
        agent_options=agent_options,
        resume=args.resume,
        tensorboard=args.tensorboard,
        progress=not args.no_progress,
    )
    print_result(summary, args.json)
    return 0
