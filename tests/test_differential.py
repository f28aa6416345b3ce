"""The differential freshness test (see `differential.py`): a short seeded run here; a
long one is `python bench/differential_long.py --steps 300`."""

from __future__ import annotations

import random
import time
from pathlib import Path

from differential import IMPORT, Run

SEED = 2026
BUDGET_SECONDS = 8


def test_random_user_actions_always_import_what_the_inputs_give(tmp_path: Path) -> None:
    run = Run(tmp_path, SEED)
    first = run.python_in_project(IMPORT)
    assert first.stdout.strip() == run.state.expected(), first.stderr
    # Every kind of action once, in a seeded order, then random ones while time is left.
    tour = list(Run.ACTIONS)
    random.Random(SEED).shuffle(tour)
    for action in tour:
        problem = run.check(run.step(action))
        assert problem is None, problem
    started = time.monotonic()
    while time.monotonic() - started < BUDGET_SECONDS and len(run.log) < 40:
        problem = run.check(run.step())
        assert problem is None, problem
