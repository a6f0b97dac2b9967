"""The search runner: N episodes of any agent on ``ModelCompression-v0``, logged, checkpointed, resumable.

What a search writes into its directory ``DIR``:

===================  ==========================================================================
``config.json``      the env options, agent, seed and episode count of the search
``episodes.jsonl``   one line per episode (``episode, ratios, kept_flops_fraction,
                     kept_params_fraction, accuracy, reward, seconds``...), flushed per episode
``best/``            the chosen episode's pruned model (``agmc_env.pruning.load_pruned``) and its
                     policy (``policy.json``): the best reward during the search, the re-score's
                     winner after it
``rescore.json``     with ``rescore_top=K``: the K best policies re-scored on the whole search
                     split, the winner and its report-split and test accuracy (``rescore.csv``:
                     the candidates; see :mod:`agents.rescore`)
``rewards.png``      reward and accuracy per episode; ``best_policy.png``: the best per-unit ratios
``summary.json``     the final summary (what ``agmc search --json`` prints); with
                     ``target="latency"`` also the chosen policy's measured and predicted latency
                     and speed-up (``best_latency.png``: its ratios and per-unit latency shares;
                     see :mod:`agents.latency_summary`)
``checkpoint/``      agent, replay buffer, noise and random states after the last episode
``tensorboard/``     per-episode scalars (and SB3's training logs), when asked for
===================  ==========================================================================

A search killed at any moment (even ``kill -9``) continues with ``resume=True`` from its last
completed episode: the log is cut back to the checkpoint (a line torn by the kill is dropped), so no
episode is lost or logged twice. While a search runs it holds ``search.lock`` in ``DIR``
(:mod:`agmc_env.folder_lock`): a second search on the same directory refuses to start.
A finished search that is resumed with nothing left to run reuses its ``rescore.json``.

Example:
    >>> summary = run_search("runs/r20", {"model": "resnet20", "val_size": 500}, agent="ddpg", episodes=100)
"""

from __future__ import annotations

import json
import os
import random
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch

from agmc_env.atomic import atomic_write_json
from agmc_env.errors import AgmcError, ConfigError, CorruptFileError, MissingFileError, reason
from agmc_env.models import get_spec
from agents.best_model import BestModel
from agents.checkpoint import Checkpoint, capture_rng, restore_rng
from agents.drivers import ProtocolDriver, SB3Driver
from agents.episode_log import EpisodeLog
from agmc_env.folder_lock import FolderLock
from agents.latency_summary import LATENCY_PLOT, add_latency_summary
from agents.plots import plot_episodes, plot_policy
from agents.presets import SEARCH_DEFAULTS
from agents.recorder import EpisodeRecorder
from agents.registry import get_agent_spec, merge_env_options
from agents.rescore import LABELS, RESCORE_CSV, RESCORE_JSON, rescore_top_policies, top_record

ENV_ID = "agmc_env:ModelCompression-v0"
AgentBuilder = Callable[[gym.Env, int], Any]
# Called after each logged episode with its log line and the best episode so far (e.g. a Ray Tune report).
EpisodeHook = Callable[[dict[str, Any], dict[str, Any]], None]


