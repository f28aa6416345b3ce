"""The scenarios of bench.py, one method of `Bench` each (see bench/README.md).

Each scenario runs its fresh processes, tool by tool in turn, and returns its row(s)
of the table; `Bench` also collects rusthook's figures against their targets and the
notes printed with the details. Standard library only.
"""

from __future__ import annotations

import dataclasses
import os
import shutil
import statistics
import tempfile
from pathlib import Path

from cache_scenarios import CacheScenarios
from fixtures import (
    BIG,
    BIG_FILES,
    BIG_SUM,
    CHECK_CALLS,
    CHECK_CHILD,
    CRATE_TOOLS,
    EDITABLE,
    FIRST_OFFSET,
    NO_CRATES,
    NO_PROJECT_IMPORTER,
    PROJECT_TOOLS,
    SITE_TOOLS,
    STDLIB_117,
    STDLIB_CHILD,
    CargoCrate,
    Project,
    Tool,
    child_report,
    make_crowd,
    write_big_crate,
)
from harness import (
    RUNS,
    SLOW_RUN,
    BenchError,
    Row,
    Run,
    Series,
    check,
    clean_env,
    fmt_time,
    log,
    repeat_runs,
    run_timed,
)
from report import target_ratio
from stub_scenarios import StubScenarios
from xdist_scenarios import XdistScenarios


