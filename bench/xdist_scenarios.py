"""Scenario 16: a test suite importing 12 Rust modules, run with rusthook's pytest plugin
(`pytest --rusthook`) under pytest-xdist's 4 workers against the same run without xdist:
cold (12 new modules, dependencies compiled) and warm (every module up to date). Only
rusthook has a pytest plugin. Standard library only.
"""

from __future__ import annotations

from pathlib import Path

from fixtures import FIRST_OFFSET, Fixtures, expected
from harness import RUNS, Row, Run, Series, clean_env, log, pip_env, repeat_runs, run_timed

XDIST = "pytest -n 4"
PLAIN = "pytest"
MODULES = 12


class XdistScenarios(Fixtures):
    """Scenario 16 (see bench/README.md)."""

    repeat: int
    build_repeat: int
    notes: list[str]

    def suite(self, folder: Path) -> Path:
        """12 modules and a test file importing each, the plugin on in pytest.ini."""
        tool = self.tools["rusthook"]
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "pytest.ini").write_text("[pytest]\nrusthook = true\n")
        for k in range(MODULES):
            name = f"mod{k}"
            offset = FIRST_OFFSET + 1600 + k
            (folder / f"{name}.rs").write_text(tool.fixture(name, offset))
            (folder / f"test_{name}.py").write_text(
                f"import {name}\n\ndef test_{name}():\n"
                f"    assert {name}.scale(1) == {expected(offset)}\n"
            )
        return folder

    def run_suite(self, variant: str, folder: Path, cache: Path) -> tuple[Run, int]:
        """One timed pytest run; returns it and how many modules it compiled."""
        tool = self.tools["rusthook"]
        workers = ["-n", "4"] if variant == XDIST else []
        env = clean_env(tool.venv, RUSTHOOK_BUILD_DIR=str(cache))
        cmd = [str(tool.venv.python), "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers]
        run = run_timed(cmd, folder, env)
        if run.ok and f"{MODULES} passed" not in run.stdout:
            run.returncode = 99
        # rusthook's `building mod3 (debug) from …` lines, one per module compiled.
        return run, run.stdout.count("rusthook: building mod")

    # 16 --------------------------------------------------------------------------------
    def xdist(self) -> list[Row]:
        """A test suite of 12 test files, each importing its own Rust module, run with
        `pytest --rusthook` (the ini switch) under pytest-xdist (`-n 4`) and without:
        cold (12 new modules; the dependencies are compiled) and warm (up to date)."""
        if "rusthook" not in self.tools:
            return []
        venv = self.tools["rusthook"].venv
        log("installing pytest and pytest-xdist into rusthook's venv (untimed)")
        venv.pip("install", "pytest", "pytest-xdist", env=pip_env())
        base = RUNS / "s16-xdist"
        cache = self.warm_project("rusthook").cache  # the dependencies are compiled there
        cold = {variant: Series() for variant in (XDIST, PLAIN)}
        compiled: dict[str, list[int]] = {variant: [] for variant in cold}
        folders: dict[str, Path] = {}

        def cold_run(variant: str, i: int) -> Run:
            folder = self.suite(base / variant.replace(" ", "_") / f"run{i}")
            folders[variant] = folder
            run, built = self.run_suite(variant, folder, cache)
            compiled[variant].append(built)
            cold[variant].add(run, built == MODULES)
            return run

        repeat_runs(cold, lambda t, r: self.build_repeat, cold_run, cold, "[16 cold]")
        warm_series = {variant: Series() for variant in cold}

        def warm_run(variant: str, i: int) -> Run:
            run, built = self.run_suite(variant, folders[variant], cache)
            warm_series[variant].add(run, built > 0)
            return run

        repeat_runs(warm_series, lambda t, r: self.repeat, warm_run, warm_series, "[16 warm]")
        for variant, counts in compiled.items():
            if any(count != MODULES for count in counts):
                self.notes.append(
                    f"scenario 16 ({variant}): modules compiled per cold run {counts}, "
                    f"not {MODULES}"
                )
        return [
            Row(
                f"16. {XDIST} --rusthook, {MODULES} new modules",
                True,
                self.plugin_only(cold[XDIST]),
                cold[PLAIN],
                "the same without xdist",
            ),
            Row(
                f"16. {XDIST} --rusthook, {MODULES} modules up to date",
                False,
                self.plugin_only(warm_series[XDIST]),
                warm_series[PLAIN],
                "the same without xdist",
            ),
        ]

    def plugin_only(self, mine: Series) -> dict[str, Series]:
        """The row's series: rusthook's, and "-" for the peers (no pytest plugin)."""
        series = {tool: Series(skipped="it has no pytest plugin") for tool in self.tools}
        series["rusthook"] = mine
        return series
