"""The fuzz suite's profiles, per-case time limit and tally (``tests/fuzz/conftest.py`` loads them).

Profiles (``AGMC_FUZZ_PROFILE``, default ``bounded``):

* ``bounded``: a few dozen cases per property, the same every run, part of the fast suite (well
  under a minute);
* ``long``: twenty times as many, for occasional runs (``AGMC_FUZZ_PROFILE=long pytest tests/fuzz``,
  minutes at one thread).

``AGMC_FUZZ_REPORT=<file>`` writes the tally (cases per property, outcome classes, failures) as
JSON at the end of the session: the figures of ``benchmarks/RESULTS.md`` come from it.
"""

from __future__ import annotations

import collections
import contextlib
import os
import signal
import time
from collections.abc import Iterator
from datetime import timedelta

from hypothesis import HealthCheck, settings

PROFILE = os.environ.get("AGMC_FUZZ_PROFILE", "bounded")
# Seconds one case may take before it counts as a hang (a search of one episode takes about one).
CASE_LIMIT = 60
_COMMON = {
    "deadline": timedelta(seconds=CASE_LIMIT + 5),  # the alarm below fires first and names the case
    "database": None,  # no .hypothesis/ folder in the checkout
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}
# The bounded profile draws the same cases every run (a stable fast suite); the long one new ones.
settings.register_profile("bounded", max_examples=20, derandomize=True, **_COMMON)
settings.register_profile("long", max_examples=400, **_COMMON)
if PROFILE not in ("bounded", "long"):
    raise ValueError(f"AGMC_FUZZ_PROFILE must be 'bounded' or 'long', got {PROFILE!r}")
settings.load_profile(PROFILE)


def examples(bounded: int) -> int:
    """A property's case count: ``bounded`` in the bounded profile, twenty times more in the long one."""
    return bounded if PROFILE == "bounded" else 20 * bounded


class CaseTimeout(Exception):
    """A fuzz case ran past :data:`CASE_LIMIT`: a hang, as far as the contract goes."""


@contextlib.contextmanager
def time_limit(seconds: float = CASE_LIMIT) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in the test if the block runs longer than ``seconds`` (POSIX)."""

    def expire(signum: int, frame: object) -> None:
        raise CaseTimeout(f"the case ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Tally:
    """Cases run and outcome classes per property, and the slowest case."""

    def __init__(self) -> None:
        self.cases: collections.Counter[str] = collections.Counter()
        self.classes: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        self.slowest: dict[str, float] = collections.defaultdict(float)
        self.started = time.perf_counter()

    @contextlib.contextmanager
    def case(self, prop: str) -> Iterator[collections.Counter[str]]:
        """Count one case of ``prop``; the caller adds its outcome class to the yielded counter."""
        start = time.perf_counter()
        self.cases[prop] += 1
        try:
            yield self.classes[prop]
        finally:
            self.slowest[prop] = max(self.slowest[prop], time.perf_counter() - start)

    def report(self, failures: int) -> dict:
        return {
            "profile": PROFILE,
            "seconds": round(time.perf_counter() - self.started, 1),
            "cases": dict(self.cases),
            "total_cases": sum(self.cases.values()),
            "classes": {prop: dict(counter.most_common()) for prop, counter in self.classes.items()},
            "slowest_case_seconds": {prop: round(s, 2) for prop, s in self.slowest.items()},
            "failures": failures,
        }


TALLY = Tally()
