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
import datetime
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
RUNS = WORK / "runs"  # every scenario's sources and build caches; emptied at start

TOOLS = ("rusthook", "rustimport", "maturin_import_hook")
SLOW_RUN = 5.0  # seconds: a run slower than this gets --build-repeat repeats, not --repeat
FIRST_OFFSET = 1000  # the constant in the fixture's function body; edits count up from it

STARTED = time.monotonic()


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
    activate: str  # Python code that turns the import hook on
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
            rusthook_fixture,
            lambda run: "rusthook: building " in run.stderr,
        ),
        "rustimport": Tool(
            "rustimport",
            venvs.get("rustimport"),
            "RUSTIMPORT_CACHE_DIR",
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
    projects: dict[str, object],  # only the keys (tool names) matter
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
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    return f"{seconds:.1f} s"


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
        self.notes: list[str] = []

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
        return Row("5. one-line edit", True, series, cargo, "bare incremental `cargo build`")


class CargoCrate:
    """A plain cdylib crate with the pyo3 dependency and the fixture's source: the
    reference for what an incremental build costs without any import hook."""

    def __init__(self, root: Path, venv: Venv, pyo3: str) -> None:
        self.root = root
        self.venv = venv
        (root / "src").mkdir(parents=True, exist_ok=True)
        (root / "Cargo.toml").write_text(CARGO_TOML.format(pyo3=pyo3))
        self.write(FIRST_OFFSET)

    def write(self, offset: int) -> None:
        source = FUNCTIONS.format(offset=offset) + PYMODULE.format(module="fast")
        (self.root / "src" / "lib.rs").write_text(source)

    def build(self) -> Run:
        # What the hooks set for cargo: the interpreter, and "this is an extension module".
        env = clean_env(
            self.venv, PYO3_PYTHON=str(self.venv.python), PYO3_BUILD_EXTENSION_MODULE="1"
        )
        return run_timed(["cargo", "build", "--lib"], self.root, env)


CARGO_TOML = """\
[package]
name = "fast"
version = "0.1.0"
edition = "2021"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
pyo3 = {{ version = "{pyo3}", features = ["abi3-py39"] }}

[workspace]
"""


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
        cells = [row.title, "/".join(str(len(row.series[t].times)) for t in tools)]
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


def details(rows: list[Row], tools: list[str]) -> list[str]:
    """Min / median / max of every series, baselines, and every failure."""
    out = []
    for row in rows:
        named = [(t, row.series[t]) for t in tools]
        if row.baseline is not None:
            named.append((f"baseline: {row.baseline_name}", row.baseline))
        for name, s in named:
            if s.error:
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
    (crate / "Cargo.toml").write_text(CARGO_TOML.format(pyo3=pyo3))
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
        help="runs per cheap scenario (scenario 3 does 2N+1); default 7",
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
    parser.add_argument("--scenarios", default="1,2,3,4,5", help="which scenarios, e.g. 3,4")
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
    if not set(scenarios) <= {1, 2, 3, 4, 5}:
        parser.error("scenarios are 1 to 5")
    for program in ("cargo", "rustc"):
        if shutil.which(program) is None:
            sys.exit(f"bench: `{program}` is not on PATH")

    WORK.mkdir(exist_ok=True)
    if RUNS.exists():
        shutil.rmtree(RUNS)
    RUNS.mkdir()
    venvs = setup_venvs(tool_names, reinstall=not args.no_reinstall)
    some_venv = next(iter(venvs.values()))
    pyo3 = "0.30"
    if "rusthook" in venvs:
        pyo3 = venvs["rusthook"].ask("import rusthook._core as c; print(c.PYO3_REQUIREMENT)")
    log(f"fetching pyo3 {pyo3} into cargo's registry (untimed)")
    prefetch(some_venv, pyo3)

    tools = make_tools(venvs, pyo3)
    bench = Bench(tools, pyo3, args.repeat, args.build_repeat)
    steps = {
        1: bench.first_import,
        2: bench.second_module,
        3: bench.up_to_date,
        4: bench.touch,
        5: bench.edit,
    }
    rows = []
    for number in scenarios:
        log(f"scenario {number}: {' '.join(steps[number].__doc__.split())}")
        try:
            rows.append(steps[number]())
        except BenchError as error:
            log(f"scenario {number} could not run: {error}")
            bench.notes.append(f"scenario {number} could not run: {error}")
    log("done")

    names = list(tools)
    if args.markdown:
        print("\n".join(f"- {line}" for line in machine(tools)))
        print()
        print(table(rows, names, markdown=True))
        print()
        print(
            "Medians of fresh-process runs. Baseline: scenario 3, a bare `import fast` of the same "
            "library with no hook; scenario 5, a bare incremental `cargo build` of an equivalent "
            'crate. "runs" counts the runs per tool.'
        )
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
        for line in details(rows, names) + bench.notes:
            print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
