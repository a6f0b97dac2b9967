"""A sweep: a grid of searches (models × agents × budgets × seeds), one search directory per trial.

This module plans the grid, says which trials are finished, runs one trial (the resumable search
runner, :func:`agents.search.run_search`, plus an optional fine-tune) and writes the result table;
it needs no Ray. :mod:`agents.ray_sweep` runs the trials as Ray Tune trials.

What a sweep writes into its directory ``OUT``:

=====================  ==================================================================
``sweep.json``         the settings shared by every trial and the grid (``--resume`` checks them)
``trials/NAME/``       one search directory per trial (``NAME``: ``resnet20-agmc-p0.5-seed0``),
                       its best model in ``trials/NAME/best``
``results.md``         the table: one row per trial, then mean ± std over seeds
``results.csv``        one row per trial, the columns of ``benchmarks/compare.py`` first
``results.json``       the same rows, with the settings
``ray/``               Ray Tune's own experiment records
=====================  ==================================================================

A trial is finished when its ``summary.json`` has the episodes asked for (and the fine-tune's
accuracies when one is asked for); an unfinished one with a search in its folder continues from
its checkpoint (:func:`agents.search.holds_search`), so a killed sweep resumed reruns nothing that
finished and loses at most one episode per running trial.
"""

from __future__ import annotations

import itertools
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from agents.tables import markdown_table, mean_std
from agmc_env.atomic import atomic_write_json, atomic_write_text
from agmc_env.checks import PRESERVE, SEED, ListOf, OneOf
from agmc_env.errors import ConfigError, CorruptFileError, MissingFileError
from agmc_env.models import available_models

SWEEP_JSON = "sweep.json"
TRIALS = "trials"
# The columns of benchmarks/compare.py, in its order, then the sweep's own.
COLUMNS = (
    "model", "method", "seed", "episodes", "best_episode", "search_acc", "kept_flops", "kept_params", "search_s",
    "report_acc", "report_acc_ft", "speedup", "preserve", "best_reward", "status", "model_path",
)  # fmt: skip


@dataclass(frozen=True)
class Trial:
    """One search of the grid."""

    model: str
    agent: str
    preserve: float
    seed: int

    @property
    def name(self) -> str:
        """The trial's folder name, e.g. ``resnet20-agmc-p0.5-seed0``."""
        return f"{self.model}-{self.agent}-p{self.preserve:g}-seed{self.seed}"

    def directory(self, out: str | Path) -> Path:
        """The trial's search directory in sweep directory ``out``."""
        return Path(out) / TRIALS / self.name


def plan_grid(models: list[str], agents: list[str], seeds: list[int], preserves: list[float]) -> list[Trial]:
    """Every combination, in a stable order; ``ConfigError`` naming the axis and what it accepts."""
    from agents.registry import AGENTS  # the registry imports gymnasium: only once a sweep is planned

    models = ListOf(OneOf(tuple(available_models())))("models", models)
    agents = ListOf(OneOf(tuple(AGENTS)))("agents", agents)
    seeds = ListOf(SEED)("seeds", seeds)
    preserves = ListOf(PRESERVE)("preserve", preserves)
    return [Trial(*combo) for combo in itertools.product(models, agents, preserves, seeds)]


def read_summary(directory: Path) -> dict[str, Any] | None:
    """A trial's ``summary.json``; ``None`` when it has none yet."""
    path = directory / "summary.json"
    if not path.is_file():
        return None
    try:
        summary = json.loads(path.read_text())
        if not isinstance(summary, dict):
            raise ValueError("not a JSON object")
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CorruptFileError(f"{path} is not a readable search summary ({error}); delete it to rerun the trial", path) from None
    return summary


def is_finished(trial: Trial, out: str | Path, settings: dict[str, Any]) -> bool:
    """Whether ``trial`` has done what ``settings`` ask for (see the module docstring)."""
    from agents.registry import get_agent_spec

    summary = read_summary(trial.directory(out))
    if summary is None:
        return False
    enough = summary.get("episodes", 0) >= settings["episodes"] or get_agent_spec(trial.agent).deterministic
    tuned = not settings.get("finetune_epochs") or summary.get("finetune_epochs") == settings["finetune_epochs"]
    return bool(enough and tuned)


