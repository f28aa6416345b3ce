"""Shared fixtures and helpers for the end-to-end tests.

Every scenario runs in a fresh interpreter (a subprocess of this one), builds real
crates with the real cargo and imports them. All tests share one build cache, so
pyo3 compiles once per test run: sources live in per-test folders, and the cache
keys every module on its absolute source path, so tests never see each other's builds.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

EXT_SUFFIX = __import__("importlib.machinery").machinery.EXTENSION_SUFFIXES[0]
# This interpreter's partition of the build cache (module records and libraries), and
# the partition where every CPython's stable-ABI (abi3) builds compile: the pyo3
# template's dependencies are in `<build dir>/STABLE_ABI_TAG/target`.
# macOS tags name no architecture (`cpython-311-darwin`): rusthook adds Rust's name of it.
ABI_TAG = EXT_SUFFIX.strip(".").removesuffix(".so").removesuffix(".pyd")
if sys.platform == "darwin":
    ABI_TAG += "-" + {"arm64": "aarch64"}.get(os.uname().machine, os.uname().machine)
# `cp311-win_amd64` on Windows, `cpython-311-x86_64-linux-gnu` elsewhere.
STABLE_ABI_TAG = "cpython-abi3-" + ABI_TAG.split("-", 1 if os.name == "nt" else 2)[-1]
# The last suffix of an extension module's file (`.so`; `.pyd` on Windows), a stable-ABI
# one's whole suffix, and a C-ABI library's (cffi modules keep the platform's own).
EXTENSION_END = ".pyd" if os.name == "nt" else ".so"
ABI3_SUFFIX = ".pyd" if os.name == "nt" else ".abi3.so"
LIBRARY_SUFFIX = {"win32": ".dll", "darwin": ".dylib"}.get(sys.platform, ".so")


def venv_python(venv: Path) -> Path:
    """A virtual environment's interpreter, where the platform puts it."""
    return venv / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked for platforms this is not are skipped, saying which they need."""
    for item in items:
        if item.get_closest_marker("linux_only") and not sys.platform.startswith("linux"):
            item.add_marker(pytest.mark.skip(reason="Linux only (see its marker in pyproject)"))
        elif item.get_closest_marker("unix_only") and os.name == "nt":
            item.add_marker(pytest.mark.skip(reason="Unix only (see its marker in pyproject)"))


def template_target(build_dir: Path) -> Path:
    """The target directory where the pyo3 template's dependencies are compiled."""
    return build_dir / STABLE_ABI_TAG / "target"


@contextlib.contextmanager
def tmpfs(folder: Path, size: str, why: str) -> Iterator[Path]:
    """A tmpfs of `size` mounted on `folder` (made here) for the test's duration: a disk
    the test can fill or make read-only. Needs root (CI runs as root); without it the
    test fails saying `why` it needs one, rather than skip."""
    folder.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(folder)],
        capture_output=True,
        text=True,
    )
    if mounted.returncode != 0:
        pytest.fail(f"cannot mount a tmpfs for {why} ({mounted.stderr.strip()}); it needs root")
    try:
        yield folder
    finally:
        # Lazily: a build the test started may still hold a file open for a moment.
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


# A module that needs no #[pymodule]: the pyo3 template generates one.
DOUBLE_RS = """\
// rusthook:pyo3
use pyo3::prelude::*;

#[pyfunction]
fn double(x: i64) -> i64 {
    x * 2
}
"""


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def built(self) -> bool:
        """True when rusthook ran a build in this process (its INFO log line)."""
        return "rusthook: building " in self.stderr


