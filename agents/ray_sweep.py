"""Run a sweep's trials (:mod:`agents.sweep`) as Ray Tune trials, on this machine or on a Ray cluster.

Each trial is the resumable search runner in its own folder, run by a Tune function trainable with
the resources asked for (``cpus_per_trial``, ``gpus_per_trial``, fractions allowed); it reports
episodes done, best reward, best accuracy and kept FLOPs after every episode. Without an address an
embedded Ray starts for the sweep and stops with it (a Ray already initialised in this process is
used as it is and left running); with one, the sweep joins that cluster. On a cluster every node
writes its trials under ``out``, so ``out`` must be on a file system all nodes share.

Everything that can be checked before a trial starts is: the grid (unknown models and agents), the
address (a TCP connection to it, so a typo fails in seconds, not after Ray's retries), and the
resources (a GPU request on a cluster without GPUs, more CPUs per trial than the cluster has, which
Tune would otherwise wait for forever).

Ray is optional (``pip install "agmc-env[ray]"``); it is imported only when a sweep runs.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agents.sweep import Trial, is_finished, run_trial, trial_row, write_sweep_record
from agmc_env.errors import AgmcError, ConfigError

RAY_INSTALL = 'pip install "agmc-env[ray]"'
DEFAULT_GCS_PORT = 6379  # what `ray start --head` listens on unless told otherwise


def import_ray() -> Any:
    """The ``ray`` module; an ``AgmcError`` saying how to install it when it is missing."""
    try:
        import ray
        from ray import tune  # noqa: F401 (the extra installs ray[tune]; tune alone may be missing)
    except ImportError as error:
        raise AgmcError(f"agmc sweep needs Ray Tune, which is not installed ({error}); {RAY_INSTALL}") from None
    return ray


def check_reachable(address: str, timeout: float = 5.0) -> None:
    """A ``ConfigError`` naming ``address`` when nothing accepts a TCP connection there.

    ``"auto"`` (the cluster ``ray start`` left on this machine) is left to Ray, which fails fast.
    """
    if address in ("auto", "local"):
        return
    parts = urlsplit(address if "://" in address else f"ray-gcs://{address}")
    try:
        host, port = parts.hostname, parts.port or DEFAULT_GCS_PORT
    except ValueError as error:
        raise ConfigError.for_option("address", f"must be HOST:PORT, ray://HOST:PORT or auto, got {address!r} ({error})") from None
    if not host:
        raise ConfigError.for_option("address", f"must be HOST:PORT, ray://HOST:PORT or auto, got {address!r}")
    try:
        socket.create_connection((host, port), timeout=timeout).close()
    except (OSError, UnicodeError) as error:  # refused, timed out, unknown host; a name IDNA cannot encode
        why = getattr(error, "strerror", None) or error
        raise ConfigError.for_option(
            "address",
            f"{address!r} cannot be reached ({why}); start the cluster there "
            "(`ray start --head`) or leave out --address to run on this machine",
        ) from None


def connect(address: str | None = None, num_cpus: int | None = None) -> bool:
    """Join the Ray cluster at ``address``, or start an embedded local Ray; whether this call started it.

    A Ray already initialised in this process is used as it is (``False``: the caller must not stop it).
    """
    ray = import_ray()
    if address:
        check_reachable(address)  # even where a Ray runs already: a typo must not go unnoticed
    if ray.is_initialized():
        return False
    if address:
        try:
            ray.init(address=address, logging_level=logging.WARNING)
        except (ConnectionError, RuntimeError, ValueError) as error:
            raise ConfigError.for_option("address", f"{address!r}: Ray could not join the cluster there ({error})") from None
    else:  # "local": a new Ray for this sweep even when `ray start` left one running on this machine
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, logging_level=logging.WARNING)
    return True


def check_resources(cpus_per_trial: float, gpus_per_trial: float) -> dict[str, float]:
    """The cluster's resources; a ``ConfigError`` when one trial could never be placed on it."""
    import ray

    resources = ray.cluster_resources()
    cpus, gpus = resources.get("CPU", 0.0), resources.get("GPU", 0.0)
    if gpus_per_trial > 0 and gpus < gpus_per_trial:
        where = "no GPU" if not gpus else f"{gpus:g} GPU(s)"
        raise ConfigError.for_option(
            "gpus_per_trial", f"is {gpus_per_trial:g}, but the Ray cluster has {where}; pass --gpus-per-trial 0 to search on CPUs"
        )
    if cpus_per_trial > cpus:
        raise ConfigError.for_option("cpus_per_trial", f"is {cpus_per_trial:g}, but the Ray cluster has {cpus:g} CPU(s)")
    return {"CPU": cpus, "GPU": gpus}


def trial_settings(settings: dict[str, Any], cpus_per_trial: float, gpus_per_trial: float) -> dict[str, Any]:
    """``settings`` as a trial runs them: torch threads for its CPUs, and its device from its resources.

    Without a GPU per trial the trials search on CPUs even where a GPU is visible (``device="auto"``
    would put them all on it); with one, ``"cuda"`` is the GPU Ray assigned (``CUDA_VISIBLE_DEVICES``).
    """
    env = dict(settings["env_options"])
    env.setdefault("device", "cuda" if gpus_per_trial > 0 else "cpu")
    threads = settings.get("threads") or max(1, int(cpus_per_trial))
    return {**settings, "env_options": env, "threads": threads}


