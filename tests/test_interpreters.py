"""The abi3 wheel on the oldest and the newest CPython rusthook supports.

rusthook's wheel is built once per session from this checkout, installed into a virtual
environment of each interpreter, and the core scenarios run there: a single file, an
edit that rebuilds it, a crate. The interpreters come from pyenv (`pyenv install 3.9`),
else from PATH; a missing one fails the test with what to install.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import rusthook
from conftest import DOUBLE_RS, STABLE_ABI_TAG, Project, kept_cargo_target
from conftest import venv_python as conftest_venv_python
from test_crates import make_crate
from test_shared_cache import PYO3_COMPILED

# One process runs them all: they share the wheel built once (the `wheel` fixture).
pytestmark = pytest.mark.xdist_group("interpreters")

# The oldest CPython the abi3 wheel supports (requires-python) and the newest tested.
OLDEST_AND_NEWEST = ("3.9", "3.13")


def pyenv_root() -> Path:
    if os.environ.get("PYENV_ROOT"):
        return Path(os.environ["PYENV_ROOT"])
    try:
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, check=True)
        return Path(found.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return Path.home() / ".pyenv"


def find_interpreter(minor: str) -> Path:
    """The newest installed patch release of CPython `minor` (e.g. 3.9.18 for 3.9)."""
    versions = pyenv_root() / "versions"
    pattern = re.compile(rf"{re.escape(minor)}\.(\d+)")
    candidates = []
    for folder in versions.glob(f"{minor}.*"):
        match = pattern.fullmatch(folder.name)
        python = folder / "bin" / f"python{minor}"
        if match and python.is_file():
            candidates.append((int(match.group(1)), python))
    if candidates:
        return max(candidates)[1]
    # Shims (pyenv's, asdf's) run only the versions their tool selected.
    path = os.pathsep.join(
        folder
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if Path(folder).name != "shims"
    )
    on_path = shutil.which(f"python{minor}", path=path)
    if on_path:
        return Path(on_path)
    pytest.fail(
        f"CPython {minor} is not installed: found no {versions}/{minor}.*/bin/python{minor} "
        f"and no python{minor} on PATH. Install it with `pyenv install {minor}`: the "
        f"suite runs its core tests on CPython {' and '.join(OLDEST_AND_NEWEST)}."
    )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """rusthook's abi3 wheel, built from this checkout with the dev profile, as
    scripts/test builds the editable install: what is tested is the wheel on each
    CPython, not the optimiser. Its target folder is kept between runs, apart from the
    editable install's (maturin moves the library it packs out of cargo's folder while it
    builds the wheel)."""
    checkout = Path(rusthook.__file__).resolve().parents[2]
    assert (checkout / "Cargo.toml").is_file(), (
        f"rusthook is not imported from a checkout: {checkout}"
    )
    out = tmp_path_factory.mktemp("wheel")
    target = kept_cargo_target("wheel", tmp_path_factory)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "maturin",
            "build",
            "--profile",
            "dev",
            "--quiet",
            "--out",
            str(out),
        ],
        cwd=checkout,
        env=dict(os.environ, CARGO_TARGET_DIR=str(target)),
        check=True,
        stdin=subprocess.DEVNULL,
    )
    (built,) = out.glob("rusthook-*-cp39-abi3-*.whl")
    return built


def venv_with(python: Path, wheel: Path, folder: Path) -> Path:
    """A virtual environment of `python` with the wheel installed (by uv: in a second)."""
    uv = [sys.executable, "-m", "uv"]
    subprocess.run([*uv, "venv", "--quiet", "--python", str(python), str(folder)], check=True)
    venv_python = conftest_venv_python(folder)
    subprocess.run(
        [*uv, "pip", "install", "--quiet", "--python", str(venv_python), "--no-index", str(wheel)],
        check=True,
    )
    return venv_python


def run_ok(python: Path, project: Project, code: str) -> subprocess.CompletedProcess[str]:
    """`python -c code` in the project folder with the tests' build cache; it must succeed."""
    completed = subprocess.run(
        [str(python), "-c", code],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert completed.returncode == 0, completed.stderr
    return completed


def run(python: Path, project: Project, code: str) -> tuple[str, bool]:
    completed = run_ok(python, project, code)
    return completed.stdout.strip(), "rusthook: building " in completed.stderr


@pytest.mark.parametrize("minor", OLDEST_AND_NEWEST)
def test_core_scenarios_with_the_wheel(
    minor: str, wheel: Path, project: Project, tmp_path: Path
) -> None:
    python = venv_with(find_interpreter(minor), wheel, tmp_path / "venv")
    where = run(
        python, project, "import sys, rusthook; print(sys.version_info[:2], rusthook.__file__)"
    )
    version = tuple(int(part) for part in minor.split("."))
    assert where[0].startswith(f"{version} {tmp_path / 'venv'}"), where

    # A single file: built, then loaded without a build, then rebuilt after an edit.
    source = project.write("fast.rs", DOUBLE_RS)
    code = "import rusthook; rusthook.install(); import fast; print(fast.double(21))"
    assert run(python, project, code) == ("42", True)
    assert run(python, project, code) == ("42", False)
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    assert run(python, project, code) == ("63", True)

    # A crate.
    make_crate(project, "counted", marker=".rusthook", value=7)
    code = "import rusthook; rusthook.install(); import counted; print(counted.answer())"
    assert run(python, project, code) == ("7", True)
    assert run(python, project, code) == ("7", False)


def test_every_cpython_shares_the_stable_abi_dependencies(
    wheel: Path, project: Project, tmp_path: Path, build_dir: Path
) -> None:
    """An abi3 module's dependencies compile once for every CPython: a 3.13 and a 3.9
    environment build their first module without compiling pyo3 again, and neither makes
    the other (or this interpreter) recompile it. The module itself is built once too:
    its library is in the stable-ABI partition, and every CPython loads it from there."""
    pythons = {
        "3.11": Path(sys.executable),
        "3.13": venv_with(find_interpreter("3.13"), wheel, tmp_path / "venv313"),
        "3.9": venv_with(find_interpreter("3.9"), wheel, tmp_path / "venv39"),
    }
    order = ["3.11", "3.13", "3.9", "3.11"]
    libraries = []
    for index, minor in enumerate(order):
        name = f"shared{index}"
        project.write(f"{name}.rs", DOUBLE_RS.replace("x * 2", f"x * {index + 2}"))
        completed = run_ok(
            pythons[minor],
            project,
            f"import rusthook; rusthook.install(); import {name}; "
            f"print({name}.double(10), {name}.__file__)",
        )
        value, library = completed.stdout.split()
        assert value == str(10 * (index + 2))
        assert f"Compiling rusthook-{name} " in completed.stderr, completed.stderr
        if index > 0:
            assert not PYO3_COMPILED.search(completed.stderr), (minor, completed.stderr)
        assert Path(library).is_relative_to(build_dir), library
        assert Path(library).relative_to(build_dir).parts[0] == STABLE_ABI_TAG, library
        assert library.endswith(".abi3.so"), library
        libraries.append(library)
    # Each module, built by one CPython, loads in the others without a build.
    for minor in ["3.9", "3.13"]:
        code = "import rusthook; rusthook.install(); import shared0; print(shared0.__file__)"
        assert run(pythons[minor], project, code) == (libraries[0], False), minor
    info = subprocess.run(
        [sys.executable, "-m", "rusthook", "cache", "info"],
        env=project.env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert re.search(r"^  cpython-abi3-[\w-]+: \d+ modules, ", info, re.M), info
