"""``agmc data``: where each data set and weights file is, whether it verifies; download or import them.

Without options it lists every file of the sources table (:mod:`agmc_env.data.sources`): where it
was found (or where it would go), its size, and with ``--verify`` whether its checksum matches.
``--import DIR`` verifies and copies files brought from elsewhere into the user cache first;
``--download [NAMES]`` fetches what is missing. Exit 1 when a file found fails ``--verify`` or an
import is rejected.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from agmc_env.data.fetch import download, find
from agmc_env.data.inventory import FileStatus, import_files, status
from agmc_env.data.sources import SOURCES, get_source
from agmc_env.errors import ConfigError
from agmc_env.paths import MIRROR_ENV_VAR, cache_data_dir, data_roots, offline


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    names = ", ".join(SOURCES)
    parser = subparsers.add_parser(
        "data",
        description="List every data set and weights file agmc-env uses: where it was found (data "
        "roots in order: --data-dir; $AGMC_DATA; ../shared/data next to a source checkout; the user "
        "cache, $AGMC_CACHE/data or ~/.cache/agmc-env/data) or where a download would put it, and its "
        "size. Missing files are downloaded into the user cache on first use unless offline "
        "($AGMC_OFFLINE=1 or --offline); $AGMC_MIRROR=<base URL> replaces the public hosts.",
    )
    parser.add_argument("--data-dir", default=None, help="look only in this data root (as the other commands do)")
    parser.add_argument(
        "--verify", action="store_true", help="check every file found against its checksum (reads them all)"
    )
    parser.add_argument(
        "--download", nargs="*", metavar="NAME", default=None, choices=list(SOURCES),
        help=f"download what is missing of NAME (default: everything); names: {names}",
    )  # fmt: skip
    parser.add_argument(
        "--import", dest="import_dir", metavar="DIR", default=None,
        help="verify the files in DIR (weights, cifar10/*.npz, cifar-10-batches-py/ or cifar-10-python.tar.gz) "
        "and copy those that pass into the user cache",
    )  # fmt: skip
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(run=run)


def _download_missing(names: list[str], data_dir: str | None) -> list[str]:
    sources = [get_source(name) for name in names] if names else list(SOURCES.values())
    fetched = []
    for source in sources:
        if all(find(f.path, data_dir) is not None for f in source.files):
            print(f"{source.name}: already present", file=sys.stderr)
            continue
        fetched += [str(path) for path in download(source.name)]
    return fetched


def _human_size(size: int | None) -> str:
    return "-" if size is None else f"{size / 1e6:.1f} MB"


def _print_table(rows: list[FileStatus]) -> None:
    lines = []
    for row in rows:
        if not row.found:
            state, where = "missing", f"would go to {row.location} (from {row.url})"
        else:
            state = {None: "found", True: "verified", False: "FAILED"}[row.verified]
            where = f"{row.location} ({row.origin})" + (f": {row.problem}" if row.problem else "")
        lines.append((row.name, row.path, state, _human_size(row.size), where))
    widths = [max(len(line[i]) for line in lines) for i in range(4)]
    for line in lines:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths)) + "  " + line[4])


def run(args: argparse.Namespace) -> int:
    if args.data_dir is not None and (args.download is not None or args.import_dir is not None):
        raise ConfigError(
            "--data-dir only selects where to look; --download and --import write to the user cache", option="data_dir"
        )
    result: dict[str, Any] = {}
    failed = False
    if args.import_dir is not None:
        records = import_files(args.import_dir)
        for record in records:
            if record.outcome != "absent":
                print(f"{record.path}: {record.outcome} from {record.source_path} ({record.detail})", file=sys.stderr)
        failed |= any(r.outcome == "rejected" for r in records) or all(r.outcome == "absent" for r in records)
        if all(r.outcome == "absent" for r in records):
            print(f"--import: {args.import_dir} holds none of the known files", file=sys.stderr)
        result["imported"] = [r.to_dict() for r in records]
    if args.download is not None:
        result["downloaded"] = _download_missing(args.download, args.data_dir)
    rows = status(args.data_dir, check=args.verify)
    failed |= any(row.verified is False for row in rows)
    if args.json:
        result.update(
            roots=[{"path": str(r.path), "origin": r.origin} for r in data_roots(args.data_dir)],
            cache=str(cache_data_dir()), offline=offline(), mirror=os.environ.get(MIRROR_ENV_VAR) or None,
            files=[row.to_dict() for row in rows],
        )  # fmt: skip
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_table(rows)
    return 1 if failed else 0
