"""`python -m rusthook eject`: a single-file module (or a `%%rust` cell) becomes a
standalone maturin project that pip installs and Python imports without rusthook."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from conftest import Project, template_target

FAST_RS = """\
// rusthook:pyo3
//: [dependencies]
//: itoa = "1"
//d: data/*.txt
use pyo3::prelude::*;

const GREETING: &str = include_str!("data/greeting.txt");

#[pyfunction]
fn double(x: i64) -> i64 {
    x * 2
}

#[pyfunction]
fn digits(x: u64) -> String {
    itoa::Buffer::new().format(x).to_string()
}

#[pyfunction]
fn greeting() -> &'static str {
    GREETING.trim()
}

#[pyclass]
struct Counter {
    #[pyo3(get)]
    count: u64,
}

#[pymethods]
impl Counter {
    #[new]
    fn new() -> Self {
        Counter { count: 0 }
    }
    fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}
"""

USE_FAST = """\
import importlib.util, sys
import fast
c = fast.Counter(); c.bump()
print(fast.double(21), fast.digits(1234), fast.greeting(), c.bump())
print(importlib.util.find_spec("rusthook"), "rusthook" in sys.modules)
"""


def eject(project: Project, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    completed = subprocess.run(
        [sys.executable, "-m", "rusthook", "eject", *args],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check:
        assert completed.returncode == 0, completed.stderr
    return completed


def test_ejected_project_installs_with_pip_and_imports_without_rusthook(project: Project) -> None:
    source = project.write("fast.rs", FAST_RS)
    project.write("data/greeting.txt", "Hello from Rust\n")
    # It works as a rusthook module first.
    assert project.hook_import(
        "import fast; print(fast.double(21), fast.greeting())"
    ).stdout.split() == ["42", "Hello", "from", "Rust"]

    done = eject(project, "fast.rs", "fast-project")
    dest = project.root / "fast-project"
    assert done.stdout == (
        f"wrote a maturin project to {dest}: `pip install ./fast-project` installs it, "
        "`maturin build` in it makes a wheel\n"
    )
    assert source.read_text() == FAST_RS, "the source is never modified"
    lib = (dest / "src" / "lib.rs").read_text()
    assert lib.startswith(f"// Ejected from {source} by rusthook ")
    assert "include!" not in lib and "//:" not in lib
    assert '#[pyo3(name = "fast")]' in lib and "wrap_pyfunction!(double, m)" in lib
    assert (dest / "src" / "data" / "greeting.txt").read_text() == "Hello from Rust\n"

    venv = project.root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--find-links", "/opt/wheels", str(dest)],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert installed.returncode == 0, installed.stdout + installed.stderr

    elsewhere = project.root / "elsewhere"
    elsewhere.mkdir()
    used = subprocess.run(
        [str(python), "-c", USE_FAST],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert used.returncode == 0, used.stderr
    assert used.stdout.splitlines() == ["42 1234 Hello from Rust 2", "None False"]


def test_eject_bad_inputs(project: Project) -> None:
    project.write("fast.rs", FAST_RS)
    project.write("taken/file.txt", "mine")
    project.write("plain.rs", "fn f() {}\n")
    project.write("clib.rs", '// rusthook:cffi\n#[no_mangle]\npub extern "C" fn f() {}\n')
    project.write("my-mod.rs", FAST_RS)
    project.write("bare.rs", "// rusthook\n//: [package]\n")
    project.write("krate/Cargo.toml", '[package]\nname = "krate"\n')
    root = project.root
    cases = {
        ("fast.rs", "taken"): f"{root}/taken already exists; choose another name or remove "
        "it first",
        ("plain.rs", "out1"): f"{root}/plain.rs is not an importable Rust source: its first "
        "line must name rusthook, e.g. `// rusthook:pyo3`",
        ("clib.rs", "out2"): f"{root}/clib.rs: eject makes a maturin project from a "
        "`// rusthook:pyo3` module, and this file uses `// rusthook:cffi` (a C-ABI library)",
        ("missing.rs", "out3"): f"{root}/missing.rs is not an importable Rust source: no such file",
        ("krate", "out4"): f"{root}/krate is not an importable Rust source: eject turns a "
        "single `.rs` file into a project, and a crate already is one; add a pyproject.toml "
        'with `build-backend = "maturin"` to it instead',
        ("bare.rs", "out6"): f"{root}/bare.rs: eject makes a maturin project from a "
        "`// rusthook:pyo3` module, and this file uses no template (`// rusthook`)",
        ("my-mod.rs", "out5"): f"`my-mod` (from {root}/my-mod.rs) is not a valid Python "
        "module name; rename it to a Python identifier such as `my_mod`",
    }
    for (source, dest), message in cases.items():
        completed = eject(project, source, dest, check=False)
        assert completed.returncode == 1, (source, completed.stdout)
        assert completed.stderr == f"rusthook: error: {message}\n"
        if dest != "taken":
            assert not (root / dest).exists()
    assert (root / "taken" / "file.txt").read_text() == "mine", "nothing is overwritten"


def test_eject_help() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "rusthook", "eject", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0
    assert "usage: python -m rusthook eject [-h] SOURCE DEST" in completed.stdout


def test_cell_eject_builds_with_cargo(project: Project, build_dir: Path) -> None:
    from test_notebook import run_session

    dest = project.root / "cellmod"
    cell = (
        "%%rust --eject "
        + str(dest)
        + "\n#[pyfunction]\nfn triple(x: i64) -> i64 {\n    x * 3\n}\n"
    )
    results = run_session(project, [cell, cell.replace("cellmod", "bad-name")])
    assert results[0]["stdout"] == (
        f"wrote a maturin project to {dest}: `pip install {dest}` installs it, "
        "`maturin build` in it makes a wheel\n"
    )
    lib = (dest / "src" / "lib.rs").read_text()
    assert "use pyo3::prelude::*;\n" in lib and '#[pyo3(name = "cellmod")]' in lib
    assert "pyproject.toml" in os.listdir(dest)
    assert not results[1]["ok"]
    assert "`bad-name`" in str(results[1]["stdout"]) and "such as `bad_name`" in str(
        results[1]["stdout"]
    )

    # The project compiles as written (sharing the tests' target folder, configured as
    # rusthook configures stable-ABI builds: pyo3 is built).
    built = subprocess.run(
        ["cargo", "build", "--quiet", "--manifest-path", str(dest / "Cargo.toml")],
        env={
            **os.environ,
            "CARGO_TARGET_DIR": str(template_target(build_dir)),
            "PYO3_NO_PYTHON": "1",
            "PYO3_BUILD_EXTENSION_MODULE": "1",
        },
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert built.returncode == 0, built.stderr
