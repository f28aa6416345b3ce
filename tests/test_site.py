"""`python -m rusthook site install`: activation at every interpreter start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import rusthook
from conftest import DOUBLE_RS, Project

PROFILE_RS = """\
// rusthook:pyo3
use pyo3::prelude::*;

#[pyfunction]
fn debug_build() -> bool {
    cfg!(debug_assertions)
}
"""


def make_venv(path: Path) -> tuple[Path, Path]:
    """A throw-away virtual environment that can import this checkout's rusthook."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    python = path / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    site_packages = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # As an installed copy would be: the folder that holds the rusthook package.
    package_parent = Path(rusthook.__file__).resolve().parent.parent
    (site_packages / "_rusthook_under_test.pth").write_text(f"{package_parent}\n")
    return python, site_packages


def test_site_install_activates_and_uninstall_removes_exactly_it(
    project: Project, tmp_path: Path
) -> None:
    python, site_packages = make_venv(tmp_path / "venv")
    before = sorted(os.listdir(site_packages))
    project.write("fast.rs", DOUBLE_RS)
    project.write("profiled.rs", PROFILE_RS)

    def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args],
            cwd=project.root,
            env=env or project.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    installed = run("-m", "rusthook", "site", "install", "--release")
    assert installed.returncode == 0, installed.stderr
    assert "rusthook is now active at every start of" in installed.stdout
    pth = site_packages / "rusthook_activate.pth"
    assert "rusthook._site.activate(release=True)" in pth.read_text()

    # A plain script: no install() call.
    imported = run("-c", "import fast, profiled; print(fast.double(21), profiled.debug_build())")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout.split() == ["42", "False"], "site settings apply (release)"

    disabled = run("-c", "import fast", env=project.env(RUSTHOOK_ENABLED="0"))
    assert "ModuleNotFoundError: No module named 'fast'" in disabled.stderr

    info = run("-m", "rusthook", "site", "info")
    assert f"site-packages: active (rusthook._site.activate(release=True))\n  {pth}" in info.stdout

    # Installing again replaces the settings rather than adding a second line.
    assert run("-m", "rusthook", "site", "install").returncode == 0
    assert "activate()" in pth.read_text()

    removed = run("-m", "rusthook", "site", "uninstall")
    assert removed.stdout.strip() == f"removed {pth}"
    assert sorted(os.listdir(site_packages)) == before
    assert "ModuleNotFoundError" in run("-c", "import fast").stderr
    again = run("-m", "rusthook", "site", "uninstall")
    assert again.returncode == 0 and "was not site-installed here" in again.stdout


def test_site_uninstall_leaves_a_foreign_pth_alone(project: Project, tmp_path: Path) -> None:
    python, site_packages = make_venv(tmp_path / "venv")
    foreign = site_packages / "rusthook_activate.pth"
    foreign.write_text("import something_else\n")
    run = subprocess.run(
        [str(python), "-m", "rusthook", "site", "uninstall"],
        capture_output=True,
        text=True,
        env=project.env(),
    )
    assert "was not site-installed here" in run.stdout
    assert foreign.read_text() == "import something_else\n"


def test_a_broken_activation_never_stops_the_interpreter(project: Project, tmp_path: Path) -> None:
    python, site_packages = make_venv(tmp_path / "venv")
    (site_packages / "rusthook_activate.pth").write_text(
        "import rusthook._site; rusthook._site.activate(lock_timeout=-5)\n"
    )
    run = subprocess.run(
        [str(python), "-c", "print('started')"], capture_output=True, text=True, env=project.env()
    )
    assert run.stdout.strip() == "started"
    assert "rusthook: the import hook is not active: lock_timeout must be" in run.stderr