class _Bookkeeper:
    """Turns every finished episode into a log line, a best model, TensorBoard scalars and a progress tick."""

    def __init__(self, log: EpisodeLog, best: BestModel, best_policy: dict | None, progress: Any) -> None:
        self.log, self.best, self.best_policy, self.progress = log, best, best_policy, progress
        self.tensorboard: Any = None
        self.on_episode: EpisodeHook | None = None
        self.clock = time.perf_counter()

    def __call__(self, info: dict[str, Any], env: gym.Env) -> None:
        now = time.perf_counter()
        record = {
            "episode": len(self.log),
            "ratios": [float(r) for r in info["ratios"]],
            "kept_flops_fraction": float(info["kept_flops_fraction"]),
            "kept_params_fraction": float(info["kept_params_fraction"]),
            "kept_macs": int(info["kept_macs"]),
            "kept_params": int(info["kept_params"]),
            "accuracy": float(info["accuracy"]),
            "reward": float(info["reward"]),
            "reward_cached": bool(info.get("reward_cached", False)),
            "importance_seed": int(info.get("importance_seed", 0)),
            "seconds": round(now - self.clock, 4),
        }
        if "kept_latency_fraction" in info:  # target="latency": the predicted latency of every episode
            record["kept_latency_fraction"] = float(info["kept_latency_fraction"])
        self.clock = now
        self.log.append(record)
        if self.best_policy is None or record["reward"] > self.best_policy["reward"]:
            self.best_policy = {**record, "unit_names": env.unwrapped.unit_names}
            self.best.save(env, self.best_policy)
        if self.tensorboard is not None:
            for key in ("reward", "accuracy", "kept_flops_fraction", "kept_params_fraction"):
                self.tensorboard.add_scalar(f"search/{key}", record[key], record["episode"])
            self.tensorboard.add_scalar("search/best_reward", self.best_policy["reward"], record["episode"])
        self.progress.set_postfix(
            best_R=f"{self.best_policy['reward']:.4f}",
            best_acc=f"{self.best_policy['accuracy']:.2f}",
            flops=f"{self.best_policy['kept_flops_fraction']:.3f}",
            refresh=False,
        )
        self.progress.update(1)
        if self.on_episode is not None:
            self.on_episode(record, self.best_policy)


# Everything a search (and its fine-tune) writes into its directory: what overwrite=True replaces.
SEARCH_FILES = (
    "config.json", "episodes.jsonl", "summary.json", "rewards.png", "best_policy.png", LATENCY_PLOT,
    "best", "best.tmp", "best.prev", "best-finetuned", "checkpoint", "tensorboard",
)  # fmt: skip


def _remove_previous_search(out: Path) -> None:
    """Delete a previous search's files from ``out`` (and nothing else the folder holds)."""
    for name in SEARCH_FILES:
        path = out / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()


def holds_search(out: str | os.PathLike) -> bool:
    """Whether ``out`` holds a search that ``resume=True`` can continue (one killed before its first
    checkpoint included: it has its ``config.json``, and starts again from episode 0)."""
    out = Path(out)
    return Checkpoint(out / "checkpoint").exists() or (out / "config.json").is_file()


def _check_directory(out: Path, config: dict[str, Any], resume: bool) -> bool:
    """Whether to resume; raises ``ConfigError`` for a directory that holds another search, and
    ``MissingFileError`` for ``resume`` where there is no search (a typo must not start afresh)."""
    if out.exists() and not out.is_dir():
        raise ConfigError.for_option("out", f"{out} exists and is not a directory")
    if resume and not holds_search(out):
        what = "does not exist" if not out.exists() else "holds no search (no config.json, no checkpoint/state.json)"
        raise MissingFileError(
            f"--resume: {out} {what}, so there is no search to continue; check --out, or leave out --resume "
            "to start a new search",
            path=out,
        )
    checkpoint = Checkpoint(out / "checkpoint")
    if not checkpoint.exists():
        if (out / "episodes.jsonl").exists() and not resume:
            raise ConfigError(f"{out} already holds a search; pass --resume or choose another --out")
        return False
    if not resume:
        raise ConfigError(f"{out} already holds a search; pass --resume to continue it or choose another --out")
    saved = _read_config(out / "config.json")
    for key in ("env_options", "agent", "agent_options", "seed"):
        if saved.get(key) != config[key]:
            raise ConfigError(f"--resume with a different {key}: {out} was searched with {saved.get(key)!r}, got {config[key]!r}")
    return True


def _read_config(path: Path) -> dict[str, Any]:
    """The ``config.json`` of a search being resumed."""
    try:
        saved = json.loads(path.read_text())
        if not isinstance(saved, dict):
            raise ValueError(f"a JSON {type(saved).__name__}, not an object")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CorruptFileError(
            f"{path} is not a readable search config ({error}); start the search over: re-run without --resume, "
            "with --force",
            path,
        ) from None
    return saved


