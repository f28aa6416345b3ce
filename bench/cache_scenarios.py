"""Scenarios 11 and 12: what a new environment pays for its first import of a new module
(a new virtual environment, tox or nox session, `uv run` environment, CI job), and what
`python -m rusthook warm` saves. Standard library only.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from fixtures import FIRST_OFFSET, Fixtures, Project
from harness import RUNS, Row, Run, Series, Venv, check, repeat_runs
from report import target_time


def child_venv(parent: Venv, path: os.PathLike[str] | str) -> Venv:
    """A new virtual environment of the same interpreter that sees everything installed in
    `parent` (a `.pth` naming its site-packages) and its scripts (`maturin`): a new
    environment with the tool installed, made without a download. Untimed."""
    venv = Venv(path=Path(path))
    check([str(parent.python), "-m", "venv", "--without-pip", str(venv.path)])
    site = venv.site_packages()[0]
    (site / "_bench_parent.pth").write_text(
        "".join(f"{folder}\n" for folder in parent.site_packages())
    )
    for script in parent.bin.iterdir():
        if not (venv.bin / script.name).exists():
            (venv.bin / script.name).symlink_to(script)
    return venv


class CacheScenarios(Fixtures):
    """Scenarios 11 and 12 (see bench/README.md)."""

    targets: list[str]
    build_repeat: int

    # 11 --------------------------------------------------------------------------------
    def new_environment(self) -> Row:
        """First import of a new .rs file from a new virtual environment of the same
        interpreter, with the build cache scenario 1 filled (each tool's own variable
        names it): what every new environment pays."""
        series = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}

        def one(tool: str, i: int) -> Run:
            base = RUNS / "s11-new-env" / tool / f"run{i}"
            venv = child_venv(self.tools[tool].venv, base / "venv")
            in_new_env = dataclasses.replace(self.tools[tool], venv=venv)
            project = Project(in_new_env, base / "src", warm[tool].cache)
            project.write("newenv", FIRST_OFFSET + 11)
            run = project.import_("newenv")
            series[tool].add(run, self.tools[tool].built(run))
            return run

        repeat_runs(self.tools, lambda t, r: self.build_repeat, one, series, "[11 new env]")
        if "rusthook" in self.tools:
            target_time(
                self.targets,
                "11. new environment, first import, rusthook",
                series["rusthook"].median,
                1.0,
            )
        return Row("11. new environment, first import of a new module", True, series)

    # 12 --------------------------------------------------------------------------------
    def after_warm(self) -> Row:
        """`python -m rusthook warm` into an empty build cache (untimed), then the first
        import of a new .rs file (timed). The peers have no such command."""
        series = {tool: Series() for tool in self.tools}
        for tool in self.tools:
            if tool != "rusthook":
                series[tool].skipped = "it has no command that compiles dependencies ahead"

        def one(tool: str, i: int) -> Run | None:
            if tool != "rusthook":
                return None
            base = RUNS / "s12-warm" / tool / f"run{i}"
            project = Project(self.tools[tool], base / "src", base / "cache")
            warmed = run_warm(project)
            if not warmed.ok:
                series[tool].add(warmed)
                return warmed
            project.write("afterwarm", FIRST_OFFSET + 12)
            run = project.import_("afterwarm")
            series[tool].add(run, self.tools[tool].built(run))
            return run

        repeat_runs(self.tools, lambda t, r: self.build_repeat, one, series, "[12 after warm]")
        if "rusthook" in self.tools:
            target_time(
                self.targets,
                "12. first import after warm, rusthook",
                series["rusthook"].median,
                1.0,
            )
        return Row("12. first import after `warm`", True, series)


def run_warm(project: Project) -> Run:
    """`python -m rusthook warm` with the project's cache (untimed: set-up)."""
    return project.run("import sys; from rusthook.cli import main; sys.exit(main(['warm']))")
