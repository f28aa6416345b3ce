"""`.pyi` stubs of the modules rusthook builds: true to the built module (stubtest),
useful to mypy --strict and pyright (basedpyright), written only where asked, rewritten
only when the interface changes, and never over a stub someone else wrote."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import EXT_SUFFIX, Project, make_crate

# The interface the tests cover: defaults, keyword-only and *args/**kwargs, Option, Vec,
# HashMap, Any, a class with #[new], getters and setters, static and class methods, an
# enum, a function returning another class, docstrings from /// comments.
TYPED_RS = """\
// rusthook:pyo3
use pyo3::prelude::*;
use std::collections::HashMap;

/// Double a number.
#[pyfunction]
fn double(x: i64) -> i64 {
    x * 2
}

/// Greet someone.
#[pyfunction]
#[pyo3(signature = (name, greeting = "hello", *, loud = false))]
fn greet(name: &str, greeting: &str, loud: bool) -> String {
    let text = format!("{greeting} {name}");
    if loud { text.to_uppercase() } else { text }
}

#[pyfunction]
#[pyo3(signature = (*args, **kwargs))]
fn count(args: Vec<i64>, kwargs: Option<HashMap<String, f64>>) -> usize {
    args.len() + kwargs.map_or(0, |k| k.len())
}

#[pyfunction]
fn maybe(x: Option<i64>) -> Option<String> {
    x.map(|v| v.to_string())
}

#[pyfunction]
fn tally(words: Vec<String>) -> HashMap<String, usize> {
    let mut counts = HashMap::new();
    for word in words {
        *counts.entry(word).or_insert(0) += 1;
    }
    counts
}