def _make_driver(
    env: EpisodeRecorder, agent: str | AgentBuilder, seed: int, options: dict, out: Path, tb: bool, workers: int,
    env_options: dict,
) -> Any:
    sb3 = get_agent_spec(agent).sb3 if isinstance(agent, str) else None
    if sb3 is None:
        build = get_agent_spec(agent).build if isinstance(agent, str) else agent
        built = build(env, seed, **options)
        deterministic = isinstance(agent, str) and get_agent_spec(agent).deterministic
        if workers > 1 and not deterministic:  # one episode says all a deterministic agent has to say
            from agents.parallel import ParallelDriver

            threads = max(1, torch.get_num_threads() // workers)
            return ParallelDriver(env, built, seed, workers, env_options, threads)
        return ProtocolDriver(env, built, seed)
    if workers > 1:
        raise ConfigError.for_option("workers", f"needs an open-loop agent (random, cem, uniform), got {agent!r}")
    from agents.sb3_agents import steps_per_episode
    from agents.threads import EnvThreads

    if tb:
        options = {"tensorboard_log": str(out / "tensorboard"), **options}
    model = get_agent_spec(agent).build(EnvThreads(env), seed, **options)
    return SB3Driver(env, model, sb3, steps_per_episode(env))


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=repr))


def run_search(
    out: str | os.PathLike,
    env_options: dict[str, Any],
    agent: str | AgentBuilder = "ddpg",
    episodes: int = 100,
    seed: int = 0,
    agent_options: dict[str, Any] | None = None,
    resume: bool = False,
    overwrite: bool = False,
    tensorboard: bool = False,
    progress: bool = True,
    rescore_top: int = SEARCH_DEFAULTS.rescore_top,
    rescore_size: int | None = None,
    on_episode: EpisodeHook | None = None,
    workers: int = 1,
) -> dict[str, Any]:
    """Search a compression policy and write the results into ``out`` (see the module docstring).

    Args:
        out: the search directory (created when missing).
        env_options: keyword arguments of ``ModelCompression-v0`` (model, target, preserve, val_size, ...).
        agent: a name of :data:`agents.registry.AGENTS`, or ``build(env, seed) -> agent`` for a
            custom protocol agent (:mod:`agents.protocol`). (default: ``"ddpg"``)
        episodes: episodes in total, counting those of a resumed search. (default: ``100``)
        seed: seeds Python, NumPy, torch, the env and the agent. (default: ``0``)
        agent_options: keyword arguments of the agent's builder. (default: ``None``)
        resume: continue the search in ``out`` from its checkpoint (from episode 0 when it was
            killed before its first one); ``out`` must hold a search (:func:`holds_search`).
        overwrite: without ``resume``, replace a previous search in ``out`` (its files only, see
            :data:`SEARCH_FILES`) instead of refusing. (default: ``False``)
        tensorboard: also write TensorBoard logs into ``out/tensorboard``. (default: ``False``)
        progress: show a progress bar on stderr. (default: ``True``)
        rescore_top: after the last episode, re-score the best ``rescore_top`` distinct policies on
            the whole search split at fp32 and keep the winner in ``best/`` (:mod:`agents.rescore`);
            the summary then labels the winner's accuracies by split. ``0``: keep the episode with
            the best reward, no further scoring. (default: ``agents.presets.SEARCH_DEFAULTS``, 5)
        rescore_size: re-score on the first ``rescore_size`` images of each split instead of all.
            (default: ``None``, the whole splits)
        on_episode: ``on_episode(record, best)`` after each episode is logged: its ``episodes.jsonl``
            line and the best-reward episode so far (how ``agents.ray_sweep`` reports to Ray Tune).
            (default: ``None``)
        workers: play the episodes of an open-loop agent (``random``, ``cem``, ``uniform``) on this
            many env copies at once, one process each (:mod:`agents.parallel`): the same episodes as
            ``workers=1``, sooner on a machine with free cores. (default: ``1``)

    Returns:
        The summary written to ``out/summary.json``.

    Raises:
        ConfigError: (a ``ValueError``) bad arguments, or ``out`` holding a different search.
        MissingFileError: ``resume`` where ``out`` holds no search.
        CorruptFileError: ``resume`` from a damaged checkpoint, config or log (names the file).
        FolderInUseError: another search is running in ``out`` (``out/search.lock``).
    """
    if not isinstance(episodes, int) or isinstance(episodes, bool) or episodes < 1:
        raise ConfigError.for_option("episodes", f"must be an integer >= 1, got {episodes!r}")
    _check_rescore(rescore_top, rescore_size)
    if not isinstance(workers, int) or isinstance(workers, bool) or workers < 1:
        raise ConfigError.for_option("workers", f"must be an integer >= 1, got {workers!r}")
    agent_options = dict(agent_options or {})
    name = agent if isinstance(agent, str) else getattr(agent, "__qualname__", repr(agent))
    env_options = merge_env_options(agent, dict(env_options)) if isinstance(agent, str) else dict(env_options)
    out = Path(out)
    config = _jsonable({"env_options": env_options, "agent": name, "agent_options": agent_options, "seed": seed})
    if overwrite and not resume and out.is_dir():
        # Checked first (bad options and agents fail below before a file is touched), removed later.
        replace_previous = any((out / name).exists() for name in SEARCH_FILES)
    else:
        replace_previous = False
    resuming = False if replace_previous else _check_directory(out, config, resume)
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)

    from tqdm import tqdm

    env = gym.make(ENV_ID, **env_options)  # bad options and missing data fail here, before any file
    if rescore_top and rescore_size is not None:
        _check_split_size(env, rescore_size)
    recorder = EpisodeRecorder(env)
    driver = _make_driver(recorder, agent, seed, agent_options, out, tensorboard, workers, env_options)  # bad agent options too
    out.mkdir(parents=True, exist_ok=True)
    with FolderLock(out):  # one search per folder: a second one refuses instead of interleaving files
        if replace_previous:
            _remove_previous_search(out)
        else:  # again, now that no other search can write here: one may have done so since the first check
            resuming = _check_directory(out, config, resume)
        checkpoint, best = Checkpoint(out / "checkpoint"), BestModel(out)
        state = checkpoint.read() if resuming else {"episodes": 0, "files": {}}
        if resuming:  # before any file changes: a damaged checkpoint leaves the folder as it was
            _restore(driver, checkpoint, state)
        done = state["episodes"]
        log = EpisodeLog(out / "episodes.jsonl", keep=done)
        best_policy = best.recover(done) if resuming else None
        if log.records:  # best/ may hold an earlier re-score's winner: later episodes must beat the top reward
            top = top_record(log.records)
            if best_policy is None or top["reward"] > best_policy["reward"]:
                best_policy = {**top, "unit_names": env.unwrapped.unit_names}
        deterministic = isinstance(agent, str) and get_agent_spec(agent).deterministic
        target = min(episodes, 1 if deterministic else driver.max_episodes or episodes)
        # What precision="auto" and the measured batch size resolved to on this machine.
        evaluation = {"precision": env.unwrapped.precision, "batch_size": env.unwrapped.batch_size}
        atomic_write_json(out / "config.json", {**config, "episodes": episodes, "env_id": ENV_ID, "workers": workers, **evaluation})
        bar = tqdm(total=target, initial=min(done, target), desc=f"search {name}", unit="ep", file=sys.stderr, disable=not progress)
        keeper = _Bookkeeper(log, best, best_policy, bar)
        keeper.on_episode = on_episode
        recorder.on_episode_end = keeper
        if tensorboard:
            from torch.utils.tensorboard import SummaryWriter

            keeper.tensorboard = SummaryWriter(str(out / "tensorboard" / "search"), purge_step=done)
        start = time.perf_counter()
        try:
            while len(log) < target:
                driver.advance(min(driver.chunk, target - len(log)))
                count = len(log)
                files = {**driver.save(checkpoint, count), "rng": checkpoint.write_pickle("rng", count, capture_rng())}
                checkpoint.commit({"episodes": count, "files": files, "agent": name})
                best.commit()
            seconds = time.perf_counter() - start
            bar.close()
            if rescore_top:
                rescored = rescore_top_policies(env, log.records, rescore_top, out, best, rescore_size, progress)
            else:
                rescored = None
                _keep_top_reward(env, best, keeper.best_policy, out)
        finally:
            bar.close()
            log.close()
            best.discard_partial()  # a best model half-written when an error or Ctrl-C stopped the search
            if keeper.tensorboard is not None:
                keeper.tensorboard.close()
            if hasattr(driver, "close"):  # the worker processes of a parallel search
                driver.close()
            env.close()
        model = env.unwrapped.config.model_name
        summary = _finish(out, name, model, log.records, keeper.best_policy, seconds, evaluation, rescored)
        if env.unwrapped.config.target == "latency":  # the chosen policy timed, and its latency plot
            summary = add_latency_summary(env, summary, out)
        return summary


