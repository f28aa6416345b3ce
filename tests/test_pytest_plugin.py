"""The pytest plugin with pytest-xdist's workers: a test suite whose tests import Rust
modules, run with `pytest -n 2`; the modules are built once, before the workers start,
and a module that does not build is one error, not one per test."""

from __future__ import annotations

import subprocess
import sys

from conftest import DOUBLE_RS, Project

NAMES = ["alpha", "beta", "gamma"]


def suite(project: Project) -> None:
    """Three modules and a test file importing each, the hook switched on in pytest.ini;
    a RUSTC_WRAPPER logs every crate compiled."""
    project.write("pytest.ini", "[pytest]\nrusthook = true\n")
    for name in NAMES:
        project.write(f"{name}.rs", DOUBLE_RS)
        project.write(
            f"test_{name}.py",
            f"import {name}\n\ndef test_{name}():\n    assert {name}.double(2) == 4\n",
        )
    wrapper = project.write(
        "log-rustc.sh", f'#!/bin/sh\necho "$*" >> {project.root}/rustc.log\nexec "$@"\n'
    )
    wrapper.chmod(0o755)


def pytest_in(project: Project, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=project.root,
        env=project.env(RUSTC_WRAPPER=str(project.root / "log-rustc.sh")),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=600,
    )


def test_xdist_workers_find_every_module_built_once(project: Project) -> None:
    suite(project)
    run = pytest_in(project, "-n", "2")
    assert run.returncode == 0, run.stdout + run.stderr
    assert "3 passed" in run.stdout
    assert f"rusthook: building the Rust modules under {project.root}" in run.stdout
    assert "rusthook: 3 Rust modules ready in " in run.stdout
    compiled = (project.root / "rustc.log").read_text()
    for name in NAMES:
        assert compiled.count(f"--crate-name {name}_") == 1, (name, compiled)
    assert "rusthook: building alpha (debug) from " in run.stderr + run.stdout

    # Without the option (and the ini's switch off) the plugin does nothing.
    project.write("pytest.ini", "[pytest]\n")
    plain = pytest_in(project, "-n", "2")
    assert plain.returncode != 0, plain.stdout
    assert "ModuleNotFoundError: No module named 'alpha'" in plain.stdout


def test_a_module_that_does_not_build_is_one_error(project: Project) -> None:
    suite(project)
    project.write("pytest.ini", "[pytest]\n")
    project.write("broken.rs", "// rusthook:pyo3\nfn broken( {\n")
    run = pytest_in(project, "-n", "2", "--rusthook", "--rusthook-paths", str(project.root))
    assert run.returncode == 1, run.stdout + run.stderr
    output = run.stdout + run.stderr
    summary = f"rusthook: 1 of the 4 Rust modules under {project.root} did not build"
    assert f"= {summary} =" in run.stdout, output
    assert output.count(f"{project.root / 'broken.rs'}:\ncould not build broken from ") == 1
    assert output.count("error: this file contains an unclosed delimiter") == 1, output
    assert f"{summary}; no test ran (see above)" in run.stderr, output
    assert "passed" not in run.stdout and "failed" not in run.stdout, run.stdout
