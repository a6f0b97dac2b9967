"""The fuzz suite's fixtures; its profiles, time limit and tally are in :mod:`tests.fuzz.harness`.

``AGMC_FUZZ_PROFILE=long`` selects the long profile; ``AGMC_FUZZ_REPORT=<file>`` writes the tally
(cases per property, outcome classes, failures) as JSON when the session ends.
"""

from __future__ import annotations

import json
import os

import pytest

from tests.fuzz.harness import TALLY, Tally


@pytest.fixture(scope="session")
def tally() -> Tally:
    return TALLY


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    path = os.environ.get("AGMC_FUZZ_REPORT")
    if path and TALLY.cases:
        with open(path, "w") as handle:
            json.dump(TALLY.report(session.testsfailed), handle, indent=1)
