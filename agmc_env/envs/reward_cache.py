"""Accuracy of already-seen pruned shapes, so a search never scores the same shape twice.

Ratios that differ only below the channel rounding give the same pruned model: the key is the
kept-channel (or kept-weight) vector after the budget wall and the rounding. The env is
deterministic for a fixed configuration, so a hit is exact, not an estimate. Everything else that
changes the result (model, data, precision, re-calibration, ...) is fixed per env, and the cache
lives in the env; only ``importance="random"`` varies between episodes, and its seed joins the key.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence


class RewardCache:
    """A bounded least-recently-used map from a pruned shape to its accuracy.

    Args:
        max_entries: shapes kept; the least recently used go first. (default: ``100_000``, a few MB)
    """

    def __init__(self, max_entries: int = 100_000) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[tuple, float] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(kept: Sequence[int], extra: Hashable = None) -> tuple:
        """The cache key of a kept-size vector (and anything else that changes the accuracy)."""
        return (tuple(int(k) for k in kept), extra)

    def get(self, key: tuple) -> float | None:
        accuracy = self._entries.get(key)
        if accuracy is None:
            self.misses += 1
            return None
        self._entries.move_to_end(key)
        self.hits += 1
        return accuracy

    def put(self, key: tuple, accuracy: float) -> None:
        if self.max_entries <= 0:
            return
        self._entries[key] = accuracy
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)

    def clear(self) -> None:
        self._entries.clear()
        self.hits = self.misses = 0
