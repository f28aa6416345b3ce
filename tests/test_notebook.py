"""The IPython magic: `%load_ext rusthook`, then `%%rust` cells, in a real IPython shell."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import Project

# Runs cells in a real InteractiveShell; each cell's captured output (what a notebook
# shows under the cell) and outcome are printed as one JSON line.
SESSION = """\
import json, sys, time
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

shell = InteractiveShell.instance()
shell.run_line_magic("load_ext", "rusthook")


def cell(code):
    started = time.perf_counter()
    with capture_output() as output:
        result = shell.run_cell(code)
    print(json.dumps({
        "ok": result.success,
        "error": type(result.error_in_exec).__name__ if result.error_in_exec else None,
        "stdout": output.stdout,
        "stderr": output.stderr,
        "seconds": time.perf_counter() - started,
    }))

"""

DOUBLE = """\
%%rust
#[pyfunction]
fn double(x: i64) -> i64 {
    x * 2
}
"""


def run_session(project: Project, cells: list[str]) -> list[dict[str, object]]:
    code = SESSION + "".join(f"cell({c!r})\n" for c in cells)
    run = project.run(
        code,
        env=project.env(
            IPYTHONDIR=str(project.root / "ipython"),
            XDG_CACHE_HOME=str(project.root / "cache"),
        ),
    )
    results = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    assert len(results) == len(cells), run.stdout + run.stderr
    return results


def cell_folder(project: Project) -> Path:
    return project.root / "cache" / "ipython" / "rusthook"


def test_define_call_edit_and_rerun(project: Project) -> None:
    (project.root / "cache").mkdir()
    results = run_session(
        project,
        [
            DOUBLE,
            "print(double(21), double.__module__)",
            DOUBLE.replace("x * 2", "x * 3"),
            "print(double(21), double.__module__)",
            DOUBLE.replace("x * 2", "x * 3"),  # unchanged: loads without a build
            "print(double(21))",
            "%%rusthook\n#[pyclass]\nstruct Counter {\n    #[pyo3(get)]\n    count: u64,\n}\n\n"
            "#[pymethods]\nimpl Counter {\n    #[new]\n    fn new() -> Self {\n        Counter { count: 0 }\n    }\n"
            "    fn bump(&mut self) -> u64 {\n        self.count += 1;\n        self.count\n    }\n}\n",
            "c = Counter(); c.bump(); print(c.bump(), c.count)",
        ],
    )
    first, called, edited, called_again, unchanged, called_third, _counter, counted = results
    assert all(r["ok"] for r in results), results
    # Build progress and the log lines are part of the cell's output.
    assert "rusthook: building _rusthook_cell_" in str(first["stderr"])
    assert "rusthook: built _rusthook_cell_" in str(first["stderr"])
    value, module = str(called["stdout"]).split()
    assert value == "42" and module.startswith("_rusthook_cell_")
    assert "rusthook: building" in str(edited["stderr"])
    value, new_module = str(called_again["stdout"]).split()
    assert value == "63"
    assert new_module != module, "changed code loads as a new module"
    assert unchanged["stderr"] == "", "an unchanged cell loads without a build"
    assert called_third["stdout"] == "63\n"
    assert counted["stdout"] == "2 2\n"
    # The cell sources are saved in IPython's cache folder, exactly as written.
    saved = cell_folder(project) / f"{module}.rs"
    assert saved.read_text() == DOUBLE.split("\n", 1)[1]
    print(f"edited cell re-run: {edited['seconds']:.2f} s")


def test_compile_error_shows_the_cell_line_and_keeps_the_old_function(project: Project) -> None:
    broken = (
        "%%rust\n#[pyfunction]\nfn double(x: i64) -> i64 {\n"
        '    let y: i64 = "not a number";\n    x * 2 + y\n}\n'
    )
    results = run_session(project, [DOUBLE, broken, "print(double(5))"])
    assert results[0]["ok"]
    error = results[1]
    assert not error["ok"] and error["error"] == "CellBuildError"
    shown = str(error["stdout"])
    # IPython shows the diagnostics (no traceback through rusthook), at the cell's line 3.
    assert shown.startswith("CellBuildError: could not build _rusthook_cell_")
    assert "error[E0308]: mismatched types" in shown
    assert ".rs:3:18" in shown, shown
    assert '3 |     let y: i64 = "not a number";' in shown
    assert "Traceback" not in shown and "wrapper.rs" not in shown
    assert results[2]["stdout"] == "10\n"


def test_release_force_and_quiet(project: Project) -> None:
    results = run_session(
        project,
        [
            DOUBLE,
            "debug = double.__module__",
            DOUBLE.replace("%%rust", "%%rust --release"),
            "print(double(4), double.__module__ != debug)",
            DOUBLE.replace("%%rust", "%%rust --force --quiet"),
            "print(double(5), double.__module__ != debug)",
        ],
    )
    assert all(r["ok"] for r in results), results
    assert "rusthook: building _rusthook_cell_" in str(results[2]["stderr"])
    assert "(release)" in str(results[2]["stderr"])
    assert results[3]["stdout"] == "8 True\n", "a release build is a module of its own"
    assert results[4]["stderr"] == "", "--quiet shows nothing"
    assert results[5]["stdout"] == "10 True\n", "--force rebuilds under a new name"


def test_bad_cells(project: Project) -> None:
    results = run_session(
        project,
        [
            "%%rust --bogus\nfn f() {}\n",
            "%%rust\n#[pymodule]\nmod m {}\n",
            "%%rust\n//: [dependencies\n#[pyfunction]\nfn f() {}\n",
        ],
    )
    bogus, pymodule, manifest = results
    assert bogus["error"] == "UsageError"  # shown as IPython shows bad magic options
    assert bogus["stdout"] == ""
    assert str(bogus["stderr"]).startswith(
        "UsageError: %%rust: unrecognized arguments: --bogus\nusage: %%rust "
    )
    assert pymodule["error"] == "CellBuildError"
    assert str(pymodule["stdout"]).endswith(
        ".rs: a %%rust cell cannot define a #[pymodule]: the cell's module is generated "
        "(named after a hash of the cell) and registers its #[pyfunction]s and "
        "#[pyclass]es; remove the #[pymodule]\n"
    )
    assert manifest["error"] == "CellBuildError"
    assert ".rs:1: invalid `//:` Cargo.toml line" in str(manifest["stdout"])


def test_import_rusthook_does_not_import_ipython(project: Project) -> None:
    run = project.run(
        "import sys, rusthook\n"
        "print(sorted(m for m in ('IPython', 'typing', 'logging', 'pathlib', 'importlib.util')"
        " if m in sys.modules))"
    )
    assert run.stdout == "[]\n"