class Bench(CacheScenarios, StubScenarios, XdistScenarios):
    """The scenarios, 1 to 10 here, 11 to 14 in `CacheScenarios`, 15 in `StubScenarios`
    and 16 in `XdistScenarios`; each returns its row(s) of the table."""

    def __init__(self, tools: dict[str, Tool], pyo3: str, repeat: int, build_repeat: int) -> None:
        super().__init__(tools, pyo3)
        self.repeat = repeat
        self.build_repeat = build_repeat
        self.notes: list[str] = []
        self.targets: list[str] = []  # rusthook's figures against their targets

    def repeats(self, first: Run | None) -> int:
        """--repeat runs, or --build-repeat once a first run turns out to be slow."""
        if first is not None and first.ok and first.seconds > SLOW_RUN:
            return self.build_repeat
        return self.repeat

    # 1 ---------------------------------------------------------------------------------
    def first_import(self) -> Row:
        """First import of a new .rs file with an empty build cache: the whole process,
        pyo3 and all of its dependencies included (they are already in cargo's registry)."""
        series = {tool: Series() for tool in self.tools}
        last: dict[str, Project] = {}

        def one(tool: str, i: int) -> Run:
            base = RUNS / "s1-first" / tool / f"run{i}"
            project = Project(self.tools[tool], base / "src", base / "cache")
            project.write("fast", FIRST_OFFSET)
            run = project.import_("fast")
            if series[tool].add(run, self.tools[tool].built(run)):
                last[tool] = project
            return run

        repeat_runs(self.tools, lambda t, r: self.build_repeat, one, series, "[1 first import]")
        # The last run's project is built and fresh: the later scenarios start from it.
        self.warm.update(last)
        return Row("1. first import, empty build cache", True, series)

    # 2 ---------------------------------------------------------------------------------
    def second_module(self) -> Row:
        """A second, different .rs file imported into a cache that already built `fast`.
        Each run puts `second.rs` in a new folder, so it is a new module every time."""
        return self.new_module_with_warm_cache(
            "2. second module, same cache",
            "s2-second",
            "second",
            FIRST_OFFSET + 7,
            1.5,
            lambda tool, base: self.tools[tool],
        )

    # 3 ---------------------------------------------------------------------------------
    def up_to_date(self) -> Row:
        """`python -c "<activate hook>; import fast"` with `fast` up to date, against a
        process that imports a copy of the same library with no hook at all."""
        n = 2 * self.repeat + 1  # a run takes milliseconds: more runs, steadier median
        series = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}

        # The baseline: the first tool's library (rusthook's) copied into an empty folder.
        ref = next(iter(self.tools))
        origin, suffix = (
            warm[ref]
            .run(
                f"{self.tools[ref].activate}\nimport fast, importlib.machinery\n"
                "print(fast.__file__); print(importlib.machinery.EXTENSION_SUFFIXES[0])"
            )
            .stdout.split()
        )
        bare = RUNS / "s3-baseline"
        bare.mkdir(parents=True, exist_ok=True)
        shutil.copy2(origin, bare / f"fast{suffix}")
        baseline = Series()
        python = str(self.tools[ref].venv.python)
        base_env = clean_env(self.tools[ref].venv)

        # One untimed run each first: writes bytecode caches, fills the OS file cache.
        for tool in self.tools:
            warm[tool].import_("fast", check_result=False)
        run_timed([python, "-c", "import fast"], bare, base_env)

        def one(tool: str, i: int) -> Run:
            if tool == "baseline":
                run = run_timed([python, "-c", "import fast"], bare, base_env)
                baseline.add(run)
                return run
            run = warm[tool].import_("fast", check_result=False)
            series[tool].add(run, self.tools[tool].built(run))
            return run

        everyone = dict(self.tools, baseline=None)
        all_series = dict(series, baseline=baseline)
        repeat_runs(everyone, lambda t, r: n, one, all_series, "[3 up to date]")
        if "rusthook" in self.tools:
            target_ratio(
                self.targets,
                "3. up-to-date import, rusthook/bare import",
                series["rusthook"].median,
                baseline.median,
                1.1,
            )
        return Row(
            "3. up-to-date import",
            False,
            series,
            baseline,
            f"bare `import fast` ({ref}'s library, no hook)",
        )

    # 4 ---------------------------------------------------------------------------------
    def touch(self) -> Row:
        """os.utime() on fast.rs, contents unchanged, then import: nothing to rebuild."""
        series = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}

        def one(tool: str, i: int) -> Run:
            path = warm[tool].path("fast")
            os.utime(path)  # now, and later than any earlier build
            run = warm[tool].import_("fast", check_result=False)
            series[tool].add(run, self.tools[tool].built(run))
            return run

        repeat_runs(self.tools, lambda t, r: self.repeats(r), one, series, "[4 touch]")
        if "rusthook" in self.tools:
            mine = series["rusthook"]
            built = sum(mine.builds)
            verdict = "no figure" if mine.error else ("met" if built == 0 else "MISSED")
            self.targets.append(
                f"4. touch, rusthook: {built} of {len(mine.builds)} runs built "
                f"(target: no build): {verdict}"
            )
        return Row("4. touch, no change", False, series)

    # 5 ---------------------------------------------------------------------------------
    def edit(self) -> Row:
        """A one-line edit (the constant in scale()'s body) then import, against a bare
        incremental `cargo build` of an equivalent plain cdylib crate after the same edit."""
        series = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}
        crate = CargoCrate(RUNS / "s5-cargo", next(iter(self.tools.values())).venv, self.pyo3)
        log("building the reference cargo crate once (untimed)")
        crate.build()
        cargo = Series()

        def one(tool: str, i: int) -> Run:
            offset = FIRST_OFFSET + 100 + i  # differs from every earlier build
            if tool == "cargo":
                crate.write(offset)
                run = crate.build()
                cargo.add(run, True)
                return run
            project = warm[tool]
            project.write("fast", offset)
            run = project.import_("fast")
            series[tool].add(run, self.tools[tool].built(run))
            return run

        everyone = dict(self.tools, cargo=None)
        repeat_runs(
            everyone, lambda t, r: self.repeats(r), one, dict(series, cargo=cargo), "[5 edit]"
        )
        if "rusthook" in self.tools:
            target_ratio(
                self.targets,
                "5. one-line edit, rusthook/bare cargo build",
                series["rusthook"].median,
                cargo.median,
                1.2,
            )
        return Row("5. one-line edit", True, series, cargo, "bare incremental `cargo build`")

    # 6 ---------------------------------------------------------------------------------
    def project_edit(self) -> Row:
        """Editable maturin project (`pip install -e`, pure layout, pyo3): a one-line edit
        of src/lib.rs, then import with the hook's project importer; against a bare
        incremental `cargo build` of the same crate after the same edit."""
        tools, series = self.only(PROJECT_TOOLS, NO_PROJECT_IMPORTER)
        projects = self.prepare(tools, series, self.editable)
        crate = CargoCrate(RUNS / "s6-cargo", self.tools[tools[0]].venv, self.pyo3, EDITABLE)
        log("building the reference cargo crate once (untimed)")
        first = crate.build()
        if not first.ok:
            raise BenchError(f"cargo build of the reference crate failed:\n{first.tail()}")
        cargo = Series()

        def one(tool: str, i: int) -> Run:
            offset = FIRST_OFFSET + 200 + i  # differs from every earlier build
            if tool == "cargo":
                crate.write(offset)
                run = crate.build()
                cargo.add(run, True)
                return run
            projects[tool].write(offset)
            run = projects[tool].import_()
            series[tool].add(run, self.tools[tool].built(run))
            return run

        everyone = dict.fromkeys([*tools, "cargo"])
        repeat_runs(
            everyone,
            lambda t, r: self.repeats(r),
            one,
            dict(series, cargo=cargo),
            "[6 project edit]",
        )
        return Row(
            "6. editable project, one-line edit",
            True,
            series,
            cargo,
            "bare incremental `cargo build` of the same crate",
        )

    # 7 ---------------------------------------------------------------------------------
    def project_up_to_date(self) -> Row:
        """The editable project, up to date: `python -c "<turn the hook on>; import
        benchproj"` against `python -c "import benchproj"` in the same venv, no hook."""
        n = 2 * self.repeat + 1
        tools, series = self.only(PROJECT_TOOLS, NO_PROJECT_IMPORTER)
        projects = self.prepare(tools, series, self.editable)
        ref = tools[0]
        baseline = Series()
        # One untimed run each first: bytecode caches, the OS file cache, the hooks' own caches.
        for tool in tools:
            projects[tool].import_(check_result=False)
        projects[ref].import_(hook=False, check_result=False)

        def one(tool: str, i: int) -> Run:
            if tool == "baseline":
                run = projects[ref].import_(hook=False, check_result=False)
                baseline.add(run)
                return run
            run = projects[tool].import_(check_result=False)
            series[tool].add(run, self.tools[tool].built(run))
            return run

        everyone = dict.fromkeys([*tools, "baseline"])
        repeat_runs(
            everyone, lambda t, r: n, one, dict(series, baseline=baseline), "[7 project fresh]"
        )
        return Row(
            "7. editable project, up-to-date import",
            False,
            series,
            baseline,
            f"bare `import {EDITABLE}` in {ref}'s venv, no hook",
        )

    # 8 ---------------------------------------------------------------------------------
    def stdlib_imports(self) -> list[Row]:
        """117 unrelated stdlib imports in one process, hook on against no hook, then the
        same with a folder of 600 files at sys.path[0]: timed inside the process around
        the imports, and as the whole process."""
        self.drop_editables()
        n = 4 * self.repeat + 1  # a few percent is the point here: many runs
        base = RUNS / "s8-stdlib"
        cwd = base / "cwd"  # an empty folder: sys.path[0] of `python -c`
        cwd.mkdir(parents=True, exist_ok=True)
        crowd = base / "crowd"
        make_crowd(crowd)
        rows = self.stdlib_variant("", None, n, base, cwd)
        rows += self.stdlib_variant(" + 600 files at sys.path[0]", crowd, n, base, cwd)
        return rows

    def stdlib_variant(
        self, label: str, folder: Path | None, n: int, base: Path, cwd: Path
    ) -> list[Row]:
        """One half of scenario 8: the in-process row and the whole-process row."""
        ref = next(iter(self.tools))
        prepend = "" if folder is None else f"sys.path.insert(0, {str(folder)!r})"
        whole = {key: Series() for key in [*self.tools, "baseline"]}
        inside = {key: Series() for key in whole}
        already: dict[str, list[int]] = {key: [] for key in whole}

        def one(key: str, i: int) -> Run:
            tool = self.tools[ref if key == "baseline" else key]
            activate = "pass" if key == "baseline" else tool.hook
            code = STDLIB_CHILD.format(activate=activate, prepend=prepend, names=STDLIB_117)
            env = clean_env(tool.venv, **{tool.cache_var: str(base / "cache" / key)})
            run = run_timed([str(tool.venv.python), "-c", code], cwd, env)
            report = child_report(run)
            if run.ok and report is None:
                run = dataclasses.replace(run, returncode=-1)
            if whole[key].add(run) and report is not None:
                inside[key].add(dataclasses.replace(run, seconds=report[0]))
                already[key].append(int(report[1]))
            return run

        title = f"8. 117 stdlib imports{label}"
        repeat_runs(whole, lambda t, r: n, one, whole, f"[8 stdlib{label}]")
        for key, befores in already.items():
            if any(befores):
                self.notes.append(
                    f"{title} / {key}: {max(befores)} of the 117 modules were already "
                    "imported by the hook's own activation (those imports cost it nothing "
                    "inside the timed window)"
                )
        if "rusthook" in self.tools:
            target_ratio(
                self.targets,
                f"{title}, in-process, rusthook/no hook",
                inside["rusthook"].median,
                inside["baseline"].median,
                1.02,
            )
        return [
            Row(
                f"{title}, in-process",
                None,
                {t: inside[t] for t in self.tools},
                inside["baseline"],
                "no hook",
            ),
            Row(
                f"{title}, whole process",
                None,
                {t: whole[t] for t in self.tools},
                whole["baseline"],
                "no hook",
            ),
        ]

    # 9 ---------------------------------------------------------------------------------
    def site_startup(self) -> Row:
        """`python -c pass` with the hook activated at interpreter start by each tool's
        own `site install`, against the same venv without it (uninstalled at the end)."""
        self.drop_editables()
        n = 4 * self.repeat + 1
        tools, series = self.only(SITE_TOOLS, "it has no activation at interpreter start")
        base = RUNS / "s9-startup"
        cwd = base / "cwd"
        cwd.mkdir(parents=True, exist_ok=True)
        plain = {tool: Series() for tool in tools}  # each venv without its hook

        def env(tool: str) -> dict[str, str]:
            t = self.tools[tool]
            return clean_env(t.venv, **{t.cache_var: str(base / "cache" / tool)})

        def site(tool: str, action: str) -> None:
            python = str(self.tools[tool].venv.python)
            check([python, "-m", SITE_TOOLS[tool], "site", action], cwd, env(tool))

        def start(tool: str) -> Run:
            return run_timed([str(self.tools[tool].venv.python), "-c", "pass"], cwd, env(tool))

        def one(key: str, i: int) -> Run:
            if key in series:
                site(key, "install")
                try:
                    # Untimed first start after install: the hook's own one-time work
                    # (bytecode of sitecustomize.py, caches keyed on site-packages).
                    start(key)
                    run = start(key)
                finally:
                    site(key, "uninstall")
                series[key].add(run)
                return run
            tool = key[: -len(" without")]
            start(tool)
            run = start(tool)
            plain[tool].add(run)
            return run

        everyone = dict.fromkeys([k for t in tools for k in (t, f"{t} without")])
        all_series = dict(series, **{f"{t} without": plain[t] for t in tools})
        try:
            for tool in tools:
                site(tool, "uninstall")  # whatever an interrupted earlier run left
            repeat_runs(everyone, lambda t, r: n, one, all_series, "[9 python -c pass]")
        finally:
            for tool in tools:
                site(tool, "uninstall")
        ref = tools[0]
        for tool in tools:
            mine, bare = series[tool].median, plain[tool].median
            if tool != ref and bare is not None:
                self.notes.append(
                    f"9. `python -c pass` / {tool}'s venv without its hook: "
                    f"median {fmt_time(bare)} (n={len(plain[tool].times)})"
                )
            if mine is None or bare is None:
                continue
            diff = (mine - bare) * 1000
            line = f"9. `python -c pass`, {tool} site-installed: {diff:+.1f} ms over no hook"
            if tool == "rusthook":
                verdict = "met" if diff <= 2.0 else "MISSED"
                self.targets.append(f"{line} (target <= +2 ms): {verdict}")
            else:
                self.targets.append(f"{line} (no target; for comparison)")
        return Row(
            "9. `python -c pass`, hook activated at start",
            None,
            series,
            plain[ref],
            f"`python -c pass` in {ref}'s venv without the hook",
        )

    # 10 --------------------------------------------------------------------------------
    def crate_check(self) -> list[Row]:
        """Up-to-date import of a marked crate with 1,000 source files (whole process,
        against a bare import of its library), and the hook's freshness check timed inside
        one process per call, for that crate and for the single-file module `fast`."""
        self.drop_editables()
        n = 2 * self.repeat + 1
        tools, whole = self.only(CRATE_TOOLS, NO_CRATES)
        warm: dict[str, Project] = {}
        projects: dict[str, Project] = {}
        libraries: dict[str, str] = {}
        outside: list[Path] = []

        def setup(tool: str) -> None:
            warm[tool] = self.warm_project(tool)
            if tool == "rustimport":
                # rustimport takes the nearest folder above a crate that holds a
                # Cargo.toml for its workspace and copies and hashes all of it: this
                # repository's own Cargo.toml is above bench/.work/. Its crate lives in a
                # temporary folder outside the repository instead.
                src = Path(tempfile.mkdtemp(prefix="rusthook-bench-s10-"))
                outside.append(src)
            else:
                src = RUNS / "s10-crate" / tool
            project = Project(self.tools[tool], src, warm[tool].cache)
            write_big_crate(src / BIG, self.pyo3, tool)
            log(f"building the {BIG_FILES}-file crate with {tool} (untimed)")
            code = f"{self.tools[tool].hook}\nimport {BIG}\nassert {BIG}.count() == {BIG_SUM}"
            run = project.run(code + f"\nprint({BIG}.__file__)")
            if not run.ok:
                raise BenchError(f"first import of {BIG} failed:\n{run.tail()}")
            libraries[tool] = run.stdout.split()[-1]
            projects[tool] = project

        try:
            self.prepare(tools, whole, setup)

            # Whole process: the hook's up-to-date import against a bare import of a copy
            # of the first tool's library, no hook.
            ref = tools[0]
            bare = RUNS / "s10-baseline"
            bare.mkdir(parents=True, exist_ok=True)
            suffix = self.tools[ref].venv.ask(
                "import importlib.machinery as m; print(m.EXTENSION_SUFFIXES[0])"
            )
            shutil.copy2(libraries[ref], bare / f"{BIG}{suffix}")
            python = str(self.tools[ref].venv.python)
            base_env = clean_env(self.tools[ref].venv)
            baseline = Series()
            importing = {tool: f"{self.tools[tool].hook}\nimport {BIG}" for tool in tools}
            for tool in tools:
                projects[tool].run(importing[tool])
            run_timed([python, "-c", f"import {BIG}"], bare, base_env)

            def one(tool: str, i: int) -> Run:
                if tool == "baseline":
                    run = run_timed([python, "-c", f"import {BIG}"], bare, base_env)
                    baseline.add(run)
                    return run
                run = projects[tool].run(importing[tool])
                whole[tool].add(run, self.tools[tool].built(run))
                return run

            repeat_runs(
                dict.fromkeys([*tools, "baseline"]),
                lambda t, r: n,
                one,
                dict(whole, baseline=baseline),
                "[10 crate import]",
            )
            rows = [
                Row(
                    f"10. {BIG_FILES:,}-file crate, up-to-date import",
                    False,
                    whole,
                    baseline,
                    f"bare `import {BIG}` ({ref}'s library, no hook)",
                )
            ]
            rows.append(self.check_calls(tools, whole, projects, BIG, "crate", 5e-3))
            rows.append(self.check_calls(tools, whole, warm, "fast", "single-file", 1e-4))
            return rows
        finally:
            for folder in outside:
                shutil.rmtree(folder, ignore_errors=True)

    def check_calls(
        self,
        tools: list[str],
        setup: dict[str, Series],
        projects: dict[str, Project],
        name: str,
        what: str,
        limit: float,
    ) -> Row:
        """The freshness check alone, CHECK_CALLS times in each of --repeat processes:
        the median call of each process, then the median over the processes."""
        title = (
            f"10. {BIG_FILES:,}-file crate, freshness check per call"
            if what == "crate"
            else "10. single-file module, freshness check per call"
        )
        _, series = self.only(CRATE_TOOLS, NO_CRATES)
        for tool, failed in setup.items():
            if failed.error and failed.error.startswith("set-up failed"):
                series[tool].error = failed.error
        firsts: dict[str, list[float]] = {tool: [] for tool in tools}

        def one(tool: str, i: int) -> Run:
            code = CHECK_CHILD[tool].format(calls=CHECK_CALLS, name=name)
            run = projects[tool].run(code)
            report = child_report(run)
            if run.ok and report is None:
                run = dataclasses.replace(run, returncode=-1)
            if run.ok and report is not None:
                firsts[tool].append(report[0])
                run = dataclasses.replace(run, seconds=statistics.median(report[1:]))
            series[tool].add(run, self.tools[tool].built(run))
            return run

        repeat_runs(
            dict.fromkeys(tools), lambda t, r: self.repeat, one, series, f"[10 {what} check]"
        )
        for tool in tools:
            if firsts[tool]:
                self.notes.append(
                    f"{title} / {tool}: the first call of each process (what one import "
                    f"pays, with the hook's one-time set-up) median "
                    f"{fmt_time(statistics.median(firsts[tool]))}"
                )
        if "rusthook" in tools:
            mine = series["rusthook"].median
            shown = fmt_time(mine)
            verdict = "no figure" if mine is None else ("met" if mine <= limit else "MISSED")
            self.targets.append(
                f"{title} (in-process), rusthook: {shown} (target <= {fmt_time(limit)}): {verdict}"
            )
        return Row(f"{title} (in-process)", False, series)