def _restore(driver: Any, checkpoint: Checkpoint, state: dict[str, Any]) -> None:
    """Load the agent and the random states of a resumed search; a damaged checkpoint names itself."""
    try:
        driver.load(checkpoint, state)
        restore_rng(checkpoint.read_pickle(state, "rng"))
    except AgmcError:
        raise
    except Exception as error:  # files that unpickle but hold the wrong things
        raise CorruptFileError(
            f"the checkpoint in {checkpoint.directory} cannot be restored ({reason(error)}); "
            "start the search over: re-run without --resume, with --force",
            checkpoint.directory,
        ) from error


def _check_rescore(top: Any, size: Any) -> None:
    if not isinstance(top, int) or isinstance(top, bool) or top < 0:
        raise ConfigError.for_option("rescore_top", f"must be an integer >= 0 (0: no re-score), got {top!r}")
    if size is not None and (not isinstance(size, int) or isinstance(size, bool) or size < 1):
        raise ConfigError.for_option("rescore_size", f"must be None (the whole split) or an integer >= 1, got {size!r}")


def _check_split_size(env: gym.Env, size: int) -> None:
    """Fail before the search, not after it, when the splits are smaller than ``size``."""
    from agmc_env.data import load_split

    config = env.unwrapped.config
    dataset = config.dataset or get_spec(config.model_name).dataset
    for split in LABELS.values():
        try:
            load_split(split, dataset, config.data_dir, config.split_seed, size)
        except ConfigError as error:
            raise ConfigError.for_option("rescore_size", f"is too large: {error}") from None


