"""The differential freshness test (see `differential.py`): a short seeded run here; a
long one is `python bench/differential.py --steps 300`."""

from __future__ import annotations

import time
from pathlib import Path

from differential import Run

SEED = 2026
BUDGET_SECONDS = 35


def test_random_user_actions_always_import_what_the_inputs_give(tmp_path: Path) -> None:
    run = Run(tmp_path, SEED)
    first = run.python_in_project(
        "import rusthook; rusthook.install(); import diff; print(diff.value)"
    )
    assert first.stdout.strip() == run.state.expected(), first.stderr
    started = time.monotonic()
    while time.monotonic() - started < BUDGET_SECONDS and len(run.log) < 60:
        problem = run.check(run.step())
        assert problem is None, problem
    assert len(run.log) >= 10, f"only {len(run.log)} steps in {BUDGET_SECONDS} s"
    # Every kind of action was tried at least once in the seeded sequence, or the run
    # says which were not.
    tried = {outcome.action for outcome in run.log}
    assert tried >= {"edit_source", "toggle_rustflags", "change_config", "build_in_place"}, tried
