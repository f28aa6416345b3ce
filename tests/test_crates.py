"""Crate directories: `name/` with Cargo.toml and a marker imports as `name`."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import Project, make_crate


@pytest.mark.parametrize("marker", [".rusthook", ".rustimport", "first-line"])
def test_marked_crate_imports(project: Project, marker: str) -> None:
    make_crate(project, "krate", marker=marker)
    run = project.hook_import("import krate; print(krate.answer())")
    assert run.stdout.strip() == "42"
    assert run.built


def test_unmarked_crate_is_not_imported(project: Project) -> None:
    make_crate(project, "krate", marker=".rusthook")
    (project.root / "krate" / ".rusthook").unlink()
    run = project.hook_import("import krate; print(krate.__path__)", check=False)
    # Without a marker the folder is just a namespace package for Python.
    assert run.returncode == 0
    assert not run.built


def test_crate_edits_and_path_dependencies_rebuild(project: Project) -> None:
    project.write(
        "helper/Cargo.toml",
        '[package]\nname = "helper"\nversion = "0.1.0"\nedition = "2021"\n',
    )
    helper = project.write("helper/src/lib.rs", "pub fn base() -> i64 { 40 }\n")
    make_crate(project, "krate", marker=".rusthook", extra='helper = { path = "../helper" }')
    lib = project.root / "krate" / "src" / "lib.rs"
    lib.write_text(
        lib.read_text().replace("{\n        42\n    }", "{\n        helper::base() + 2\n    }")
    )
    assert project.hook_import("import krate; print(krate.answer())").stdout.strip() == "42"
    assert not project.hook_import("import krate").built

    helper.write_text("pub fn base() -> i64 { 100 }\n")
    run = project.hook_import("import krate; print(krate.answer())")
    assert run.built
    assert run.stdout.strip() == "102"

    lib.write_text(lib.read_text().replace("helper::base() + 2", "helper::base() + 3"))
    assert project.hook_import("import krate; print(krate.answer())").stdout.strip() == "103"


def _tree(root: Path) -> dict[str, bytes]:
    """Every file below `root` with its bytes (no `target/` or lock file may appear)."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


CATCH_BUILD_ERROR = """\
import rusthook
rusthook.install()
try:
    import {name}
except ImportError as e:
    print(type(e).__name__)
    print(e)
"""


def test_two_pyo3_versions_in_the_graph_are_refused_naming_both_manifests(
    project: Project,
) -> None:
    helper_manifest = project.write(
        "helper/Cargo.toml",
        '[package]\nname = "helper"\nversion = "0.1.0"\nedition = "2021"\n'
        '[dependencies]\npyo3 = "0.23"\n',
    )
    project.write("helper/src/lib.rs", "pub fn base() -> i64 { 40 }\n")
    make_crate(project, "krate", marker=".rusthook", extra='helper = { path = "../helper" }')
    fast = project.write(
        "fast.rs",
        '// rusthook:pyo3\n//: [dependencies]\n//: pyo3 = "0.22"\n'
        '//: helper = { path = "helper" }\nuse pyo3::prelude::*;\n'
        "#[pyfunction]\nfn one() -> i64 { 1 }\n",
    )
    krate_manifest = project.root / "krate" / "Cargo.toml"
    before = _tree(project.root)

    expected = {
        "krate": (krate_manifest, "0.30"),
        "fast": (fast, "0.22"),
    }
    for name, (first, version) in expected.items():
        run = project.run(CATCH_BUILD_ERROR.format(name=name))
        assert run.stdout == (
            "BuildError\n"
            f"{first} asks for pyo3 {version} and {helper_manifest} asks for pyo3 "
            "0.23: one library cannot link two pyo3 versions.\n"
            "Make both ask for the same pyo3 version.\n"
        )
    assert _tree(project.root) == before