def _tune_trial(config: dict[str, Any]) -> None:
    """The Tune trainable: one trial, reporting after every episode and once at the end."""
    import torch
    from ray import tune

    # The one warning a dependency raises on every run (agmc_cli.KNOWN_WARNINGS), in this worker too.
    warnings.filterwarnings("ignore", message=r"`torch\.jit\.script` is deprecated", category=FutureWarning)
    torch.set_num_threads(config["settings"]["threads"])
    trial = Trial(**config["trial"])

    def report(record: dict[str, Any], best: dict[str, Any]) -> None:
        tune.report({
            "episodes": record["episode"] + 1, "reward": record["reward"], "best_reward": best["reward"],
            "best_accuracy": best["accuracy"], "kept_flops": best["kept_flops_fraction"],
        })  # fmt: skip

    summary = run_trial(trial, config["out"], config["settings"], config["overwrite"], on_episode=report)
    tune.report({
        "episodes": summary["episodes"], "best_reward": summary["best_reward"], "best_accuracy": summary["best_accuracy"],
        "kept_flops": summary["kept_flops_fraction"], "report_accuracy": summary.get("report_split_accuracy"), "done": True,
    })  # fmt: skip


def run_trials(
    trials: list[Trial],
    out: str | os.PathLike,
    settings: dict[str, Any],
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    overwrite: bool = False,
    verbose: int = 1,
) -> dict[str, str]:
    """Run ``trials`` as Tune trials on the connected Ray (:func:`connect`); ``{name: error}`` of those that failed."""
    from ray import tune

    out = Path(out).resolve()  # Tune runs each trial in its own working directory
    settings = trial_settings(settings, cpus_per_trial, gpus_per_trial)
    trainable = tune.with_resources(_tune_trial, {"cpu": cpus_per_trial, "gpu": gpus_per_trial})
    tuner = tune.Tuner(
        trainable,
        param_space={
            "trial": tune.grid_search([asdict(t) for t in trials]), "settings": settings, "out": str(out),
            "overwrite": overwrite,
        },  # fmt: skip
        tune_config=tune.TuneConfig(
            trial_name_creator=lambda t: Trial(**t.config["trial"]).name,
            trial_dirname_creator=lambda t: Trial(**t.config["trial"]).name,
        ),
        run_config=tune.RunConfig(
            name=time.strftime("tune-%Y%m%d-%H%M%S"), storage_path=str(out / "ray"), verbose=verbose,
            failure_config=tune.FailureConfig(max_failures=0),
        ),  # fmt: skip
    )
    errors = {}
    for result in tuner.fit():
        if result.error is not None:
            lines = str(result.error).strip().splitlines()
            errors[Trial(**result.config["trial"]).name] = lines[-1] if lines else repr(result.error)
    return errors


def run_sweep(
    trials: list[Trial],
    out: str | os.PathLike,
    settings: dict[str, Any],
    *,
    resume: bool = False,
    overwrite: bool = False,
    address: str | None = None,
    cpus_per_trial: float = 1.0,
    gpus_per_trial: float = 0.0,
    num_cpus: int | None = None,
    verbose: int = 1,
) -> list[dict[str, Any]]:
    """Run the unfinished ``trials`` of a sweep on Ray; one table row per trial (:func:`agents.sweep.trial_row`).

    Args:
        trials: the grid (:func:`agents.sweep.plan_grid`).
        out: the sweep directory.
        settings: the settings shared by every trial (env options, episodes, re-score, fine-tune).
        resume: run only the trials that are not finished; those with a search continue it.
        overwrite: rerun every trial from scratch, replacing what its folder holds.
        address: a Ray cluster to join (``HOST:PORT``, ``ray://HOST:PORT``, ``auto``); ``None``
            starts an embedded local Ray for the sweep.
        cpus_per_trial, gpus_per_trial: Ray resources of one trial (fractions allowed).
        num_cpus: CPUs of the embedded Ray (default: Ray's count of this machine's).
        verbose: Tune's progress on screen: 0 none, 1 a status table, 2 every report.

    Raises:
        ConfigError: an unreachable address, or resources no trial could get, before any trial starts.

    ``out/sweep.json`` records ``settings`` and the grid once those checks pass.
    """
    finished = {t.name for t in trials if resume and is_finished(t, out, settings)}
    todo = [t for t in trials if t.name not in finished]
    errors: dict[str, str] = {}
    if not todo:  # a sweep with nothing left to run starts no Ray at all
        write_sweep_record(out, settings, trials)
    else:
        started = connect(address, num_cpus)
        try:
            check_resources(cpus_per_trial, gpus_per_trial)
            write_sweep_record(out, settings, trials)  # only now: a refused sweep leaves --out as it was
            errors = run_trials(todo, out, settings, cpus_per_trial, gpus_per_trial, overwrite, verbose)
        finally:
            if started:
                import ray

                ray.shutdown()
    rows = []
    for t in trials:
        status = "error" if t.name in errors else "reused" if t.name in finished else "finished"
        rows.append(trial_row(t, out, status, errors.get(t.name)))
    return rows