@pytest.fixture(scope="session")
def build_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One build cache for the whole session (set RUSTHOOK_TEST_BUILD_DIR to keep it
    between runs while developing)."""
    kept = os.environ.get("RUSTHOOK_TEST_BUILD_DIR")
    if kept:
        Path(kept).mkdir(parents=True, exist_ok=True)
        return Path(kept)
    return tmp_path_factory.mktemp("build-cache")


@pytest.fixture
def project(tmp_path: Path, build_dir: Path) -> Project:
    return Project(tmp_path / "project", build_dir)


class Project:
    """A folder of sources plus a way to run Python in it."""

    def __init__(self, root: Path, build_dir: Path) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self.build_dir = build_dir

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("RUSTHOOK_") or k == "RUSTHOOK_TEST_BUILD_DIR"
        }
        env["RUSTHOOK_BUILD_DIR"] = str(self.build_dir)
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.update(extra)
        return env

    def run(
        self,
        code: str,
        *,
        check: bool = True,
        env: dict[str, str] | None = None,
        cwd: Path | None = None,
        timeout: float = 600,
    ) -> Run:
        """Runs `code` in a fresh interpreter with the project folder as working directory."""
        completed = subprocess.run(
            [sys.executable, "-c", textwrap.dedent(code)],
            cwd=cwd or self.root,
            env=env or self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        run = Run(completed.returncode, completed.stdout, completed.stderr)
        if check and run.returncode != 0:
            raise AssertionError(
                f"python exited with {run.returncode}\n--- stdout\n{run.stdout}\n--- stderr\n{run.stderr}"
            )
        return run

    def hook_import(self, statement: str, **kwargs: object) -> Run:
        """Installs the hook, then runs `statement` (which prints what the test checks)."""
        return self.run(f"import rusthook\nrusthook.install()\n{statement}", **kwargs)  # type: ignore[arg-type]


def stalling_rustc_wrapper(project: Project, crate_prefix: str, seconds: int) -> tuple[Path, Path]:
    """A RUSTC_WRAPPER that writes its pid to a file and sleeps before compiling the
    crate whose name starts with `crate_prefix`: a build that is reliably slow."""
    pid_file = project.root / "wrapper.pid"
    wrapper = project.write(
        "wrapper.sh",
        f"""\
        #!/bin/sh
        case "$*" in
          *"--crate-name {crate_prefix}"*) echo $$ > {pid_file}; sleep {seconds} ;;
        esac
        exec "$@"
        """,
    )
    wrapper.chmod(0o755)
    return wrapper, pid_file


def start(project: Project, code: str, **env: str) -> subprocess.Popen[str]:
    """`python -c code` in the project folder, running on while the test goes on."""
    return subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=project.env(**env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(path: Path, process: subprocess.Popen[str], seconds: float = 600) -> None:
    """Waits until the stalling wrapper wrote `path` (the build reached the crate)."""
    deadline = time.monotonic() + seconds
    while not path.exists() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert path.exists(), "the build never reached the module's crate"


def run_on_a_terminal(
    project: Project, code: str, *, env: dict[str, str] | None = None, stdout: bool = False
) -> tuple[int, str]:
    """Runs `python -c code` in the project folder with stderr (and stdout, if asked) on a
    pseudo-terminal; returns the exit status and everything the terminal showed."""
    import pty  # Unix only: a terminal for the tests that need one

    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=env or project.env(),
        stdin=subprocess.DEVNULL,
        stdout=terminal if stdout else subprocess.DEVNULL,
        stderr=terminal,
    )
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closes when the process ends
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    return process.wait(timeout=600), output.decode(errors="replace")


CRATE_CARGO_TOML = """\
[package]
name = "{name}"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[dependencies]
pyo3 = {{ version = "0.30", features = ["abi3-py39"] }}
{extra}
"""

CRATE_LIB_RS = """\
use pyo3::prelude::*;

#[pymodule]
mod {name} {{
    use pyo3::prelude::*;

    #[pyfunction]
    fn answer() -> i64 {{
        {value}
    }}
}}
"""


def make_crate(
    project: Project, name: str, *, marker: str | None, value: int = 42, extra: str = ""
) -> None:
    """A pyo3 crate `name/` whose `answer()` returns `value`, marked by a `marker` file
    (".rusthook", ".rustimport"), on Cargo.toml's first line ("first-line"), or not (None)."""
    cargo_toml = CRATE_CARGO_TOML.format(name=name, extra=extra)
    if marker == "first-line":
        cargo_toml = "# rusthook\n" + cargo_toml
    elif marker is not None:
        project.write(f"{name}/{marker}", "")
    project.write(f"{name}/Cargo.toml", cargo_toml)
    project.write(f"{name}/src/lib.rs", CRATE_LIB_RS.format(name=name, value=value))
