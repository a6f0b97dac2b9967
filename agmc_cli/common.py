"""Arguments and output helpers shared by the ``agmc`` commands."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from agmc_env.evaluate import DEVICES, PRECISIONS


def add_data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        default=None,
        help="folder holding cifar10/ and pretrained/ (default: $AGMC_DATA, then ../shared/data)",
    )


def add_device_arguments(parser: argparse.ArgumentParser, precision: str = "fp32") -> None:
    parser.add_argument("--device", default="auto", choices=DEVICES, help="auto picks CUDA when present")
    parser.add_argument(
        "--precision", default=precision, choices=PRECISIONS,
        help="autocast precision; auto: bf16 where the hardware runs it natively and faster, else fp32 "
        f"(default: {precision})",
    )


def print_result(result: dict[str, Any], as_json: bool) -> None:
    """Results to stdout: one JSON object, or aligned ``key: value`` lines for people."""
    if as_json:
        json.dump(result, sys.stdout)
        sys.stdout.write("\n")
        return
    width = max(len(k) for k in result)
    for key, value in result.items():
        if isinstance(value, float):
            value = f"{value:.4f}".rstrip("0").rstrip(".")
        print(f"{key:<{width}}  {value}")