def _keep_top_reward(env: gym.Env, best: BestModel, policy: dict | None, out: Path) -> None:
    """Without a re-score, ``best/`` holds the best reward (an earlier run's re-score may have put its winner there)."""
    saved = best.policy()
    if policy is not None and (saved is None or saved.get("episode") != policy["episode"]):
        env.unwrapped.replay(policy["ratios"], policy.get("importance_seed"))
        best.save(env, policy)
        best.commit()
    for name in (RESCORE_JSON, RESCORE_CSV):  # they would describe another choice
        (out / name).unlink(missing_ok=True)


def _finish(
    out: Path, agent: str, model: str, records: list[dict], best: dict | None, seconds: float, evaluation: dict,
    rescored: dict | None,
) -> dict:
    """Plots and ``summary.json``; returns the summary."""
    if rescored is not None:
        best = {**rescored["winner"], "unit_names": best["unit_names"] if best else None}
    if best is None:
        raise RuntimeError(f"{out}: the search finished without a single episode")
    plot_episodes(records, out / "rewards.png")
    title = f"{'re-scored winner' if rescored else 'best policy'} (episode {best['episode']})"
    plot_policy(best["unit_names"], best["ratios"], out / "best_policy.png", title)
    summary = {
        "agent": agent,
        "model": model,
        "episodes": len(records),
        "best_episode": best["episode"],
        "best_reward": best["reward"],
        "best_accuracy": best["accuracy"],
        "kept_flops_fraction": best["kept_flops_fraction"],
        "kept_params_fraction": best["kept_params_fraction"],
        "ratios": best["ratios"],
        "model_path": str(out / "best"),
        "out": str(out),
        "seconds": round(seconds, 2),
        **evaluation,
    }
    if rescored is not None:
        summary.update(_rescore_summary(rescored))
    atomic_write_json(out / "summary.json", summary)
    return summary


def _rescore_summary(rescored: dict[str, Any]) -> dict[str, Any]:
    """The summary keys of a re-score: the winner's accuracies, each named by its split, and the candidates."""
    keys = ("search_reward_accuracy", *LABELS, "accuracy_splits")
    return {
        "rescore_top": rescored["top"], **{key: rescored[key] for key in keys}, "rescore": rescored["candidates"],
        "rescore_seconds": rescored["seconds"],
    }  # fmt: skip
