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
import math
import os
import statistics
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def mean_std(values: Sequence[float], digits: int = 2) -> str:
    """``"mean ± std"`` (sample std) of ``values``; just the mean for one value, ``"–"`` for none."""
    finite = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not finite:
        return "–"
    mean = statistics.fmean(finite)
    if len(finite) == 1:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(finite):.{digits}f}"


def markdown_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], align: str | None = None) -> str:
    """A GitHub Markdown table; ``align`` has one ``l``/``r`` per column (default: all left)."""
    align = align or "l" * len(headers)
    if len(align) != len(headers) or set(align) - {"l", "r"}:
        raise ValueError(f"align must be one 'l' or 'r' per column ({len(headers)}), got {align!r}")

    def cell(value: Any) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = [
        "| " + " | ".join(cell(h) for h in headers) + " |",
        "|" + "|".join("---:" if a == "r" else "---" for a in align) + "|",
    ]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


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
