"""The sources and projects each tool builds, for bench.py.

The same pyo3 functions for every tool, in the form each tool's documentation asks for
(`Tool`, `make_tools`), and what the scenarios build from them: a folder of .rs files
with its build cache (`Project`), the plain cargo crate of the baselines (`CargoCrate`),
the editable maturin project (`EditableProject`), the stdlib imports of scenario 8, the
1,000-file crate of scenario 10, and the untimed set-up the scenarios share (`Fixtures`).
Standard library only.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

from harness import (
    RUNS,
    WORK,
    BenchError,
    Run,
    Series,
    Venv,
    check,
    clean_env,
    log,
    pip_env,
    run_timed,
)

FIRST_OFFSET = 1000  # the constant in the fixture's function body; edits count up from it

T = TypeVar("T")


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
    # (cache variable, activation, documented activation, fixture, did it build?)
    specs: dict[str, tuple[str, str, str, Callable[[str, int], str], Callable[[Run], bool]]] = {
        "rusthook": (
            "RUSTHOOK_BUILD_DIR",
            "import rusthook; rusthook.install()",
            # The same call: its project importer is on by default.
            "import rusthook; rusthook.install()",
            rusthook_fixture,
            lambda run: "rusthook: building " in run.stderr,
        ),
        "rustimport": (
            "RUSTIMPORT_CACHE_DIR",
            "import rustimport.import_hook",
            "import rustimport.import_hook",
            rustimport_fixture,
            # rustimport logs nothing by default; cargo's output goes to the process's stderr.
            lambda run: bool(cargo_finished.search(run.stderr)),
        ),
        "maturin_import_hook": (
            "MATURIN_BUILD_DIR",
            maturin_activate,
            # Both of its importers: the .rs file importer and the project importer.
            "import maturin_import_hook; maturin_import_hook.install()",
            maturin_fixture,
            lambda run: 'building "' in run.stderr,
        ),
    }
    return {name: Tool(name, venvs[name], *spec) for name, spec in specs.items() if name in venvs}


class Project:
    """A source folder with .rs files plus the build cache one tool uses for it."""

    def __init__(
        self, tool: Tool, src: Path, cache: Path, extra_env: dict[str, str] | None = None
    ) -> None:
        self.tool = tool
        self.src = src
        self.cache = cache
        self.extra_env = extra_env or {}  # e.g. RUSTC_WRAPPER for scenario 14
        self.offsets: dict[str, int] = {}
        src.mkdir(parents=True, exist_ok=True)
        cache.mkdir(parents=True, exist_ok=True)

    def path(self, module: str) -> Path:
        return self.src / f"{module}.rs"

    def write(self, module: str, offset: int) -> None:
        self.path(module).write_text(self.tool.fixture(module, offset))
        self.offsets[module] = offset

    def env(self) -> dict[str, str]:
        return clean_env(self.tool.venv, **{self.tool.cache_var: str(self.cache)}, **self.extra_env)

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
# Set-up shared by the scenarios
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


class Fixtures:
    """The untimed set-up the scenarios share: per tool, a project whose `fast` is built
    and up to date and the editable project installed in the tool's venv; which tools a
    scenario applies to, and each one's set-up. The scenarios' `Bench` builds on it."""

    def __init__(self, tools: dict[str, Tool], pyo3: str) -> None:
        self.tools = tools
        self.pyo3 = pyo3
        self.warm: dict[str, Project] = {}  # a project whose `fast` is built, per tool
        self.editables: dict[str, EditableProject] = {}  # installed in the tool's venv

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
