"""Compile errors and bad input: a clear Python exception, nothing lost."""

from __future__ import annotations

import os

from conftest import DOUBLE_RS, Project

BROKEN_RS = """\
// rusthook:pyo3
use pyo3::prelude::*;

#[pyfunction]
fn double(x: i64) -> i64 {
    let y: i64 = "not a number";
    x * 2 + y
}
"""

CATCH = """\
import rusthook
rusthook.install()
try:
    import {name}
except rusthook.BuildError as error:
    print("BuildError", isinstance(error, ImportError), error.name)
    print(error)
"""


def test_compile_error_points_at_the_users_file_and_keeps_the_last_build(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    good = project.hook_import("import fast; print(fast.__file__)").stdout.strip()

    source.write_text(BROKEN_RS)
    run = project.run(CATCH.format(name="fast"))
    first_line, message = run.stdout.split("\n", 1)
    assert first_line == "BuildError True fast"
    assert f"could not build fast from {source}" in message
    assert "error[E0308]: mismatched types" in message
    assert f"{source}:6:18" in message, message
    assert "crate/wrapper.rs" not in message and "/modules/" not in message
    assert "Compiling" not in message, "progress lines are not part of the diagnostics"
    assert source.read_text() == BROKEN_RS, "the source is never modified"

    # The last good build is still there, untouched.
    assert os.path.isfile(good)

    source.write_text(DOUBLE_RS)
    fixed = project.hook_import("import fast; print(fast.double(2), fast.__file__)")
    assert fixed.stdout.split() == ["4", good], "the fixed source matches the last good build"


def test_compile_error_with_inner_attributes_still_names_the_users_file(project: Project) -> None:
    source = project.write("documented.rs", BROKEN_RS.replace("use pyo3", "//! Docs.\nuse pyo3"))
    run = project.run(CATCH.format(name="documented"))
    assert f"{source}:7:18" in run.stdout, run.stdout


def test_malformed_manifest_line(project: Project) -> None:
    source = project.write(
        "fast.rs", DOUBLE_RS.replace("use pyo3", '//: [dependencies]\n//: itoa = "1\nuse pyo3')
    )
    run = project.run(CATCH.format(name="fast"))
    assert run.stdout.startswith("BuildError True fast\n")
    assert f"{source}:3: invalid `//:` Cargo.toml line" in run.stdout


def test_unknown_template(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS.replace("rusthook:pyo3", "rusthook:pyo4"))
    run = project.run(CATCH.format(name="fast"))
    assert f"{source}:1: unknown template `pyo4`; known templates: pyo3, cffi." in run.stdout


def test_non_utf8_source(project: Project) -> None:
    source = project.root / "fast.rs"
    source.write_bytes(DOUBLE_RS.encode().replace(b"x * 2", b"x * 2 // \xff\xfe"))
    run = project.run(CATCH.format(name="fast"))
    assert f"{source}:6: the file is not valid UTF-8; save it as UTF-8" in run.stdout


def test_pymodule_with_the_wrong_name(project: Project) -> None:
    project.write(
        "named.rs",
        """\
        // rusthook:pyo3
        use pyo3::prelude::*;

        #[pymodule]
        fn other_name(_m: &Bound<'_, PyModule>) -> PyResult<()> {
            Ok(())
        }
        """,
    )
    run = project.run(CATCH.format(name="named"))
    assert "the library exports no `PyInit_named`" in run.stdout
    assert "Name its #[pymodule] `named`" in run.stdout


def test_invalid_module_name_from_path(project: Project) -> None:
    source = project.write("my-module.rs", DOUBLE_RS)
    run = project.run(
        f"import rusthook\ntry:\n    rusthook.build_filepath({str(source)!r})\nexcept rusthook.BuildError as e:\n    print(e)"
    )
    assert run.stdout == (
        f"`my-module` (from {source}) is not a valid Python module name; rename it to a "
        "Python identifier such as `my_module`\n"
    )


def test_missing_cargo(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    env = project.env(PATH="/nonexistent", CARGO="/nonexistent/cargo", RUSTC="/nonexistent/rustc")
    run = project.run(
        "import rusthook\nrusthook.install()\ntry:\n    import fast\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)",
        env=env,
    )
    name, message = run.stdout.split("\n", 1)
    assert name == "RusthookError"
    assert "could not run `/nonexistent/rustc`" in message
    assert "Install Rust" in message
