"""Result tables for benchmark scripts: mean ± std over seeds, Markdown tables, CSV/JSON files.

Example:
    >>> print(markdown_table(["method", "acc"], [["uniform", mean_std([90.1, 90.3])]], align="lr"))
    | method | acc |
    |---|---:|
    | uniform | 90.20 ± 0.14 |
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from agents.tables import markdown_table, mean_std  # noqa: F401 - re-exported for the scripts


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]]) -> None:
    """Write dict rows to ``path`` (columns: the union of keys, in first-seen order)."""
    columns: list[str] = []
    for row in rows:
        columns += [key for key in row if key not in columns]
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, (list, dict)) else v for k, v in row.items()})


def write_json(path: str | os.PathLike, payload: Any) -> None:
    """Write ``payload`` as indented JSON, creating the parent folder."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=2, default=str)


def publish(table: str, json_out: str | os.PathLike | None, payload: Mapping[str, Any], machine: str) -> None:
    """Print the machine and a Markdown ``table``; write ``payload`` (plus the machine) to ``json_out``."""
    print(f"machine: {machine}")
    print(table)
    if json_out:
        write_json(json_out, {"machine": machine, **payload})


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    """Spearman rank correlation of two equally long sequences, ties given their mean rank."""

    def ranks(values: Sequence[float]) -> np.ndarray:
        values = np.asarray(values, dtype=float)
        ranked = np.empty(len(values))
        ranked[values.argsort(kind="stable")] = np.arange(len(values))
        for value in np.unique(values):  # ties share the mean of their ranks
            ranked[values == value] = ranked[values == value].mean()
        return ranked

    return float(np.corrcoef(ranks(a), ranks(b))[0, 1])
