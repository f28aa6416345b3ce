"""Crate directories: `name/` with Cargo.toml and a marker imports as `name`."""

from __future__ import annotations

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
