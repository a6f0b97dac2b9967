"""Torch CPU threads: one for the agent's tiny networks, all of them for the env's evaluation.

Small MLP updates gain nothing from several threads and lose a lot when the cores are busy (on a
loaded 2-core machine one DDPG update took ~45 ms with 2 threads and ~2 ms with one), while the
env's CNN evaluation does profit from them. The SB3 driver trains under :func:`torch_threads(1)
<torch_threads>` and runs the env's steps under :class:`EnvThreads`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import torch


@contextlib.contextmanager
def torch_threads(count: int) -> Iterator[None]:
    """Run the block with ``count`` torch intra-op threads, then restore the previous count."""
    previous = torch.get_num_threads()
    if count != previous:
        torch.set_num_threads(count)
    try:
        yield
    finally:
        if torch.get_num_threads() != previous:
            torch.set_num_threads(previous)


class EnvThreads(gym.Wrapper):
    """Run ``reset`` and ``step`` of the wrapped env with ``count`` torch threads.

    Args:
        env: the env.
        count: threads for its steps (default: the count when the wrapper is built).
    """

    def __init__(self, env: gym.Env, count: int | None = None) -> None:
        super().__init__(env)
        self.count = count or torch.get_num_threads()

    def reset(self, **kwargs: Any) -> tuple[Any, dict]:
        with torch_threads(self.count):
            return self.env.reset(**kwargs)

    def step(self, action: Any) -> tuple[Any, Any, bool, bool, dict[str, Any]]:
        with torch_threads(self.count):
            return self.env.step(action)
