"""Coming from rustimport: its users switch by changing one line. Their files, crates,
workspaces, command line, notebook magic and settings work unchanged.

The pyo3 version rustimport's template pins (0.23) compiles once per test session, in
the shared build cache; every test here that builds rustimport-marked code reuses it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, EXT_SUFFIX, Project
from rustimport_examples import EXAMPLES, EXPECTED, PYO3_LINE, SCRIPT
from test_notebook import run_session

HOOK_LINE = "import rusthook; rusthook.install()"


def write_all(project: Project, files: dict[str, str]) -> None:
    for relative, text in files.items():
        project.write(relative, text)


def snapshot(root: Path) -> dict[str, bytes]:
    """Every file below `root` (that is not a test's own output) and its bytes."""
    return {
        str(path.relative_to(root)): path.read_bytes()
        for path in sorted(root.rglob("*"))
        if path.is_file() and path.suffix != ".py"
    }


def cli(project: Project, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rusthook", *args],
        cwd=project.root,
        env=project.env(**env),
        capture_output=True,
        text=True,
        timeout=600,
        stdin=subprocess.DEVNULL,
    )


@pytest.mark.slow
def test_a_rustimport_examples_folder_runs_with_only_the_hook_line_changed(
    project: Project,
) -> None:
    write_all(project, EXAMPLES)
    before = snapshot(project.root)
    script = SCRIPT.replace("import rustimport.import_hook", HOOK_LINE)
    assert script.count("\n") == SCRIPT.count("\n") and HOOK_LINE in script

    first = project.run(script)
    assert first.stdout == EXPECTED
    assert first.built
    # Nothing was written into the user's folders: no Cargo.lock, no target/, no edit.
    assert snapshot(project.root) == before

    again = project.run(script)
    assert again.stdout == EXPECTED
    assert not again.built, again.stderr

    # A new file matching a `//d:` line of a crate's lib.rs rebuilds that crate alone.
    project.write("legacy/templated/notes/todo.txt", "more")
    noted = project.run(script)
    assert noted.stdout == EXPECTED
    assert noted.stderr.count("rusthook: building ") == 1
    assert "rusthook: building templated (debug)" in noted.stderr

    # `python -m rusthook build FOLDER` puts every extension where rustimport's `build`
    # puts it, beside its source; then Python imports them with no hook at all.
    built = cli(project, "build", "legacy")
    assert built.returncode == 0, built.stderr
    # Every marked file and every crate folder with a marker file, and nothing else.
    modules = [
        path.removesuffix(".rs")
        for path, text in EXAMPLES.items()
        if path.endswith(".rs") and "/src/" not in path and "// rustimport" in text.split("\n")[0]
    ] + [path.removesuffix("/.rustimport") for path in EXAMPLES if path.endswith("/.rustimport")]
    assert sorted(built.stdout.splitlines()) == sorted(
        str(project.root / f"{module}{EXT_SUFFIX}") for module in modules
    )
    plain = project.run(SCRIPT.replace("import rustimport.import_hook\n", ""))
    assert plain.stdout == EXPECTED


def test_marker_files_may_hold_any_text(project: Project) -> None:
    sentence = "This is a marker-file to make this crate importable by rustimport."
    marker = project.write("noted/.rustimport", sentence)
    own = project.write(
        "noted/.rusthook", "# rusthook marker\nImported by rusthook, built by cargo.\n"
    )
    project.write(
        "noted/Cargo.toml", '[package]\nname = "noted"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    project.write("noted/src/lib.rs", DOUBLE_RS)
    run = project.hook_import(
        "import logging\n"
        "logging.basicConfig(level=logging.DEBUG, format='%(levelname)s %(name)s %(message)s')\n"
        "rusthook.reset_logger()\nimport noted\nprint(noted.double(4))"
    )
    assert run.stdout == "8\n"
    assert (
        f"DEBUG rusthook.finder {own}:2: not a template name, ignored: "
        "Imported by rusthook, built by cargo." in run.stderr
    )
    assert f"DEBUG rusthook.finder {marker}:1: not a template name, ignored: {sentence}" in (
        run.stderr
    )


def test_a_misspelt_template_word_in_a_rusthook_marker_file_is_still_an_error(
    project: Project,
) -> None:
    marker = project.write("typo/.rusthook", "pyo4\n")
    project.write(
        "typo/Cargo.toml", '[package]\nname = "typo"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    project.write("typo/src/lib.rs", DOUBLE_RS)
    run = project.hook_import(
        "try:\n    import typo\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)"
    )
    assert run.stdout == (
        f"BuildError\n{marker}:1: unknown template `pyo4`; known templates: pyo3, cffi.\n"
        "Use e.g. `// rusthook:pyo3`, or `// rusthook` to write the whole Cargo.toml with "
        "`//:` lines.\n"
    )


def test_unknown_template_on_a_crates_lib_rs(project: Project) -> None:
    project.write("odd/.rustimport", "")
    project.write(
        "odd/Cargo.toml", '[package]\nname = "odd"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    lib = project.write("odd/src/lib.rs", "// rustimport:pyo4\nfn f() {}\n")
    before = snapshot(project.root)
    run = project.hook_import(
        "try:\n    import odd\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)"
    )
    assert run.stdout == (
        f"BuildError\n{lib}:1: unknown template `pyo4`; known templates: pyo3, cffi.\n"
        "Use e.g. `// rusthook:pyo3`, or `// rusthook` to write the whole Cargo.toml with "
        "`//:` lines.\n"
    )
    assert snapshot(project.root) == before


def test_a_malformed_manifest_line_in_a_crates_lib_rs(project: Project) -> None:
    project.write("lined/.rustimport", "")
    project.write(
        "lined/Cargo.toml", '[package]\nname = "lined"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    lib = project.write(
        "lined/src/lib.rs", '// rustimport:pyo3\n//: [dependencies]\n//: itoa = "1\nfn f() {}\n'
    )
    run = project.hook_import(
        "try:\n    import lined\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)"
    )
    assert run.stdout == (
        f"BuildError\n{lib}:3: invalid `//:` Cargo.toml line: invalid basic string, "
        'expected `"`\nFix the line so that the `//:` lines form valid TOML.\n'
    )


TEMPLATED_LIB = """\
// rusthook:pyo3
use pyo3::prelude::*;

mod util;

#[pyfunction]
fn doubled(x: i64) -> i64 {
    util::twice(x)
}
"""


def test_a_crate_relying_on_the_template_builds_from_a_merged_manifest(
    project: Project,
) -> None:
    project.write("bare/.rusthook", "")
    project.write(
        "bare/Cargo.toml", '[package]\nname = "bare"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    project.write("bare/src/lib.rs", TEMPLATED_LIB)
    util = project.write("bare/src/util.rs", "pub fn twice(x: i64) -> i64 {\n    x * 2\n}\n")
    before = snapshot(project.root)
    assert project.hook_import("import bare; print(bare.doubled(21))").stdout == "42\n"
    assert snapshot(project.root) == before, "the user's folder is never written to"

    # Diagnostics name the user's own files, and the last good build stays.
    project.write(
        "bare/src/util.rs", 'pub fn twice(x: i64) -> i64 {\n    let y: i64 = "2";\n    x * y\n}\n'
    )
    broken = project.hook_import(
        "try:\n    import bare\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)"
    )
    assert broken.stdout.startswith(
        f"BuildError\ncould not build bare from {project.root / 'bare'}:\n\nerror[E0308]: mismatched types\n"
        f" --> {util}:2:18\n"
    ), broken.stdout
    project.write("bare/src/util.rs", "pub fn twice(x: i64) -> i64 {\n    x * 3\n}\n")
    fixed = project.hook_import("import bare; print(bare.doubled(21))")
    assert fixed.stdout == "63\n" and fixed.built


def test_cargos_own_errors_about_a_merged_crate_name_the_users_folder(project: Project) -> None:
    project.write(
        "dep/Cargo.toml", '[package]\nname = "dep"\nversion = "0.1.0"\nedition = "2021"\n'
    )
    project.write("dep/src/lib.rs", "")
    project.write("needy/.rustimport", "")
    project.write(
        "needy/Cargo.toml",
        '[package]\nname = "needy"\nversion = "0.1.0"\nedition = "2021"\n\n'
        '[dependencies]\ndep = { path = "../dep", version = "9" }\n',
    )
    project.write("needy/src/lib.rs", DOUBLE_RS)
    run = project.hook_import(
        "try:\n    import needy\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)"
    )
    needy, dep = project.root / "needy", project.root / "dep"
    assert run.stdout == (
        f"BuildError\ncould not build needy from {needy}:\n\n"
        'error: failed to select a version for the requirement `dep = "^9"`\n'
        "candidate versions found which didn't match: 0.1.0\n"
        f"location searched: {dep}\n"
        f"required by package `needy v0.1.0 ({needy})`\n"
    )


def test_a_merged_crates_build_script_runs_and_reads_relative_files(project: Project) -> None:
    project.write("scripted/.rustimport", "")
    project.write(
        "scripted/Cargo.toml",
        '[package]\nname = "scripted"\nversion = "0.1.0"\nedition = "2021"\n',
    )
    project.write("scripted/greeting.txt", "hello from build.rs")
    project.write(
        "scripted/build.rs",
        """\
        fn main() {
            // Relative to the package folder, as cargo runs build scripts.
            let text = std::fs::read_to_string("greeting.txt").unwrap();
            println!("cargo:rustc-env=GREETING={}", text.trim());
            println!("cargo:rerun-if-changed=greeting.txt");
        }
        """,
    )
    project.write(
        "scripted/src/lib.rs",
        "// rusthook:pyo3\nuse pyo3::prelude::*;\n\n"
        '#[pyfunction]\nfn greeting() -> &\'static str {\n    env!("GREETING")\n}\n',
    )
    before = snapshot(project.root)
    run = project.hook_import("import scripted; print(scripted.greeting())")
    assert run.stdout == "hello from build.rs\n"
    assert snapshot(project.root) == before
    # The build script's inputs are tracked (cargo's dep-info names them).
    project.write("scripted/greeting.txt", "hello again")
    again = project.hook_import("import scripted; print(scripted.greeting())")
    assert again.stdout == "hello again\n" and again.built


def test_a_workspace_member_builds_with_the_workspace_lock_file(project: Project) -> None:
    write_all(
        project,
        {
            "ws/Cargo.toml": '[workspace]\nmembers = ["alpha", "beta", "gamma"]\nresolver = "2"\n',
            "ws/alpha/.rusthook": "",
            "ws/alpha/Cargo.toml": '[package]\nname = "alpha"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[dependencies]\nbeta = { path = "../beta" }\n',
            "ws/alpha/src/lib.rs": "// rusthook:pyo3\nuse pyo3::prelude::*;\n\n"
            "#[pyfunction]\nfn label(n: i64) -> String {\n    beta::render(n)\n}\n",
            "ws/beta/Cargo.toml": '[package]\nname = "beta"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[dependencies]\nitoa = "1"\n',
            "ws/beta/src/lib.rs": "pub fn render(n: i64) -> String {\n"
            "    itoa::Buffer::new().format(n).to_string()\n}\n",
            "ws/gamma/.rusthook": "",
            "ws/gamma/Cargo.toml": '[package]\nname = "gamma"\nversion = "0.1.0"\nedition = "2021"\n\n'
            '[dependencies]\nbeta = { path = "../beta" }\n',
            "ws/gamma/src/lib.rs": "// rusthook:pyo3\nuse pyo3::prelude::*;\n\n"
            '#[pyfunction]\nfn shout(n: i64) -> String {\n    format!("{}!", beta::render(n))\n}\n',
        },
    )
    # The workspace locks itoa to an older release than the newest one.
    ws = project.root / "ws"
    for command in (["generate-lockfile"], ["update", "-p", "itoa", "--precise", "1.0.15"]):
        subprocess.run(["cargo", *command], cwd=ws, check=True, capture_output=True)
    lock = (ws / "Cargo.lock").read_text()
    assert 'name = "itoa"\nversion = "1.0.15"' in lock
    before = snapshot(project.root)

    run = project.hook_import(
        "import ws.alpha, ws.gamma\nprint(ws.alpha.label(1234), ws.gamma.shout(5))\n"
        "print(rusthook.build_filepath('ws/alpha'))\nprint(rusthook.build_filepath('ws/gamma'))"
    )
    output, *libraries = run.stdout.splitlines()
    assert output == "1234 5!"
    assert snapshot(project.root) == before, "the workspace's own Cargo.lock is left alone"
    # Each member was built with the workspace's lock file (the copy cargo used, in the
    # module's cache folder beside its library).
    for library in libraries:
        used = Path(library).parent / "crate" / "Cargo.lock"
        assert 'name = "itoa"\nversion = "1.0.15"' in used.read_text()

    # An edit in the unmarked member rebuilds both marked ones.
    project.write(
        "ws/beta/src/lib.rs",
        'pub fn render(n: i64) -> String {\n    format!("<{}>", itoa::Buffer::new().format(n))\n}\n',
    )
    edited = project.hook_import(
        "import ws.alpha, ws.gamma\nprint(ws.alpha.label(1), ws.gamma.shout(2))"
    )
    assert edited.stdout == "<1> <2>!\n"


PINNED_LIB = """\
use pyo3::prelude::*;

/// Written for pyo3 0.23 (`IntoPy` is gone from later versions).
pub fn answer(py: Python<'_>) -> PyObject {
    42.into_py(py)
}
"""

USES_PINNED = """\
// rusthook:pyo3
//: [dependencies]
//: pinned = { path = "pinned" }
use pyo3::prelude::*;
use pyo3::types::PyString;

#[pyfunction]
fn answer(py: Python<'_>) -> PyObject {
    pinned::answer(py)
}

#[pyfunction]
fn length(text: &Bound<'_, PyString>) -> PyResult<usize> {
    Ok(text.to_str()?.len())
}
"""

CALL_LENGTH = """\
import {name}
print({name}.answer() if hasattr({name}, "answer") else "-", {name}.length("abc"))
try:
    {name}.length(5)
except TypeError as error:
    print("TypeError:", error)
"""


def test_a_file_depending_on_a_crate_pinned_to_another_pyo3_uses_that_pyo3(
    project: Project,
) -> None:
    project.write(
        "pinned/Cargo.toml",
        f'[package]\nname = "pinned"\nversion = "0.1.0"\nedition = "2021"\n\n[dependencies]\n{PYO3_LINE}\n',
    )
    project.write("pinned/src/lib.rs", PINNED_LIB)
    project.write("mixed.rs", USES_PINNED)
    run = project.hook_import(CALL_LENGTH.format(name="mixed"))
    # pyo3 0.23's own words for a wrong argument type.
    assert run.stdout == (
        "42 3\nTypeError: argument 'text': 'int' object cannot be converted to 'PyString'\n"
    )


def test_a_rustimport_file_that_asks_for_a_pyo3_version_gets_it(project: Project) -> None:
    project.write(
        "current.rs",
        """\
        // rustimport:pyo3
        //: [dependencies]
        //: pyo3 = { version = "0.30", features = ["abi3-py39"] }
        use pyo3::prelude::*;
        use pyo3::types::PyString;

        #[pyfunction]
        fn length(text: &Bound<'_, PyString>) -> PyResult<usize> {
            Ok(text.to_cow()?.len())
        }
        """,
    )
    run = project.hook_import(CALL_LENGTH.format(name="current"))
    # pyo3 0.30's wording of the same error.
    assert run.stdout == "- 3\nTypeError: 'int' object is not an instance of 'str'\n"


def test_command_line_new_and_build_as_rustimport_has_them(project: Project) -> None:
    made_file = cli(project, "new", "single.rs")
    assert made_file.returncode == 0, made_file.stderr
    assert made_file.stdout == (
        f"created {project.root / 'single.rs'}: `import single` builds and loads it "
        "(with rusthook active)\n"
    )
    made_crate = cli(project, "new", "krate")
    assert made_crate.returncode == 0, made_crate.stderr
    assert (project.root / "krate" / ".rusthook").read_text().strip()

    # `build PATH` writes the extension beside the source, where rustimport puts it.
    built = cli(project, "build", "single.rs")
    assert built.returncode == 0, built.stderr
    assert built.stdout == f"{project.root / f'single{EXT_SUFFIX}'}\n"
    # No hook: Python imports the library by itself.
    assert project.run("import single; print(single.add(2, 3))").stdout == "5\n"

    # `build` with no path builds everything below the current folder; -r and -f as in
    # rustimport (release, and a rebuild of what is fresh).
    everything = cli(project, "build", "-r", "-f")
    assert everything.returncode == 0, everything.stderr
    assert everything.stdout.splitlines() == [
        str(project.root / f"krate{EXT_SUFFIX}"),
        str(project.root / f"single{EXT_SUFFIX}"),
    ]
    assert "rusthook: building single (release)" in everything.stderr
    assert "rusthook: building krate (release)" in everything.stderr
    assert project.run("import krate; print(krate.add(1, 1))").stdout == "2\n"

    # rustimport's -v and -q before the command.
    verbose = cli(project, "-v", "build", "-r", "krate")
    assert verbose.returncode == 0, verbose.stderr
    assert "DEBUG rusthook.freshness krate is fresh" in verbose.stderr
    quiet = cli(project, "-q", "build", "-f", "krate")
    assert quiet.returncode == 0
    assert quiet.stderr == "", "quiet: not even the in-place library's line"
    assert (project.root / f"krate{EXT_SUFFIX}").is_file()

    again = cli(project, "new", "single.rs")
    assert again.returncode == 1
    assert again.stderr == (
        f"rusthook: error: {project.root / 'single.rs'} already exists; "
        "choose another name or remove it first\n"
    )
    bad = cli(project, "new", "bad-name.rs")
    assert bad.returncode == 1
    assert bad.stderr == (
        f"rusthook: error: `bad-name` (from {project.root / 'bad-name.rs'}) is not a valid "
        "Python module name; rename it to a Python identifier such as `bad_name`\n"
    )


# Code for rustimport's pyo3 (`with_gil` and `IntoPy` are gone from later versions).
RUSTIMPORT_CELL = """\
%%rustimport --module-path-variable=libpath {flags}
use pyo3::prelude::*;

#[pyfunction]
fn legacy_answer() -> PyObject {{
    Python::with_gil(|py| {value}.into_py(py))
}}
"""


# A release build, with the pyo3 the rest of the test session compiles in release mode
# (a cell's `//:` lines choose its pyo3 as a file's do).
RELEASE_CELL = """\
%%rustimport -r --module-path-variable=libpath
//: [dependencies]
//: pyo3 = { version = "0.30", features = ["abi3-py39"] }
use pyo3::prelude::*;

#[pyfunction]
fn legacy_answer() -> i64 {
    7
}
"""


def test_notebook_rustimport_magic_with_rustimports_flags(project: Project) -> None:
    cells = [
        RUSTIMPORT_CELL.format(flags="", value=42),
        "import os\nprint(legacy_answer(), os.path.isfile(libpath))",
        RUSTIMPORT_CELL.format(flags="-f", value=42),
        RELEASE_CELL,
        "print(legacy_answer(), os.path.isfile(libpath))",
        "%%rustimport --frobnicate\nfn f() {}\n",
    ]
    results = run_session(project, cells)
    assert [r["ok"] for r in results] == [True, True, True, True, True, False], results
    assert results[1]["stdout"] == "42 True\n"
    assert "rusthook: building" in results[2]["stderr"], "-f rebuilds an unchanged cell"
    assert "(release)" in results[3]["stderr"]
    assert results[4]["stdout"] == "7 True\n"
    assert str(results[5]["stderr"]).startswith(
        "UsageError: %%rustimport: unrecognized arguments: --frobnicate\nusage: %%rustimport "
    )


def test_rustimport_environment_variables(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    forced = project.env(RUSTIMPORT_FORCE_REBUILD="true")
    assert project.hook_import("import fast", env=forced).built
    assert project.hook_import("import fast", env=forced).built
    # rusthook's own variable wins where both are set.
    assert not project.hook_import(
        "import fast", env=project.env(RUSTIMPORT_FORCE_REBUILD="1", RUSTHOOK_FORCE_REBUILD="0")
    ).built
    released = project.hook_import("import fast", env=project.env(RUSTIMPORT_RELEASE_BINARIES="1"))
    assert "rusthook: building fast (release)" in released.stderr

    # Release mode: no hook; the library built beside the source is imported as is.
    assert cli(project, "build", "fast.rs").returncode == 0
    project.write("fast.rs", DOUBLE_RS.replace("x * 2", "x * 3"))
    production = project.hook_import(
        "print(rusthook.is_installed()); import fast; print(fast.double(2))",
        env=project.env(RUSTIMPORT_RELEASE_MODE="1"),
    )
    assert production.stdout == "False\n4\n" and not production.built

    missing = project.hook_import(
        "try:\n    import fast\nexcept ImportError as e:\n    print(type(e).__name__)\n    print(e)",
        env=project.env(RUSTIMPORT_CARGO_EXECUTABLE="/nonexistent/cargo"),
    )
    assert missing.stdout == (
        "RusthookError\ncould not run `/nonexistent/cargo`: No such file or directory "
        "(os error 2).\nInstall Rust (https://rustup.rs) and make sure `/nonexistent/cargo` "
        "can be run (it is looked up on PATH; CARGO and RUSTC name other programs).\n"
    )
