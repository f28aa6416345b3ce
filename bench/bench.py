#!/usr/bin/env python3
"""Benchmark rusthook against rustimport and maturin_import_hook.

    python bench/bench.py              # full run, plain table on stdout
    python bench/bench.py --markdown   # the same as Markdown, with date and machine

Every timing is the median of repeated runs of a fresh Python process. The script
makes its own virtual environments under bench/.work/ (rusthook from this repository,
the peers from PyPI) and keeps every build cache there too. See bench/README.md for
what each scenario means. Standard library only; runs on any Python >= 3.9.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, TypeVar

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
RUNS = WORK / "runs"  # every scenario's sources and build caches; emptied at start

TOOLS = ("rusthook", "rustimport", "maturin_import_hook")
SCENARIOS = tuple(range(1, 11))
SLOW_RUN = 5.0  # seconds: a run slower than this gets --build-repeat repeats, not --repeat
FIRST_OFFSET = 1000  # the constant in the fixture's function body; edits count up from it

STARTED = time.monotonic()
T = TypeVar("T")


def log(message: str) -> None:
    """Progress goes to stderr; stdout holds only the results."""
    minutes, seconds = divmod(int(time.monotonic() - STARTED), 60)
    print(f"[bench {minutes:02d}:{seconds:02d}] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Fresh processes
# --------------------------------------------------------------------------------------


@dataclass
class Run:
    seconds: float
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def tail(self, lines: int = 15) -> str:
        return "\n".join((self.stderr + self.stdout).strip().splitlines()[-lines:])


def run_timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> Run:
    """Runs one fresh process to completion and times it from start to exit."""
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=str(cwd), env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    return Run(seconds, done.returncode, done.stdout, done.stderr)


def check(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Runs an untimed set-up command; stops the benchmark with its output if it fails."""
    done = subprocess.run(
        cmd, cwd=None if cwd is None else str(cwd), env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        sys.exit(f"bench: command failed: {' '.join(cmd)}\n{done.stdout}\n{done.stderr}")
    return done.stdout


# Variables that would point a tool at another cache, interpreter or target directory.
FOREIGN_ENV = re.compile(
    r"^(RUSTHOOK_|RUSTIMPORT_|MATURIN_|PYO3_|CARGO_TARGET_DIR$|CARGO_BUILD_TARGET_DIR$"
    r"|VIRTUAL_ENV$|CONDA_PREFIX$|PYTHONPATH$|PYTHONHOME$|PYTHONSTARTUP$)"
)


def clean_env(venv: Venv | None = None, **extra: str) -> dict[str, str]:
    """The environment of a timed process: the user's, minus anything that steers a tool,
    plus an activated venv (PATH, VIRTUAL_ENV), offline cargo and caches under .work/."""
    env = {k: v for k, v in os.environ.items() if not FOREIGN_ENV.match(k)}
    if venv is not None:
        env["PATH"] = str(venv.bin) + os.pathsep + env.get("PATH", "")
        env["VIRTUAL_ENV"] = str(venv.path)
    # Dependencies are fetched once before timing; no timed build may wait on the network.
    env["CARGO_NET_OFFLINE"] = "true"
    # Anything that would land in ~/.cache lands in .work/ instead.
    env["XDG_CACHE_HOME"] = str(WORK / "xdg-cache")
    env.update(extra)
    return env


# --------------------------------------------------------------------------------------
# Virtual environments
# --------------------------------------------------------------------------------------


@dataclass
class Venv:
    path: Path

    @property
    def bin(self) -> Path:
        return self.path / ("Scripts" if os.name == "nt" else "bin")

    @property
    def python(self) -> Path:
        return self.bin / ("python.exe" if os.name == "nt" else "python")

    def exists(self) -> bool:
        return self.python.exists()

    def site_packages(self) -> list[Path]:
        return [*self.path.glob("lib/python*/site-packages"), *self.path.glob("Lib/site-packages")]

    def script(self, name: str) -> Path:
        return self.bin / (f"{name}.exe" if os.name == "nt" else name)

    def pip(self, *args: str, env: dict[str, str] | None = None) -> None:
        check([str(self.python), "-m", "pip", "--quiet", *args], env=env)

    def ask(self, code: str) -> str:
        """Output of a small untimed snippet run by this venv's interpreter."""
        return check([str(self.python), "-c", code], env=clean_env(self)).strip()


def pip_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PIP_CACHE_DIR"] = str(WORK / "pip-cache")
    return env


def setup_venvs(tools: list[str], reinstall: bool) -> dict[str, Venv]:
    """One venv per tool, created with the Python running this script."""
    venvs = {}
    for tool in tools:
        venv = Venv(WORK / f"venv-{tool}-py{sys.version_info[0]}.{sys.version_info[1]}")
        if not venv.exists():
            log(f"creating {venv.path.relative_to(REPO)}")
            check([sys.executable, "-m", "venv", str(venv.path)])
            fresh = True
        else:
            fresh = False
        if tool == "rusthook":
            if fresh or reinstall:
                # A release build of this repository. Its own cargo target dir under .work/
                # makes reinstalling after a change incremental (only for this pip build:
                # the timed processes never see CARGO_TARGET_DIR, which rusthook honours).
                log("installing rusthook from the repository (release build, takes minutes)")
                env = pip_env()
                env["CARGO_TARGET_DIR"] = str(WORK / "rusthook-wheel-target")
                venv.pip("install", "--force-reinstall", "--no-deps", str(REPO), env=env)
        elif fresh:
            log(f"installing {tool} from PyPI")
            # maturin_import_hook runs the `maturin` command, which it looks for on PATH.
            packages = {
                "rustimport": ["rustimport"],
                "maturin_import_hook": ["maturin-import-hook", "maturin"],
            }[tool]
            venv.pip("install", *packages, env=pip_env())
        venvs[tool] = venv
    return venvs


# --------------------------------------------------------------------------------------
# The tools and their fixtures
# --------------------------------------------------------------------------------------

# The same functions in every fixture; `{offset}` is the constant a one-line edit changes.
FUNCTIONS = """\
use pyo3::prelude::*;

#[pyfunction]
fn scale(x: i64) -> i64 {{
    x * 2 + {offset}
}}

#[pyfunction]
fn greet(name: &str) -> String {{
    format!("hello {{name}}")
}}
"""

# What rusthook generates for a file without one, written out for the tools that need it.
PYMODULE = """
#[pymodule]
fn {module}(m: &Bound<'_, PyModule>) -> PyResult<()> {{
    m.add_function(wrap_pyfunction!(scale, m)?)?;
    m.add_function(wrap_pyfunction!(greet, m)?)?;
    Ok(())
}}
"""


def expected(offset: int) -> int:
    return 1 * 2 + offset


@dataclass
class Tool:
    name: str
    venv: Venv
    cache_var: str  # the environment variable naming the tool's build cache
    activate: str  # Python code that turns the import hook on (for .rs files)
    hook: str  # the tool's documented default activation, every importer on (6 to 9)
    fixture: Callable[[str, int], str]  # (module, offset) -> the .rs source
    built: Callable[[Run], bool]  # did this run build?


def make_tools(venvs: dict[str, Venv], pyo3: str) -> dict[str, Tool]:
    """pyo3 is rusthook's pyo3 requirement; the peers' fixtures are pinned to the same
    version and abi3 feature, so every tool compiles the same dependencies."""
    pin = f'pyo3 = {{ version = "{pyo3}", features = ["abi3-py39"] }}'

    def rusthook_fixture(module: str, offset: int) -> str:
        # rusthook's pyo3 template: no #[pymodule], the #[pyfunction]s register themselves.
        return "// rusthook:pyo3\n" + FUNCTIONS.format(offset=offset)

    def rustimport_fixture(module: str, offset: int) -> str:
        # rustimport's pyo3 template also generates the #[pymodule]; its own default is an
        # older pyo3 with "extension-module", so the `//:` manifest lines pin rusthook's.
        return (
            "// rustimport:pyo3\n"
            "//: [dependencies]\n"
            f'//: pyo3 = {{ version = "{pyo3}", features = ["abi3-py39", "extension-module"] }}\n'
            + FUNCTIONS.format(offset=offset)
        )

    def maturin_fixture(module: str, offset: int) -> str:
        # maturin_import_hook copies the file into a `maturin new` project as src/lib.rs:
        # it needs a #[pymodule] named like the file.
        return FUNCTIONS.format(offset=offset) + PYMODULE.format(module=module)

    # maturin_import_hook's documented extension point: a subclass of the .rs importer
    # that changes the generated project. Only the pyo3 line of `maturin new`'s
    # Cargo.toml changes; install(enable_project_importer=False) would add the same
    # finder (the project importer is left out: it has nothing to find here).
    maturin_activate = f"""\
import re, sys
from maturin_import_hook.rust_file_importer import MaturinRustFileImporter
class PinnedPyo3(MaturinRustFileImporter):
    def generate_project_for_single_rust_file(self, *args):
        project = super().generate_project_for_single_rust_file(*args)
        manifest = project / "Cargo.toml"
        text, count = re.subn(r"(?m)^pyo3\\s*=.*$", {pin!r}, manifest.read_text())
        assert count == 1, text
        manifest.write_text(text)
        return project
sys.meta_path.insert(0, PinnedPyo3())"""

    cargo_finished = re.compile(r"(?m)^\s+Finished ")
    tools = {
        "rusthook": Tool(
            "rusthook",
            venvs.get("rusthook"),
            "RUSTHOOK_BUILD_DIR",
            "import rusthook; rusthook.install()",
            # The same call: its project importer is on by default.
            "import rusthook; rusthook.install()",
            rusthook_fixture,
            lambda run: "rusthook: building " in run.stderr,
        ),
        "rustimport": Tool(
            "rustimport",
            venvs.get("rustimport"),
            "RUSTIMPORT_CACHE_DIR",
            "import rustimport.import_hook",
            "import rustimport.import_hook",
            rustimport_fixture,
            # rustimport logs nothing by default; cargo's output goes to the process's stderr.
            lambda run: bool(cargo_finished.search(run.stderr)),
        ),
        "maturin_import_hook": Tool(
            "maturin_import_hook",
            venvs.get("maturin_import_hook"),
            "MATURIN_BUILD_DIR",
            maturin_activate,
            # Both of its importers: the .rs file importer and the project importer.
            "import maturin_import_hook; maturin_import_hook.install()",
            maturin_fixture,
            lambda run: 'building "' in run.stderr,
        ),
    }
    return {name: tool for name, tool in tools.items() if name in venvs}


class Project:
    """A source folder with .rs files plus the build cache one tool uses for it."""

    def __init__(self, tool: Tool, src: Path, cache: Path) -> None:
        self.tool = tool
        self.src = src
        self.cache = cache
        self.offsets: dict[str, int] = {}
        src.mkdir(parents=True, exist_ok=True)
        cache.mkdir(parents=True, exist_ok=True)

    def path(self, module: str) -> Path:
        return self.src / f"{module}.rs"

    def write(self, module: str, offset: int) -> None:
        self.path(module).write_text(self.tool.fixture(module, offset))
        self.offsets[module] = offset

    def env(self) -> dict[str, str]:
        return clean_env(self.tool.venv, **{self.tool.cache_var: str(self.cache)})

    def run(self, code: str) -> Run:
        """A fresh `python -c CODE` in the source folder (sys.path[0] is that folder)."""
        return run_timed([str(self.tool.venv.python), "-c", code], self.src, self.env())

    def import_(self, module: str, check_result: bool = True) -> Run:
        code = f"{self.tool.activate}\nimport {module}"
        if check_result:
            want = expected(self.offsets[module])
            code += f"\nassert {module}.scale(1) == {want}, {module}.scale(1)"
        return self.run(code)

    def build(self, module: str) -> None:
        """Untimed: imports the module once (building it) and checks that it works."""
        run = self.import_(module)
        if not run.ok:
            raise BenchError(f"{self.tool.name}: first import of {module} failed:\n{run.tail()}")


class BenchError(Exception):
    pass


# --------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------


@dataclass
class Series:
    """The runs of one tool (or baseline) in one scenario."""

    times: list[float] = field(default_factory=list)
    builds: list[bool] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None  # why the scenario does not apply to this tool ("-")

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times and self.error is None else None

    def add(self, run: Run, built: bool = False) -> bool:
        """Records a run; False (and the error) when it failed."""
        if not run.ok:
            self.error = f"exit code {run.returncode}:\n{run.tail()}"
            return False
        self.times.append(run.seconds)
        self.builds.append(built)
        return True


@dataclass
class Row:
    title: str
    expect_build: bool | None  # True: every run must build; False: none may
    series: dict[str, Series]
    baseline: Series | None = None
    baseline_name: str = ""

    def flag(self, tool: str) -> str:
        s = self.series.get(tool)
        if s is None or s.error or self.expect_build is None:
            return ""
        if self.expect_build is False and any(s.builds):
            return f"rebuilt {sum(s.builds)}/{len(s.builds)}"
        if self.expect_build is True and not all(s.builds):
            return f"no build {s.builds.count(False)}/{len(s.builds)}"
        return ""


def repeat_runs(
    projects: Mapping[str, object],  # only the keys (tool names) matter
    count: Callable[[str, Run | None], int],
    one_run: Callable[[str, int], Run | None],
    series: dict[str, Series],
    label: str,
) -> None:
    """Round-robin over the tools (noise on a shared machine then hits all of them alike):
    round i runs one_run(tool, i) for every tool that still wants a run; count(tool,
    first_run) says how many runs a tool gets once its first run is known."""
    wanted = {tool: count(tool, None) for tool in projects}
    i = 0
    while any(i < n for n in wanted.values()):
        for tool in projects:
            if i >= wanted[tool] or series[tool].error:
                continue
            run = one_run(tool, i)
            if run is None:
                continue
            if i == 0:
                wanted[tool] = count(tool, run)
            note = "" if run.ok else f"  FAILED (exit {run.returncode})"
            log(f"{label} {tool} run {i + 1}/{wanted[tool]}: {fmt_time(run.seconds)}{note}")
        i += 1


def fmt_time(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.1f} s"
    ms = seconds * 1000
    if ms >= 10:
        return f"{ms:.0f} ms"
    if ms >= 1:
        return f"{ms:.1f} ms"
    return f"{ms:.3f} ms"  # the in-process freshness checks of scenario 10


def fmt_ratio(a: float | None, b: float | None) -> str:
    if a is None or b is None or b == 0:
        return "-"
    ratio = a / b
    return f"{ratio:.2f}x" if ratio >= 0.1 else f"{ratio:.2g}x"


# --------------------------------------------------------------------------------------
# Scenarios
# --------------------------------------------------------------------------------------


class Bench:
    def __init__(self, tools: dict[str, Tool], pyo3: str, repeat: int, build_repeat: int) -> None:
        self.tools = tools
        self.pyo3 = pyo3
        self.repeat = repeat
        self.build_repeat = build_repeat
        self.warm: dict[str, Project] = {}  # a project whose `fast` is built, per tool
        self.editables: dict[str, EditableProject] = {}  # installed in the tool's venv
        self.notes: list[str] = []
        self.targets: list[str] = []  # rusthook's figures against their targets

    def repeats(self, first: Run | None) -> int:
        """--repeat runs, or --build-repeat once a first run turns out to be slow."""
        if first is not None and first.ok and first.seconds > SLOW_RUN:
            return self.build_repeat
        return self.repeat

    def warm_project(self, tool: str) -> Project:
        """A project with `fast` built and up to date (built here unless scenario 1 left one)."""
        if tool not in self.warm:
            log(f"preparing a built `fast` for {tool} (untimed)")
            project = Project(
                self.tools[tool], RUNS / "warm" / tool / "src", RUNS / "warm" / tool / "cache"
            )
            project.write("fast", FIRST_OFFSET)
            project.build("fast")
            self.warm[tool] = project
        return self.warm[tool]

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
        series = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}

        def one(tool: str, i: int) -> Run:
            project = Project(
                self.tools[tool], RUNS / "s2-second" / tool / f"run{i}", warm[tool].cache
            )
            project.write("second", FIRST_OFFSET + 7)
            run = project.import_("second")
            series[tool].add(run, self.tools[tool].built(run))
            return run

        repeat_runs(self.tools, lambda t, r: self.build_repeat, one, series, "[2 second module]")
        if "rusthook" in self.tools:
            self.target_time("2. second module, rusthook", series["rusthook"].median, 1.5)
        return Row("2. second module, same cache", True, series)

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
            self.target_ratio(
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
            self.target_ratio(
                "5. one-line edit, rusthook/bare cargo build",
                series["rusthook"].median,
                cargo.median,
                1.2,
            )
        return Row("5. one-line edit", True, series, cargo, "bare incremental `cargo build`")

    # 6 ---------------------------------------------------------------------------------
    def editable(self, tool: str) -> EditableProject:
        """The editable maturin project installed with `pip install -e` into the tool's
        venv, then imported once with the tool's hook, which builds it (untimed)."""
        if tool not in self.editables:
            venv = self.tools[tool].venv
            ensure_maturin(venv, self.maturin_requirement())
            project = EditableProject(self.tools[tool], RUNS / "s6-editable" / tool, self.pyo3)
            log(f"pip install -e of the maturin project into {tool}'s venv (untimed, builds pyo3)")
            project.install()
            self.editables[tool] = project  # from here on, uninstalled again at the end
            log(f"priming: first import of {EDITABLE} with {tool}'s hook (untimed, builds)")
            run = project.import_()
            if not run.ok:
                raise BenchError(f"{tool}: first import of {EDITABLE} failed:\n{run.tail()}")
        return self.editables[tool]

    def maturin_requirement(self) -> str:
        """The maturin already in one of the venvs, so that every venv builds with the same."""
        for tool in self.tools.values():
            if tool.venv.script("maturin").exists():
                code = "import importlib.metadata as m; print(m.version('maturin'))"
                return f"maturin=={tool.venv.ask(code)}"
        return "maturin>=1.9.4,<2"

    def drop_editables(self) -> None:
        """Uninstalls the editable project of scenarios 6 and 7 again: the later scenarios
        time interpreter start and imports, which an extra distribution would change."""
        for tool in list(self.editables):
            uninstall_editable(self.tools[tool].venv)
            del self.editables[tool]

    def only(self, applicable: Iterable[str], why_not: str) -> tuple[list[str], dict[str, Series]]:
        """The tools a scenario applies to, and a series per tool in which the others say
        why not (shown as "-")."""
        series = {tool: Series() for tool in self.tools}
        tools = []
        for tool in self.tools:
            if tool in applicable:
                tools.append(tool)
            else:
                series[tool].skipped = why_not
        if not tools:
            raise BenchError(f"needs one of {', '.join(applicable)}")
        return tools, series

    def prepare(
        self, tools: list[str], series: dict[str, Series], step: Callable[[str], T]
    ) -> dict[str, T]:
        """step(tool) for each tool (its untimed set-up); a tool whose set-up fails is
        marked failed and left out, so that the others still run."""
        done = {}
        for tool in list(tools):
            try:
                done[tool] = step(tool)
            except BenchError as error:
                log(f"{tool}: set-up failed: {error}")
                series[tool].error = f"set-up failed: {error}"
                tools.remove(tool)
        if not tools:
            raise BenchError("no tool could be set up")
        return done

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
            self.target_ratio(
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

    def target_time(self, label: str, mine: float | None, limit: float) -> None:
        if mine is None:
            self.targets.append(f"{label}: no figure (a series failed)")
            return
        verdict = "met" if mine <= limit else "MISSED"
        self.targets.append(f"{label}: {fmt_time(mine)} (target <= {fmt_time(limit)}): {verdict}")

    def target_ratio(self, label: str, mine: float | None, base: float | None, limit: float):
        ratio = None if mine is None or not base else mine / base
        if ratio is None:
            self.targets.append(f"{label}: no figure (a series failed)")
            return
        verdict = "met" if ratio <= limit else "MISSED"
        self.targets.append(f"{label}: {ratio:.3f}x (target <= {limit:.2f}x): {verdict}")


class CargoCrate:
    """A plain cdylib crate with the pyo3 dependency and the fixture's source: the
    reference for what an incremental build costs without any import hook."""

    def __init__(self, root: Path, venv: Venv, pyo3: str, name: str = "fast") -> None:
        self.root = root
        self.venv = venv
        self.name = name
        (root / "src").mkdir(parents=True, exist_ok=True)
        (root / "Cargo.toml").write_text(CARGO_TOML.format(pyo3=pyo3, name=name, features=ABI3))
        self.write(FIRST_OFFSET)

    def write(self, offset: int) -> None:
        source = FUNCTIONS.format(offset=offset) + PYMODULE.format(module=self.name)
        (self.root / "src" / "lib.rs").write_text(source)

    def build(self) -> Run:
        # What the hooks set for cargo: the interpreter, and "this is an extension module".
        env = clean_env(
            self.venv, PYO3_PYTHON=str(self.venv.python), PYO3_BUILD_EXTENSION_MODULE="1"
        )
        return run_timed(["cargo", "build", "--lib"], self.root, env)


# The features line is a TOML list body, e.g. `"abi3-py39"`.
ABI3 = '"abi3-py39"'

CARGO_TOML = """\
[package]
name = "{name}"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
pyo3 = {{ version = "{pyo3}", features = [{features}] }}

[workspace]
"""


# --------------------------------------------------------------------------------------
# Fixtures of scenarios 6 to 10
# --------------------------------------------------------------------------------------

PROJECT_TOOLS = ("rusthook", "maturin_import_hook")  # importers of editable maturin projects
NO_PROJECT_IMPORTER = "it has no importer for editable maturin projects"
SITE_TOOLS = {"rusthook": "rusthook", "maturin_import_hook": "maturin_import_hook"}  # -m CLI
CRATE_TOOLS = ("rusthook", "rustimport")  # importers of marked crate folders
NO_CRATES = "it does not import marked crate folders"

EDITABLE = "benchproj"  # the editable maturin project of scenarios 6 and 7

PYPROJECT = """\
[build-system]
requires = ["maturin>=1.9.4,<2"]
build-backend = "maturin"

[project]
name = "{name}"
version = "0.1.0"
requires-python = ">=3.9"

[tool.maturin]
editable-profile = "dev"
"""


class EditableProject:
    """A pure-layout pyo3 maturin project (pyproject.toml, Cargo.toml, src/lib.rs with
    the fixture's functions and #[pymodule]) installed with `pip install -e` into one
    tool's venv."""

    def __init__(self, tool: Tool, base: Path, pyo3: str) -> None:
        self.tool = tool
        self.root = base / EDITABLE
        self.cache = base / "cache"
        self.cwd = base / "cwd"  # an empty folder, so nothing in it shadows the project
        for folder in (self.root / "src", self.cache, self.cwd):
            folder.mkdir(parents=True, exist_ok=True)
        (self.root / "pyproject.toml").write_text(PYPROJECT.format(name=EDITABLE))
        (self.root / "Cargo.toml").write_text(
            CARGO_TOML.format(pyo3=pyo3, name=EDITABLE, features=ABI3)
        )
        self.write(FIRST_OFFSET)

    def write(self, offset: int) -> None:
        source = FUNCTIONS.format(offset=offset) + PYMODULE.format(module=EDITABLE)
        (self.root / "src" / "lib.rs").write_text(source)
        self.offset = offset

    def env(self) -> dict[str, str]:
        # `maturin develop` (maturin_import_hook's rebuild) runs pip: no version check.
        return clean_env(
            self.tool.venv,
            **{self.tool.cache_var: str(self.cache)},
            PIP_DISABLE_PIP_VERSION_CHECK="1",
        )

    def install(self) -> None:
        uninstall_editable(self.tool.venv)
        env = self.env()
        env["PIP_CACHE_DIR"] = str(WORK / "pip-cache")
        python = str(self.tool.venv.python)
        pip = [python, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps"]
        done = subprocess.run(
            [*pip, "--no-index", "-e", str(self.root)], env=env, capture_output=True, text=True
        )
        if done.returncode != 0:
            output = (done.stdout + done.stderr).strip().splitlines()
            raise BenchError("pip install -e failed:\n" + "\n".join(output[-15:]))

    def import_(self, hook: bool = True, check_result: bool = True) -> Run:
        code = (f"{self.tool.hook}\n" if hook else "") + f"import {EDITABLE}"
        if check_result:
            code += f"\nassert {EDITABLE}.scale(1) == {expected(self.offset)}, {EDITABLE}.scale(1)"
        return run_timed([str(self.tool.venv.python), "-c", code], self.cwd, self.env())


def ensure_maturin(venv: Venv, requirement: str) -> None:
    """`pip install -e --no-build-isolation` builds with the venv's own maturin."""
    if not venv.script("maturin").exists():
        log(f"installing {requirement} into {venv.path.name}")
        venv.pip("install", requirement, env=pip_env())


def uninstall_editable(venv: Venv) -> None:
    subprocess.run(
        [str(venv.python), "-m", "pip", "uninstall", "--yes", "--quiet", EDITABLE],
        env=clean_env(venv, PIP_DISABLE_PIP_VERSION_CHECK="1"),
        capture_output=True,
    )


def cleanup_leftovers(venvs: dict[str, Venv]) -> None:
    """What an interrupted earlier run may have left in the venvs: the editable project
    of scenarios 6 and 7, and the activation at interpreter start of scenario 9."""
    for tool, venv in venvs.items():
        folders = venv.site_packages()
        if any(any(f.glob(f"{EDITABLE}-*.dist-info")) for f in folders):
            log(f"removing a leftover {EDITABLE} from {venv.path.name}")
            uninstall_editable(venv)
        leftover = any((f / "rusthook_activate.pth").exists() for f in folders) or any(
            (f / "sitecustomize.py").exists()
            and "<maturin_import_hook>" in (f / "sitecustomize.py").read_text(errors="replace")
            for f in folders
        )
        if leftover and tool in SITE_TOOLS:
            log(f"removing a leftover `site install` from {venv.path.name}")
            check([str(venv.python), "-m", SITE_TOOLS[tool], "site", "uninstall"])


# Scenario 8: 117 stdlib modules, fixed. Chosen once from sys.stdlib_module_names: public
# names that CPython 3.9 to 3.13 all have and import without a warning, on every platform,
# that no interpreter start (nor rusthook's activation) imports already, that are not
# built into the interpreter (a built-in never reaches a path hook), minus a few heavy
# packages (asyncio, multiprocessing, unittest, pydoc, ...) and a few that almost every
# other module imports first (re, functools, enum, ...) or that need an optional system
# library (ssl, ctypes, lzma, bz2, pyexpat).
STDLIB_117 = (
    "argparse array ast base64 bdb binascii bisect calendar cmath cmd code codeop colorsys "
    "compileall concurrent configparser contextvars copy csv dataclasses datetime decimal "
    "difflib dis email filecmp fileinput fnmatch fractions ftplib getopt gettext glob "
    "graphlib gzip hashlib heapq hmac html http imaplib importlib inspect ipaddress json "
    "locale logging mailbox math mimetypes mmap modulefinder netrc ntpath nturl2path numbers "
    "opcode optparse pathlib pickle pickletools pkgutil platform plistlib poplib pprint "
    "profile pstats py_compile pyclbr queue quopri random rlcompleter runpy sched secrets "
    "select selectors shelve shlex shutil signal smtplib socket socketserver statistics "
    "string stringprep struct subprocess symtable sysconfig tabnanny tarfile tempfile "
    "textwrap threading timeit token tokenize trace traceback tracemalloc typing unicodedata "
    "urllib uuid wave weakref wsgiref xml xmlrpc zipapp zipfile zlib zoneinfo"
).split()
assert len(STDLIB_117) == len(set(STDLIB_117)) == 117

# The child of scenario 8. It imports nothing the list holds before the timed window
# (sys and time are imported by every interpreter start).
STDLIB_CHILD = """\
import sys, time
{activate}
{prepend}
names = {names!r}
before = sum(name in sys.modules for name in names)
start = time.perf_counter()
for name in names:
    __import__(name)
elapsed = time.perf_counter() - start
print("BENCH", repr(elapsed), before)
"""


def make_crowd(folder: Path) -> None:
    """600 files, half .py and half .txt, whose names match no module imported."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(600):
        suffix = ".py" if i % 2 == 0 else ".txt"
        (folder / f"crowd_{i:03d}{suffix}").write_text(f"# unrelated file {i}\n")


def child_report(run: Run) -> list[float] | None:
    """The numbers a child printed on its `BENCH ...` line; None when it printed none."""
    for line in reversed(run.stdout.splitlines()):
        if line.startswith("BENCH "):
            return [float(x) for x in line.split()[1:]]
    return None


# Scenario 10: a marked crate of BIG_FILES source files, each `pub fn fN() -> i64 { N }`.
BIG = "big"
BIG_FILES = 1000
BIG_SUM = sum(range(BIG_FILES))
CHECK_CALLS = 25  # freshness checks per process


def write_big_crate(crate: Path, pyo3: str, tool: str) -> None:
    """The crate folder each tool's documentation asks for: rusthook's `.rusthook` marker,
    rustimport's `.rustimport` marker (plus its `extension-module` feature, as in its
    fixture above). The same sources for both."""
    features = ["abi3-py39"] + (["extension-module"] if tool == "rustimport" else [])
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / f".{tool}").write_text("")
    (crate / "Cargo.toml").write_text(
        CARGO_TOML.format(name=BIG, pyo3=pyo3, features=", ".join(f'"{f}"' for f in features))
    )
    modules = "".join(f"pub mod m{i};\n" for i in range(BIG_FILES))
    functions = ", ".join(f"m{i}::f{i}" for i in range(BIG_FILES))
    (crate / "src" / "lib.rs").write_text(
        "use pyo3::prelude::*;\n\n"
        f"{modules}\n"
        "#[pyfunction]\n"
        "fn count() -> i64 {\n"
        f"    let all: [fn() -> i64; {BIG_FILES}] = [{functions}];\n"
        "    all.iter().map(|f| f()).sum()\n"
        "}\n\n"
        "#[pymodule]\n"
        f"fn {BIG}(m: &Bound<'_, PyModule>) -> PyResult<()> {{\n"
        "    m.add_function(wrap_pyfunction!(count, m)?)?;\n"
        "    Ok(())\n"
        "}\n"
    )
    for i in range(BIG_FILES):
        (crate / "src" / f"m{i}.rs").write_text(f"pub fn f{i}() -> i64 {{\n    {i}\n}}\n")


# The freshness check alone, as each tool's import hook does it: rusthook's one call into
# its core (find the source, check the build record); rustimport's finder and loader
# steps (find the importable, compare the checksum of its sources).
CHECK_CHILD = {
    "rusthook": """\
import sys, time
import rusthook
from rusthook import _core
settings = rusthook.install().settings
times = []
for _ in range({calls}):
    start = time.perf_counter()
    found = _core.find_and_build({name!r}, sys.path, settings)
    times.append(time.perf_counter() - start)
assert found is not None
print("BENCH", *map(repr, times))
""",
    "rustimport": """\
import sys, time
import rustimport.import_hook
from rustimport.find import find_module_importable
from rustimport.importable import should_rebuild
times = []
for _ in range({calls}):
    start = time.perf_counter()
    stale = should_rebuild(find_module_importable({name!r}, opt_in=True))
    times.append(time.perf_counter() - start)
assert not stale
print("BENCH", *map(repr, times))
""",
}


# --------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------


def table(rows: list[Row], tools: list[str], markdown: bool) -> str:
    peers = [t for t in tools if t != "rusthook"]
    header = ["scenario", "runs", *tools, "baseline"]
    if "rusthook" in tools:
        header += [f"rusthook/{p}" for p in peers] + ["rusthook/baseline"]
    lines = []
    for row in rows:
        counts = ("-" if row.series[t].skipped else str(len(row.series[t].times)) for t in tools)
        cells = [row.title, "/".join(counts)]
        for tool in tools:
            s = row.series[tool]
            cell = "failed" if s.error else fmt_time(s.median)
            flag = row.flag(tool)
            cells.append(f"{cell} ({flag})" if flag else cell)
        base = row.baseline.median if row.baseline else None
        cells.append(fmt_time(base))
        if "rusthook" in tools:
            mine = row.series["rusthook"].median
            cells += [fmt_ratio(mine, row.series[p].median) for p in peers]
            cells.append(fmt_ratio(mine, base))
        lines.append(cells)
    if markdown:
        out = [
            "| " + " | ".join(header) + " |",
            "|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|",
        ]
        out += ["| " + " | ".join(cells) + " |" for cells in lines]
        return "\n".join(out)
    widths = [max(len(r[i]) for r in [header, *lines]) for i in range(len(header))]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths))
        )

    return "\n".join([fmt(header), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def footnote(rows: list[Row]) -> str:
    """What each row's numbers and baseline are."""
    baselines: dict[str, str] = {}
    for row in rows:
        if row.baseline is not None:
            baselines.setdefault(row.title.split(".")[0], row.baseline_name)
    text = (
        "Medians of fresh-process runs, each timed from start to exit; rows marked "
        "in-process show the median of times measured inside each process instead. "
        '"runs" counts the runs (processes) per tool; "-" means the tool has no such feature.'
    )
    if baselines:
        text += " Baselines: " + "; ".join(f"{k}. {v}" for k, v in baselines.items()) + "."
    return text


def details(rows: list[Row], tools: list[str]) -> list[str]:
    """Min / median / max of every series, baselines, and every failure."""
    out = []
    for row in rows:
        named = [(t, row.series[t]) for t in tools]
        if row.baseline is not None:
            named.append((f"baseline: {row.baseline_name}", row.baseline))
        for name, s in named:
            if s.skipped:
                out.append(f"{row.title} / {name}: not applicable, {s.skipped}")
            elif s.error:
                out.append(f"{row.title} / {name}: FAILED, {s.error}")
            elif s.times:
                out.append(
                    f"{row.title} / {name}: n={len(s.times)}, median {fmt_time(s.median)}, "
                    f"min {fmt_time(min(s.times))}, max {fmt_time(max(s.times))}"
                    f", builds {sum(s.builds)}/{len(s.builds)}"
                )
    return out


def machine(tools: dict[str, Tool]) -> list[str]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    rustc = check(["rustc", "-V"]).strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    versions = []
    dists = {
        "rusthook": "rusthook",
        "rustimport": "rustimport",
        "maturin_import_hook": "maturin-import-hook",
    }
    for name, tool in tools.items():
        code = f"import importlib.metadata as m; print(m.version({dists[name]!r}))"
        versions.append(f"{name} {tool.venv.ask(code)}")
        if name == "maturin_import_hook":
            versions.append(f"maturin {tool.venv.ask(code.replace(dists[name], 'maturin'))}")
    commit = subprocess.run(
        ["git", "-C", str(REPO), "describe", "--always", "--dirty"], capture_output=True, text=True
    ).stdout.strip()
    return [
        f"date: {datetime.datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"machine: {cores} cores (nproc), {cpu}, {platform.system()} {platform.release()}, "
        f"load average at start {load}",
        f"python: {platform.python_implementation()} {platform.python_version()}",
        f"rust: {rustc}",
        f"tools: {', '.join(versions)}; rusthook at commit {commit or '?'}",
    ]


# --------------------------------------------------------------------------------------


def prefetch(venv: Venv, pyo3: str) -> None:
    """Downloads pyo3 and its dependencies into cargo's registry (not timed), so that the
    timed builds, which run with CARGO_NET_OFFLINE, only compile."""
    crate = RUNS / "prefetch"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    (crate / "Cargo.toml").write_text(CARGO_TOML.format(pyo3=pyo3, name="fast", features=ABI3))
    (crate / "src" / "lib.rs").write_text("")
    env = clean_env(venv)
    del env["CARGO_NET_OFFLINE"]
    done = subprocess.run(
        ["cargo", "fetch"], cwd=str(crate), env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        log(f"cargo fetch failed (builds will use what the registry holds):\n{done.stderr.strip()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--repeat",
        type=int,
        default=7,
        metavar="N",
        help="runs per cheap scenario (3, 7 and 10 do 2N+1, 8 and 9 do 4N+1); default 7",
    )
    parser.add_argument(
        "--build-repeat",
        type=int,
        default=3,
        metavar="N",
        help=f"runs of a scenario that builds from scratch, or whose runs take over "
        f"{SLOW_RUN:.0f} s; default 3",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the table as Markdown, with date and machine"
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(map(str, SCENARIOS)),
        help="which scenarios, e.g. 3,4 (default: all, 1 to 10)",
    )
    parser.add_argument(
        "--tools",
        default=",".join(TOOLS),
        help=f"which tools, rusthook first (default {','.join(TOOLS)})",
    )
    parser.add_argument(
        "--no-reinstall",
        action="store_true",
        help="keep the rusthook already installed in bench/.work/ "
        "(default: reinstall it from the repository)",
    )
    args = parser.parse_args()
    if args.repeat < 1 or args.build_repeat < 1:
        parser.error("repeats must be at least 1")
    tool_names = [t.strip() for t in args.tools.split(",") if t.strip()]
    unknown = set(tool_names) - set(TOOLS)
    if unknown or not tool_names:
        parser.error(f"unknown tools {sorted(unknown)}; choose from {', '.join(TOOLS)}")
    scenarios = sorted({int(s) for s in args.scenarios.split(",") if s.strip()})
    if not set(scenarios) <= set(SCENARIOS):
        parser.error(f"scenarios are {SCENARIOS[0]} to {SCENARIOS[-1]}")
    for program in ("cargo", "rustc"):
        if shutil.which(program) is None:
            sys.exit(f"bench: `{program}` is not on PATH")

    WORK.mkdir(exist_ok=True)
    if RUNS.exists():
        shutil.rmtree(RUNS)
    RUNS.mkdir()
    venvs = setup_venvs(tool_names, reinstall=not args.no_reinstall)
    cleanup_leftovers(venvs)
    some_venv = next(iter(venvs.values()))
    pyo3 = "0.30"
    if "rusthook" in venvs:
        pyo3 = venvs["rusthook"].ask("import rusthook._core as c; print(c.PYO3_REQUIREMENT)")
    log(f"fetching pyo3 {pyo3} into cargo's registry (untimed)")
    prefetch(some_venv, pyo3)

    tools = make_tools(venvs, pyo3)
    bench = Bench(tools, pyo3, args.repeat, args.build_repeat)
    steps: dict[int, Callable[[], Row | list[Row]]] = {
        1: bench.first_import,
        2: bench.second_module,
        3: bench.up_to_date,
        4: bench.touch,
        5: bench.edit,
        6: bench.project_edit,
        7: bench.project_up_to_date,
        8: bench.stdlib_imports,
        9: bench.site_startup,
        10: bench.crate_check,
    }
    rows: list[Row] = []
    try:
        for number in scenarios:
            log(f"scenario {number}: {' '.join((steps[number].__doc__ or '').split())}")
            try:
                result = steps[number]()
            except BenchError as error:
                log(f"scenario {number} could not run: {error}")
                bench.notes.append(f"scenario {number} could not run: {error}")
                continue
            rows.extend(result if isinstance(result, list) else [result])
    finally:
        bench.drop_editables()  # the venvs are left as setup_venvs made them
    log("done")

    names = list(tools)
    if args.markdown:
        print("\n".join(f"- {line}" for line in machine(tools)))
        print()
        print(table(rows, names, markdown=True))
        print()
        print(footnote(rows))
        print()
        if bench.targets:
            print("Targets:\n")
            print("\n".join(f"- {line}" for line in bench.targets))
            print()
        print("<details><summary>all series</summary>\n")
        for line in details(rows, names) + bench.notes:
            print(f"- {line}".replace("\n", "\n  "))
        print("\n</details>")
    else:
        print("\n".join(machine(tools)))
        print()
        print(table(rows, names, markdown=False))
        print()
        print(footnote(rows))
        print()
        if bench.targets:
            print("Targets:")
            print("\n".join(f"  {line}" for line in bench.targets))
            print()
        for line in details(rows, names) + bench.notes:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