def check_sweep_folder(out: str | Path, settings: dict[str, Any], resume: bool) -> None:
    """With ``resume``: ``out`` must hold a sweep with the same shared settings (the grid may grow)."""
    path = Path(out) / SWEEP_JSON
    if not resume:
        return
    if not path.is_file():
        raise MissingFileError(
            f"--resume: {out} holds no sweep (no {SWEEP_JSON}); check --out, or leave out --resume to start one", path
        )
    try:
        saved = json.loads(path.read_text())["settings"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise CorruptFileError(f"{path} is not a readable sweep record ({error}); start the sweep over with --force", path) from None
    for key in sorted(set(saved) | set(settings)):
        if key not in ("episodes", "threads", "workers") and saved.get(key) != settings.get(key):  # results alike
            raise ConfigError(
                f"--resume with a different {key}: {out} was swept with {saved.get(key)!r}, got {settings.get(key)!r}"
            )


def write_sweep_record(out: str | Path, settings: dict[str, Any], trials: list[Trial]) -> None:
    """``out/sweep.json``: the shared settings and the grid (``out`` is created when missing)."""
    Path(out).mkdir(parents=True, exist_ok=True)
    atomic_write_json(Path(out) / SWEEP_JSON, {"settings": settings, "trials": [asdict(t) for t in trials]})


def planned_episodes(directory: Path, episodes: int) -> int:
    """The episode count the exploration noise decays over: a resumed trial keeps its first plan."""
    try:
        saved = json.loads((directory / "config.json").read_text())["agent_options"]["total_episodes"]
    except (OSError, ValueError, KeyError, TypeError):
        return episodes
    return int(saved)


def run_trial(
    trial: Trial, out: str | Path, settings: dict[str, Any], overwrite: bool = False, on_episode: Any = None
) -> dict[str, Any]:
    """Run (or continue) one trial in its folder; returns its search summary (with the fine-tune's).

    Args:
        trial: the trial.
        out: the sweep directory.
        settings: the shared settings (:func:`shared_settings`).
        overwrite: replace a previous search in the trial's folder instead of continuing it.
        on_episode: passed to :func:`agents.search.run_search`.
    """
    from agents.registry import agent_options
    from agents.search import holds_search, run_search

    directory = trial.directory(out)
    resume = not overwrite and holds_search(directory)
    env_options = {**settings["env_options"], "model": trial.model, "preserve": trial.preserve}
    total = planned_episodes(directory, settings["episodes"]) if resume else settings["episodes"]
    options = agent_options(trial.agent, settings.get("warmup_episodes"), settings.get("population"), total)
    summary = run_search(
        directory, env_options, agent=trial.agent, episodes=settings["episodes"], seed=trial.seed,
        agent_options=options, resume=resume, overwrite=overwrite, progress=False,
        rescore_top=settings["rescore_top"], rescore_size=settings.get("rescore_size"), on_episode=on_episode,
        workers=settings.get("workers", 1),
    )  # fmt: skip
    if settings.get("finetune_epochs"):
        summary = _finetune(directory, summary, trial, settings, resume)
    return summary


def _finetune(directory: Path, summary: dict[str, Any], trial: Trial, settings: dict[str, Any], resume: bool) -> dict:
    from agmc_env.finetune import FinetuneConfig, finetune_pruned

    env = settings["env_options"]
    config = FinetuneConfig(epochs=settings["finetune_epochs"], seed=trial.seed, **({"precision": env["precision"]} if "precision" in env else {}))
    result = finetune_pruned(
        directory / "best", directory / "best-finetuned", config, train_size=settings.get("finetune_size"),
        data_dir=env.get("data_dir"), device=env.get("device", "auto"), resume=resume, progress=False,
    )  # fmt: skip
    summary = {
        **summary, "finetune_epochs": settings["finetune_epochs"],
        "report_accuracy_finetuned": result.report_accuracy, "test_accuracy_finetuned": result.test_accuracy,
        "finetuned_model_path": str(result.model_path),
    }  # fmt: skip
    atomic_write_json(directory / "summary.json", summary)
    return summary


def trial_row(trial: Trial, out: str | Path, status: str, error: str | None = None) -> dict[str, Any]:
    """The table row of ``trial`` from its folder (blank cells where it has no summary)."""
    summary = read_summary(trial.directory(out)) or {}
    row: dict[str, Any] = {
        "model": trial.model, "method": trial.agent, "seed": trial.seed, "episodes": summary.get("episodes"),
        "best_episode": summary.get("best_episode"), "search_acc": summary.get("best_accuracy"),
        "kept_flops": summary.get("kept_flops_fraction"), "kept_params": summary.get("kept_params_fraction"),
        "search_s": summary.get("seconds"), "report_acc": summary.get("report_split_accuracy"),
        "report_acc_ft": summary.get("report_accuracy_finetuned"),
        "speedup": None,  # compare.py times pruned vs unpruned interleaved; a sweep's trials share the machine
        "preserve": trial.preserve, "best_reward": summary.get("best_reward"), "status": status,
        "model_path": summary.get("model_path"),
    }  # fmt: skip
    if error:
        row["error"] = error
    return row


def markdown_report(rows: list[dict[str, Any]]) -> str:
    """The per-trial table, then mean ± std over seeds per model, agent and budget."""
    def number(value: Any, scale: float = 1.0, digits: int = 2) -> str | None:
        return None if value is None else f"{value * scale:.{digits}f}"

    def spread(values: list[Any], scale: float = 1.0, digits: int = 2) -> str:
        return mean_std([v * scale for v in values if v is not None], digits)

    per_trial = [
        [r["model"], r["method"], f"{r['preserve']:g}", r["seed"], r["status"], r["episodes"], number(r["best_reward"], 1, 4),
         number(r["search_acc"]), number(r["report_acc"]), number(r["report_acc_ft"]), number(r["kept_flops"], 100, 1),
         number(r["kept_params"], 100, 1), number(r["search_s"], 1, 1)]
        for r in rows
    ]  # fmt: skip
    per_trial = [["–" if value is None else value for value in row] for row in per_trial]  # a failed trial's gaps
    text = markdown_table(
        ["model", "method", "preserve", "seed", "status", "episodes", "best reward", "search acc %", "report acc %",
         "report acc % (FT)", "kept FLOPs %", "kept params %", "search s"], per_trial,
    )  # fmt: skip
    groups: dict[tuple, list[dict]] = {}
    for r in rows:
        groups.setdefault((r["model"], r["method"], r["preserve"]), []).append(r)
    summary = [
        [model, method, f"{preserve:g}", len(group), spread([r["search_acc"] for r in group]),
         spread([r["report_acc"] for r in group]), spread([r["report_acc_ft"] for r in group]),
         spread([r["kept_flops"] for r in group], 100, 1)]
        for (model, method, preserve), group in groups.items()
    ]  # fmt: skip
    text += "\n\nmean ± std over seeds:\n\n" + markdown_table(
        ["model", "method", "preserve", "trials", "search acc %", "report acc %", "report acc % (FT)", "kept FLOPs %"], summary
    )
    return text + "\n"


def write_results(out: str | Path, rows: list[dict[str, Any]], settings: dict[str, Any]) -> dict[str, Path]:
    """``results.md``, ``results.csv`` and ``results.json`` in ``out``; returns their paths."""
    import csv
    import io

    out = Path(out)
    columns = list(COLUMNS) + (["error"] if any("error" in r for r in rows) else [])
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows({k: r.get(k) for k in columns} for r in rows)
    paths = {"markdown": out / "results.md", "csv": out / "results.csv", "json": out / "results.json"}
    atomic_write_text(paths["markdown"], markdown_report(rows))
    atomic_write_text(paths["csv"], buffer.getvalue())
    atomic_write_json(paths["json"], {"settings": settings, "rows": rows})
    return paths
