"""The README's quick start example runs."""

from __future__ import annotations

from pathlib import Path

from conftest import Project

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_quick_start_example(project: Project) -> None:
    run = project.run(
        f"import runpy, sys; sys.path.insert(0, {str(EXAMPLES)!r}); runpy.run_path({str(EXAMPLES / 'hello.py')!r}, run_name='__main__')"
    )
    assert run.stdout.strip() == "primes below 1,000,000: 78498"
