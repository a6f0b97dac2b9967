"""One torch thread in the fine-tuning tests: bit-for-bit equal runs need one reduction order, and
on a busy shared machine one thread is also the fastest."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
