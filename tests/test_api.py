"""The explicit API: imp, imp_from_path, build, build_filepath, build_all."""

from __future__ import annotations

import os

from conftest import DOUBLE_RS, EXT_SUFFIX, Project

PROFILE_RS = """\
// rusthook:pyo3
use pyo3::prelude::*;

#[pyfunction]
fn debug_build() -> bool {
    cfg!(debug_assertions)
}
"""


def test_imp_and_imp_from_path(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    project.write("pkg/__init__.py", "")
    project.write("pkg/inner.rs", DOUBLE_RS)
    run = project.run(
        """\
        import rusthook, sys
        fast = rusthook.imp("fast")
        inner = rusthook.imp("pkg.inner")
        other = rusthook.imp_from_path("pkg/inner.rs")
        print(fast.double(1), inner.double(2), inner.__name__, other.double(3), other.__name__)
        print(rusthook.is_installed(), sys.modules["fast"] is fast)
        """
    )
    assert run.stdout.split("\n")[:2] == ["2 4 pkg.inner 6 inner", "False True"]


def test_build_and_build_filepath_return_the_library_in_place_too(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    run = project.run(
        """\
        import rusthook, os
        a = rusthook.build("fast")
        b = rusthook.build_filepath("fast.rs")
        print(a == b, os.path.isfile(a), os.path.basename(a).startswith("fast."))
        print(rusthook.build_filepath("fast.rs", in_place=True))
        """
    )
    assert run.stdout.splitlines() == ["True True True", str(project.root / f"fast{EXT_SUFFIX}")]
    # A fresh interpreter without the hook loads the deployed library.
    plain = project.run("import fast, rusthook; print(fast.double(8), rusthook.is_installed())")
    assert plain.stdout.strip() == "16 False"


def test_build_all_writes_every_module_in_place(project: Project) -> None:
    project.write("a.rs", DOUBLE_RS)
    project.write("sub/b.rs", DOUBLE_RS.replace("x * 2", "x * 3"))
    project.write("sub/notes.rs", "fn main() {}\n")
    project.write(
        "krate/Cargo.toml",
        '# rusthook\n[package]\nname = "krate"\nversion = "0.1.0"\nedition = "2021"\n'
        '[lib]\ncrate-type = ["cdylib"]\n[dependencies]\npyo3 = { version = "0.30", features = ["abi3-py39"] }\n',
    )
    project.write(
        "krate/src/lib.rs",
        "use pyo3::prelude::*;\n#[pymodule]\nmod krate {\n    #[pymodule_export]\n    const K: i64 = 7;\n}\n",
    )
    run = project.run("import rusthook\nfor path in rusthook.build_all('.'):\n    print(path)")
    built = sorted(os.path.relpath(p, project.root) for p in run.stdout.split())
    assert built == sorted(
        [f"a{EXT_SUFFIX}", f"krate{EXT_SUFFIX}", os.path.join("sub", f"b{EXT_SUFFIX}")]
    )
    plain = project.run(
        "import sys; sys.path.append('sub'); import a, b, krate; print(a.double(1), b.double(1), krate.K)"
    )
    assert plain.stdout.strip() == "2 3 7"


def test_release_and_force_rebuild(project: Project) -> None:
    project.write("buildkind.rs", PROFILE_RS)
    assert (
        project.run(
            "import rusthook; print(rusthook.imp('buildkind').debug_build())"
        ).stdout.strip()
        == "True"
    )
    release = project.run(
        "import rusthook; print(rusthook.imp('buildkind', release=True).debug_build())"
    )
    assert release.stdout.strip() == "False"
    assert release.built
    assert not project.run("import rusthook; rusthook.imp('buildkind', release=True)").built
    forced = project.run(
        "import rusthook; rusthook.imp('buildkind', release=True, force_rebuild=True)"
    )
    assert forced.built
    # The environment variables fill in what the call leaves open.
    env = project.env(RUSTHOOK_RELEASE="1")
    assert (
        project.run(
            "import rusthook; print(rusthook.imp('buildkind').debug_build())", env=env
        ).stdout.strip()
        == "False"
    )


def test_settings_are_validated(project: Project) -> None:
    run = project.run(
        """\
        import rusthook
        try:
            rusthook.install(relase=True)
        except TypeError as e:
            print("TypeError")
        try:
            rusthook.install(lock_timeout=-1)
        except ValueError as e:
            print(e)
        print(rusthook.install(release=True, quiet=True).settings)
        """
    )
    lines = run.stdout.splitlines()
    assert lines[0] == "TypeError"
    assert lines[1] == "lock_timeout must be a non-negative number of seconds, not -1"
    assert lines[2].startswith(
        "Settings(release=True, force_rebuild=False, in_place=False, quiet=True"
    )


def test_python_modules_win_in_the_api_too(project: Project) -> None:
    # The standard library's `profile` and a local package, a module and a sourceless
    # bytecode file: the standard finders import each, so rusthook neither builds nor
    # imports the `.rs` file of the same name.
    project.write("pkg/__init__.py", "")
    project.write("script.py", "")
    for name in ["profile", "pkg", "script", "compiled"]:
        project.write(f"{name}.rs", DOUBLE_RS)
    compiled = project.write("compiled_src.py", "")
    run = project.run(
        f"""\
        import py_compile, rusthook
        py_compile.compile({str(compiled)!r}, cfile="compiled.pyc")
        for name in ["profile", "pkg", "script", "compiled"]:
            for call in (rusthook.imp, rusthook.build):
                try:
                    call(name)
                except ModuleNotFoundError as error:
                    print(error)
        """
    )
    stdlib_profile = run.stdout.splitlines()[0].rsplit(" ", 1)[1]
    assert stdlib_profile.endswith("profile.py") and project.root.as_posix() not in stdlib_profile
    root = project.root
    assert run.stdout.splitlines() == [
        *[f"no Rust module named 'profile': Python imports that name from {stdlib_profile}"] * 2,
        *[f"no Rust module named 'pkg': Python imports that name from {root}/pkg/__init__.py"] * 2,
        *[f"no Rust module named 'script': Python imports that name from {root}/script.py"] * 2,
        *[f"no Rust module named 'compiled': Python imports that name from {root}/compiled.pyc"]
        * 2,
    ]
    assert not run.built


def test_missing_module_from_the_api(project: Project) -> None:
    run = project.run(
        "import rusthook\ntry:\n    rusthook.imp('nothing_here')\nexcept ModuleNotFoundError as e:\n    print(e)"
    )
    assert run.stdout.strip() == "no Rust module named 'nothing_here'"
