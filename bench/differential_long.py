"""The long run of the differential freshness test (`tests/differential.py`): hundreds of
random user actions on one module, each followed by an import in a fresh interpreter.

    python bench/differential_long.py --steps 300 [--seed 1]

Prints every problem found (the run goes on past them), then figures: steps per action,
how many built, how long imports took with and without a build.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from differential import Run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="rusthook-differential-") as folder:
        run = Run(Path(folder), args.seed)
        run.python_in_project("import rusthook; rusthook.install(); import diff")
        started = time.monotonic()
        problems = []
        for _ in range(args.steps):
            problem = run.check(run.step())
            if problem:
                problems.append(problem)
                print(f"PROBLEM {problem}", flush=True)
        elapsed = time.monotonic() - started
    actions = Counter(outcome.action for outcome in run.log)
    built = [o.seconds for o in run.log if o.built]
    fresh = [o.seconds for o in run.log if not o.built]
    print(f"seed {args.seed}: {len(run.log)} steps in {elapsed:.0f} s, {len(problems)} problems")
    print("actions: " + ", ".join(f"{name} {count}" for name, count in sorted(actions.items())))
    print(
        f"imports that built: {len(built)} (median {statistics.median(built or [0]):.2f} s); "
        f"that built nothing: {len(fresh)} (median {statistics.median(fresh or [0]) * 1000:.0f} ms)"
    )
    no_change = [o for o in run.log if o.must_not_build]
    print(
        f"steps that changed nothing: {len(no_change)}, of which built: {sum(o.built for o in no_change)}"
    )
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