#[pyfunction]
fn anything(x: Bound<'_, PyAny>) -> Bound<'_, PyAny> {
    x
}

#[pyfunction]
fn parse(text: &str) -> PyResult<i64> {
    text.trim()
        .parse()
        .map_err(|_| pyo3::exceptions::PyValueError::new_err("not a number"))
}

/// A point in the plane.
#[pyclass]
#[derive(Clone)]
struct Point {
    #[pyo3(get, set)]
    x: f64,
    y: f64,
}

#[pymethods]
impl Point {
    #[new]
    #[pyo3(signature = (x, y = 0.0))]
    fn new(x: f64, y: f64) -> Self {
        Point { x, y }
    }
    #[getter]
    fn y(&self) -> f64 {
        self.y
    }
    #[setter]
    fn set_y(&mut self, y: f64) {
        self.y = y
    }
    /// Distance from the origin.
    fn norm(&self) -> f64 {
        (self.x * self.x + self.y * self.y).sqrt()
    }
    #[staticmethod]
    fn origin() -> Point {
        Point { x: 0.0, y: 0.0 }
    }
    #[classmethod]
    fn unit(_cls: &Bound<'_, pyo3::types::PyType>) -> Point {
        Point { x: 1.0, y: 0.0 }
    }
    fn color(&self) -> Color {
        Color::Red
    }
}

#[pyclass(eq, eq_int)]
#[derive(PartialEq, Clone)]
enum Color {
    Red,
    Green,
}

#[pyfunction]
fn make_point(x: f64) -> Point {
    Point { x, y: 0.0 }
}
"""

# A script that uses the module correctly: no errors, and the real types revealed.
GOOD_PY = """\
import {name}
reveal_type({name}.double(2))
reveal_type({name}.greet("a", loud=True))
reveal_type({name}.count(1, 2, a=1.0))
reveal_type({name}.maybe(None))
reveal_type({name}.tally(["a"]))
reveal_type({name}.make_point(1.0))
reveal_type({name}.Point(1.0, y=2.0).color())
reveal_type({name}.Point.origin().y)
reveal_type({name}.Point.unit().norm())
reveal_type({name}.Color.Green)
p = {name}.Point(1.0)
p.x = 2.0
p.y = 3.0
"""

# mypy's and pyright's spelling of each revealed type, line by line.
REVEALED = [
    "int",
    "str",
    "int",
    "str | None",
    "dict[str, int]",
    "{name}.Point",
    "{name}.Color",
    "float",
    "float",
    "{name}.Color",
]

# A script with one mistake per line (2 to 6).
BAD_PY = """\
import {name}
{name}.double("x")
{name}.greet("a", "b", True)
{name}.maybe("3")
{name}.Point(1.0).norm = 3
{name}.Point.origin().nope
"""


def stubs_cli(project: Project, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    code = f"import sys; from rusthook.cli import main; sys.exit(main({['stubs', *args]!r}))"
    return project.run(code, check=False, env=env)


def stubtest(
    project: Project, module: str, *, hook: bool = True
) -> subprocess.CompletedProcess[str]:
    """mypy's stubtest of `module` against the stub beside it, the module imported by
    the hook (or, with hook=False, by Python alone: a deployment)."""
    install = "import rusthook; rusthook.install()\n" if hook else ""
    code = (
        f"import sys\n{install}from mypy.stubtest import main\n"
        f"sys.argv = ['stubtest', {module!r}]\nsys.exit(main())"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def mypy(project: Project, *files: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-error-summary", *files],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def pyright(
    project: Project, *files: str, extra_paths: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """basedpyright in pyright's strict mode (its own Node.js, nothing fetched);
    `extra_paths` are searched for imports too."""
    config = {"typeCheckingMode": "strict", "extraPaths": list(extra_paths)}
    project.write("pyrightconfig.json", json.dumps(config) + "\n")
    program = shutil.which("basedpyright", path=os.path.dirname(sys.executable))
    assert program, "basedpyright is not installed: pip install -e '.[test]'"
    return subprocess.run(
        [program, *files],
        cwd=project.root,
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=600,
    )


def check_with_type_checkers(project: Project, name: str) -> None:
    """mypy --strict and pyright on a correct and an incorrect script using `name`."""
    good = f"good_{name}.py"
    bad = f"bad_{name}.py"
    project.write(good, GOOD_PY.format(name=name))
    project.write(bad, BAD_PY.format(name=name))
    # One run of each checker over both scripts (each run costs a second or two to start);
    # their lines name the script they are about.
    checked = mypy(project, good, bad)
    assert [line for line in checked.stdout.splitlines() if line.startswith(f"{good}:")] == [
        f'{good}:{line}: note: Revealed type is "{revealed.format(name=name)}"'
        for line, revealed in enumerate(REVEALED, start=2)
    ], checked.stdout + checked.stderr
    errors = [line for line in checked.stdout.splitlines() if ": error: " in line]
    assert all(line.startswith(f"{bad}:") for line in errors), checked.stdout
    assert [line.split(":")[1] for line in errors] == ["2", "3", "4", "5", "5", "6"], checked.stdout
    assert (
        'Argument 1 to "double" has incompatible type "str"; expected "SupportsIndex"' in errors[0]
    )
    assert 'Too many positional arguments for "greet"' in errors[1]
    assert '"maybe" has incompatible type "str"; expected "SupportsIndex | None"' in errors[2]
    assert '"Point" has no attribute "nope"' in errors[5]

    right = pyright(project, good, bad)
    assert right.returncode == 1, right.stdout
    for line, revealed in enumerate(REVEALED, start=2):
        # pyright's own spelling: the class without its module.
        short = revealed.format(name=name).rsplit(".", 1)[-1]
        shown = rf'/{good}:{line}:13 - information: Type of ".+" is "{re.escape(short)}"$'
        assert re.search(shown, right.stdout, re.M), (line, right.stdout)
    lines = [line.strip() for line in right.stdout.splitlines() if " - error: " in line]
    assert all(f"/{bad}:" in line for line in lines), right.stdout
    assert {line.split(":")[1] for line in lines} == {"2", "3", "4", "5", "6"}, right.stdout
    assert re.fullmatch(
        rf"{len(lines)} errors?, \d+ warnings?, {len(REVEALED)} notes",
        right.stdout.splitlines()[-1],
    ), right.stdout


def test_a_single_files_stub_is_true_to_the_module_and_typed(project: Project) -> None:
    project.write("typed.rs", TYPED_RS)
    run = stubs_cli(project, "typed.rs")
    assert run.returncode == 0, run.stderr
    stub = project.root / "typed.pyi"
    assert run.stdout == f"{stub}: written\n"
    text = stub.read_text()
    assert text.splitlines()[:4] == [
        "# Generated by rusthook from typed.rs; rewritten when the module's interface changes.",
        "# Typed by pyo3's introspection of the built library.",
        "# Any: `count` *args, **kwargs: pyo3 gives no type for them (a "
        '`#[pyo3(signature = (x: "int"))]` annotation would)',
        "",
    ]
    for line in [
        "def double(x: SupportsIndex) -> int:",
        "    Double a number.",
        'def greet(name: str, greeting: str = "hello", *, loud: bool = False) -> str:',
        "def count(*args: Any, **kwargs: Any) -> int: ...",
        "def maybe(x: SupportsIndex | None) -> str | None: ...",
        "def anything(x: Any) -> Any: ...",
        "def parse(text: str) -> int: ...",
        "def make_point(x: SupportsFloat | SupportsIndex) -> Point: ...",
        "class Point:",
        "    def __new__(cls, /, x: SupportsFloat | SupportsIndex, y: SupportsFloat | SupportsIndex = 0.0) -> Point: ...",
        "    @staticmethod",
        "    @classmethod",
        "    @y.setter",
        "    Red: Final[Color]",
    ]:
        assert line in text.splitlines(), line

    checked = stubtest(project, "typed")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout == "Success: no issues found in 1 module\n"
    check_with_type_checkers(project, "typed")

    # Asked again with nothing changed: nothing built, nothing written.
    again = stubs_cli(project, "typed.rs")
    assert again.stdout == f"{stub}: up to date\n"
    assert not again.built


def test_a_marked_crates_stub_on_every_import(project: Project) -> None:
    make_crate(project, "krate", marker=".rusthook")
    project.write(
        "krate/src/lib.rs",
        """\
        use pyo3::prelude::*;

        #[pymodule]
        mod krate {
            use pyo3::prelude::*;

            /// The answer.
            #[pyfunction]
            #[pyo3(signature = (offset = 0, *, scale = 1))]
            fn answer(offset: i64, scale: i64) -> i64 {
                42 * scale + offset
            }

            #[pymodule_export]
            const LIMIT: u32 = 7;
        }
        """,
    )
    run = project.run(
        "import rusthook; rusthook.install(stubs=True); import krate; print(krate.answer(1))"
    )
    assert run.stdout == "43\n"
    stub = (project.root / "krate.pyi").read_text()
    assert stub.startswith("# Generated by rusthook from krate; rewritten when")
    assert "def answer(offset: SupportsIndex = 0, *, scale: SupportsIndex = 1) -> int:" in stub
    assert "LIMIT: Final = 7" in stub.splitlines()
    checked = stubtest(project, "krate")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    project.write("use_krate.py", "import krate\nreveal_type(krate.answer(scale=2))\n")
    project.write("bad_krate.py", "import krate\nkrate.answer(1, 2)\n")
    checked = mypy(project, "use_krate.py", "bad_krate.py").stdout.splitlines()
    used = [line for line in checked if line.startswith("use_krate.py:")]
    assert used == ['use_krate.py:2: note: Revealed type is "int"'], checked
    errors = [line for line in checked if ": error: " in line]
    assert len(errors) == 1, checked
    assert errors[0].startswith('bad_krate.py:2: error: Too many positional arguments for "answer"')
    right = pyright(project, "use_krate.py", "bad_krate.py")
    assert right.returncode == 1, right.stdout
    assert 'use_krate.py:2:13 - information: Type of "krate.answer(scale=2)" is "int"' in (
        right.stdout
    )
    errors = [line.strip() for line in right.stdout.splitlines() if " - error: " in line]
    assert len(errors) == 1, right.stdout
    assert "bad_krate.py:2:17 - error: Expected 1 positional argument" in errors[0]


def test_the_stub_changes_with_the_interface_and_only_then(project: Project) -> None:
    source = project.write("fresh.rs", TYPED_RS)
    stub = project.root / "fresh.pyi"
    env = project.env(RUSTHOOK_STUBS="1")
    first = project.hook_import("import fresh; print(fresh.double(2))", env=env)
    assert first.built and first.stdout == "4\n"
    written = stub.stat().st_mtime_ns
    before = stub.read_text()

    # An up-to-date import: no build, the stub untouched.
    fresh = project.hook_import("import fresh", env=env)
    assert not fresh.built
    assert stub.stat().st_mtime_ns == written

    # A body edit rebuilds, but the interface is the same: the stub is not rewritten.
    source.write_text(TYPED_RS.replace("x * 2", "x + x"))
    body = project.hook_import("import fresh; print(fresh.double(3))", env=env)
    assert body.built and body.stdout == "6\n"
    assert stub.stat().st_mtime_ns == written and stub.read_text() == before

    # A signature edit changes the stub in the same import.
    source.write_text(
        TYPED_RS.replace(
            "fn double(x: i64) -> i64 {\n    x * 2",
            "#[pyo3(signature = (x, times = None))]\nfn double(x: i64, times: Option<i64>) -> i64 {\n    x * times.unwrap_or(2)",
        )
    )
    signature = project.hook_import("import fresh; print(fresh.double(3))", env=env)
    assert signature.built and signature.stdout == "6\n"
    assert "def double(x: SupportsIndex, times: SupportsIndex | None = None) -> int:" in (
        stub.read_text()
    )

    # Without stubs asked for, builds leave the stub alone (and build without
    # introspection); a removed stub comes back at the next import that asks for one.
    source.write_text(TYPED_RS)
    plain = project.hook_import("import fresh")
    assert plain.built
    assert "times" in stub.read_text()
    stub.unlink()
    back = project.hook_import("import fresh", env=env)
    assert back.built  # the introspected build of the edited source
    assert "def double(x: SupportsIndex) -> int:" in stub.read_text()
    stub.unlink()
    again = project.hook_import("import fresh", env=env)
    assert not again.built
    assert stub.read_text() == before


def test_a_stub_rusthook_did_not_write_is_kept_and_said_once(project: Project) -> None:
    project.write("mine.rs", TYPED_RS)
    own = project.write("mine.pyi", "def double(x: int) -> int: ...\n")
    original = own.read_text()
    env = project.env(RUSTHOOK_STUBS="1")
    run = project.hook_import("import mine; print(mine.double(1))", env=env)
    assert run.stdout == "2\n"
    assert own.read_text() == original
    message = (
        f"rusthook: {own} was not written by rusthook, so it is left as it is (rusthook "
        "replaces only stubs whose first line starts with `# Generated by rusthook`); "
        f"`python -m rusthook stubs --diff {project.root / 'mine.rs'}` shows how it differs "
        "from the module"
    )
    assert message in run.stderr.splitlines()
    # Said once: the next build does not say it again.
    (project.root / "mine.rs").write_text(TYPED_RS.replace("x * 2", "x + x"))
    rebuilt = project.hook_import("import mine", env=env)
    assert rebuilt.built and "was not written by rusthook" not in rebuilt.stderr
    assert own.read_text() == original

    cli = stubs_cli(project, "mine.rs")
    assert cli.returncode == 0
    assert cli.stdout == (
        f"{own}: not written by rusthook, left as it is (--diff shows how it differs)\n"
    )
    diff = stubs_cli(project, "--diff", "mine.rs")
    assert diff.returncode == 1
    assert diff.stdout.startswith(f"--- {own}\n+++ {own} (from mine.rs)\n")
    assert "-def double(x: int) -> int: ...\n" in diff.stdout
    assert "+def double(x: SupportsIndex) -> int:\n" in diff.stdout
    assert own.read_text() == original


def test_in_place_builds_ship_the_stub_beside_the_library(project: Project) -> None:
    project.write("app/shipped.rs", TYPED_RS)
    deployed = Project(project.root / "app", project.build_dir)
    make_crate(deployed, "packed", marker=".rusthook")
    run = project.run("import rusthook; rusthook.build_all('app')")
    assert run.built
    assert (project.root / "app" / f"shipped{EXT_SUFFIX}").is_file()
    assert (project.root / "app/shipped.pyi").read_text().startswith("# Generated by rusthook")
    assert "def answer() -> int: ..." in (project.root / "app/packed.pyi").read_text()
    # The deployment: Python imports the libraries by itself, the stubs match them.
    (project.root / "app/shipped.rs").unlink()
    shutil.rmtree(project.root / "app/packed")
    checked = stubtest(deployed, "shipped", hook=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    check_with_type_checkers(deployed, "shipped")
    assert stubtest(deployed, "packed", hook=False).returncode == 0


def test_sources_introspection_cannot_read_get_a_sketch_that_says_why(project: Project) -> None:
    # rustimport's template gives pyo3 0.23, which has no introspection data.
    project.write(
        "old.rs",
        """\
        // rustimport:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn double(x: i64, y: Option<i64>) -> i64 {
            x * 2 + y.unwrap_or(0)
        }

        #[pyclass]
        struct Thing {}
        """,
    )
    run = stubs_cli(project, "old.rs")
    assert run.returncode == 0, run.stderr
    text = (project.root / "old.pyi").read_text()
    assert text.splitlines()[1] == (
        "# Sketched from the source, not typed: the library carries no pyo3 introspection "
        "data (it needs pyo3 0.30 and a module rusthook generates or a `#[pymodule] mod`; "
        "a `#[pymodule] fn` or an older pyo3 cannot be introspected). What the source does "
        "not say is Any."
    )
    assert "def double(x: Any, y: Any = None) -> Any: ..." in text
    assert "class Thing:" in text
    checked = stubtest(project, "old")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    project.write("use_old.py", "import old\nreveal_type(old.double(1))\nold.double()\n")
    out = mypy(project, "use_old.py").stdout.splitlines()
    assert out[0] == 'use_old.py:2: note: Revealed type is "Any"'
    assert out[1].startswith('use_old.py:3: error: Missing positional argument "x"')


def test_stub_errors_say_what_to_do(project: Project) -> None:
    project.write(
        "cdecl.rs",
        """\
        // rusthook:cffi
        #[no_mangle]
        pub extern "C" fn add(a: i32, b: i32) -> i32 { a + b }
        """,
    )
    run = stubs_cli(project, "cdecl.rs")
    assert run.returncode == 1
    assert run.stderr.splitlines()[-1] + "\n" == (
        f"rusthook: error: {project.root / 'cdecl.rs'} is a C-ABI (cffi) module: Python sees "
        "it through cffi's `ffi` and `lib`, which take their types from its C declarations, "
        "so rusthook writes no .pyi stub for it\n"
    )
    assert not (project.root / "cdecl.pyi").exists()
    project.write("empty/notes.txt", "no module here\n")
    nothing = stubs_cli(project, "empty")
    assert nothing.returncode == 1
    assert nothing.stderr == (
        f"rusthook: error: {project.root / 'empty'} is not an importable Rust source: "
        "a crate directory needs a Cargo.toml\n"
    )
    bad = project.run(
        "import rusthook\ntry:\n    rusthook.install()\nexcept ValueError as e:\n    print(e)",
        env=project.env(RUSTHOOK_STUBS="sometimes"),
    )
    assert bad.stdout == (
        "RUSTHOOK_STUBS=sometimes is not a yes/no value; use 1, true, yes or on to switch it "
        "on, 0, false, no or off to switch it off\n"
    )
    typo = project.run(
        "import rusthook\ntry:\n    rusthook.install(stub=True)\nexcept TypeError as e:\n    print(e)"
    )
    assert typo.stdout.startswith("unknown setting `stub` (did you mean `stubs`?)")


def test_cell_functions_show_their_signatures_in_help_and_ipython(project: Project) -> None:
    from test_notebook import run_session

    (project.root / "cache").mkdir()
    # Stubs asked for: a cell still builds without introspection and writes no stub
    # (its source lives in IPython's cache, where no editor reads one).
    plain_env = project.env
    project.env = lambda **extra: plain_env(RUSTHOOK_STUBS="1", **extra)  # type: ignore[method-assign]
    cell = (
        "%%rust\n/// Greet someone.\n#[pyfunction]\n"
        '#[pyo3(signature = (name, greeting = "hello", *, loud = false))]\n'
        "fn greet(name: &str, greeting: &str, loud: bool) -> String {\n"
        '    let text = format!("{greeting} {name}");\n'
        "    if loud { text.to_uppercase() } else { text }\n}\n"
    )
    results = run_session(
        project,
        [
            cell,
            "help(greet)",
            "import inspect; print(inspect.signature(greet))",
            # What `greet?` shows as Signature and Docstring.
            "info = get_ipython().inspector.info(greet)\n"
            "print(info['definition']); print(info['docstring'])",
        ],
    )
    assert all(r["ok"] for r in results), results
    helped = str(results[1]["stdout"])
    assert "greet(name, greeting='hello', *, loud=False)\n    Greet someone.\n" in helped
    assert results[2]["stdout"] == "(name, greeting='hello', *, loud=False)\n"
    assert results[3]["stdout"] == "(name, greeting='hello', *, loud=False)\nGreet someone.\n"
    assert not list((project.root / "ipython").rglob("*.pyi"))
    assert not list((project.root / "cache").rglob("*.pyi"))


def test_site_install_with_stubs_writes_them_for_plain_imports(
    project: Project, tmp_path: Path
) -> None:
    from test_site import make_venv

    python, site_packages = make_venv(tmp_path / "venv")
    project.write("sited.rs", TYPED_RS)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(python), *args],
            cwd=project.root,
            env=project.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    installed = run("-m", "rusthook", "site", "install", "--stubs")
    assert installed.returncode == 0, installed.stderr
    assert (
        "rusthook._site.activate(stubs=True)"
        in (site_packages / "rusthook_activate.pth").read_text()
    )
    imported = run("-c", "import sited; print(sited.double(2))")
    assert imported.returncode == 0, imported.stderr
    assert imported.stdout == "4\n"
    assert (project.root / "sited.pyi").read_text().startswith("# Generated by rusthook")
    assert run("-m", "rusthook", "site", "uninstall").returncode == 0
