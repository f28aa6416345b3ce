"""Scenario 15: what writing `.pyi` stubs costs rusthook (`RUSTHOOK_STUBS=1`) on a
one-line edit and on an up-to-date import, against the same runs without stubs. Only
rusthook writes stubs. Standard library only.
"""

from __future__ import annotations

from fixtures import FIRST_OFFSET, Fixtures, Project
from harness import RUNS, Row, Run, Series, log, repeat_runs
from report import target_ratio

STUBS_ON = "stubs"
STUBS_OFF = "no stubs"


class StubProject(Project):
    """A project whose imports ask for stubs (`RUSTHOOK_STUBS=1`)."""

    def env(self) -> dict[str, str]:
        return {**super().env(), "RUSTHOOK_STUBS": "1"}


class StubScenarios(Fixtures):
    """Scenario 15 (see bench/README.md)."""

    targets: list[str]
    notes: list[str]
    repeat: int

    def stub_projects(self) -> dict[str, Project]:
        """`fast` built with and without stubs, in one build cache (untimed)."""
        tool = self.tools["rusthook"]
        base = RUNS / "s15-stubs"
        projects = {
            STUBS_ON: StubProject(tool, base / "on", base / "cache"),
            STUBS_OFF: Project(tool, base / "off", base / "cache"),
        }
        for name, project in projects.items():
            log(f"building `fast` ({name}) once (untimed)")
            project.write("fast", FIRST_OFFSET)
            project.build("fast")
        return projects

    # 15 --------------------------------------------------------------------------------
    def stubs(self) -> list[Row]:
        """rusthook with `RUSTHOOK_STUBS=1` against rusthook without: a one-line edit then
        import (the build carries pyo3's introspection data, the stub is made and
        compared), and an up-to-date import."""
        if "rusthook" not in self.tools:
            return []
        projects = self.stub_projects()
        series = {name: Series() for name in projects}

        def edit(name: str, i: int) -> Run:
            project = projects[name]
            project.write("fast", FIRST_OFFSET + 300 + i)  # differs from every earlier build
            run = project.import_("fast")
            series[name].add(run, self.tools["rusthook"].built(run))
            return run

        repeat_runs(projects, lambda t, r: self.repeat, edit, series, "[15 edit, stubs]")
        fresh = {name: Series() for name in projects}

        def up_to_date(name: str, i: int) -> Run:
            run = projects[name].import_("fast")
            fresh[name].add(run, self.tools["rusthook"].built(run))
            return run

        for project in projects.values():  # untimed: bytecode caches, the OS file cache
            project.import_("fast")
        repeat_runs(
            projects, lambda t, r: 2 * self.repeat + 1, up_to_date, fresh, "[15 fresh, stubs]"
        )
        stub = projects[STUBS_ON].src / "fast.pyi"
        if not stub.is_file():
            self.notes.append(f"scenario 15: no stub was written at {stub}")
        target_ratio(
            self.targets,
            "15. one-line edit, rusthook with stubs/without",
            series[STUBS_ON].median,
            series[STUBS_OFF].median,
            1.10,
        )
        target_ratio(
            self.targets,
            "15. up-to-date import, rusthook with stubs/without",
            fresh[STUBS_ON].median,
            fresh[STUBS_OFF].median,
            1.05,
        )
        return [
            Row(
                "15. one-line edit, with stubs",
                True,
                self.only_rusthook(series[STUBS_ON]),
                series[STUBS_OFF],
                "rusthook without stubs",
            ),
            Row(
                "15. up-to-date import, with stubs",
                False,
                self.only_rusthook(fresh[STUBS_ON]),
                fresh[STUBS_OFF],
                "rusthook without stubs",
            ),
        ]

    def only_rusthook(self, mine: Series) -> dict[str, Series]:
        """The row's series: rusthook's, and "-" for the peers (they write no stubs)."""
        series = {tool: Series(skipped="it writes no stubs") for tool in self.tools}
        series["rusthook"] = mine
        return series
