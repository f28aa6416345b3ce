"""Fresh processes and their timing, for bench.py.

Runs the untimed set-up commands and the timed child processes (each in a clean
environment), makes each tool's virtual environment under bench/.work/, and holds the
results of repeated runs (`Series`, `Row`) and the round-robin that repeats them.
Standard library only.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
WORK = BENCH / ".work"
RUNS = WORK / "runs"  # every scenario's sources and build caches; emptied at start

SLOW_RUN = 5.0  # seconds: a run slower than this gets --build-repeat repeats, not --repeat

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
    r"|VIRTUAL_ENV$|CONDA_PREFIX$|PYTHONPATH$|PYTHONHOME$|PYTHONSTARTUP$"
    r"|RUSTC_WRAPPER$|RUSTC_WORKSPACE_WRAPPER$|SCCACHE_)"
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
