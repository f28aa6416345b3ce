"""Single-file modules: `fast.rs` beside the script, `import fast`."""

from __future__ import annotations

import os
import time

from conftest import DOUBLE_RS, Project


def test_import_builds_and_generates_the_pymodule(project: Project) -> None:
    project.write(
        "fast.rs",
        """\
        // rusthook:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn double(x: i64) -> i64 {
            x * 2
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

        fn not_exported() -> i64 {
            1
        }
        """,
    )
    run = project.run(
        "import rusthook; rusthook.install(); import fast; "
        "c = fast.Counter(); c.bump(); "
        "print(fast.double(21), c.bump(), c.count, hasattr(fast, 'not_exported'))"
    )
    assert run.stdout.split() == ["42", "2", "2", "False"]
    assert run.built


def test_file_with_its_own_pymodule_works_as_written(project: Project) -> None:
    project.write(
        "own.rs",
        """\
        // rusthook:pyo3
        use pyo3::prelude::*;

        #[pyfunction]
        fn triple(x: i64) -> i64 {
            x * 3
        }

        #[pymodule]
        fn own(m: &Bound<'_, PyModule>) -> PyResult<()> {
            m.add_function(wrap_pyfunction!(triple, m)?)?;
            m.add("ANSWER", 42)?;
            Ok(())
        }
        """,
    )
    run = project.hook_import("import own; print(own.triple(3), own.ANSWER)")
    assert run.stdout.split() == ["9", "42"]


def test_inner_doc_comments_and_attributes_are_kept(project: Project) -> None:
    project.write(
        "documented.rs",
        """\
        // rusthook:pyo3
        //! A module with crate docs and an inner attribute.
        #![allow(dead_code)]
        use pyo3::prelude::*;

        fn unused() {}

        #[pyfunction]
        fn one() -> i64 {
            1
        }
        """,
    )
    assert project.hook_import("import documented; print(documented.one())").stdout.strip() == "1"


def test_fresh_import_touch_and_edit(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    mtime = source.stat().st_mtime_ns
    first = project.hook_import("import fast; print(fast.double(21), fast.__file__)")
    assert first.built
    value, library = first.stdout.split()
    assert value == "42"
    # The build wrote nothing beside the source, nor into it.
    assert source.read_text() == DOUBLE_RS and source.stat().st_mtime_ns == mtime
    assert sorted(p.name for p in project.root.iterdir()) == ["fast.rs"]

    again = project.hook_import("import fast; print(fast.double(21), fast.__file__)")
    assert not again.built, again.stderr
    assert again.stdout.split() == ["42", library]

    # A touch changes the mtime but not the contents: no build.
    later = time.time() + 5
    os.utime(source, (later, later))
    touched = project.hook_import("import fast; print(fast.double(21))")
    assert not touched.built, touched.stderr
    assert touched.stdout.strip() == "42"

    source.write_text(DOUBLE_RS.replace("x * 2", "x * 2 + 1"))
    edited = project.hook_import("import fast; print(fast.double(21), fast.__file__)")
    assert edited.built
    value, new_library = edited.stdout.split()
    assert value == "43"
    assert new_library != library, "each build gets a distinct file name"

    # And after the edit, fresh again.
    assert not project.hook_import("import fast").built


def test_manifest_lines_add_dependencies(project: Project) -> None:
    project.write(
        "formatting.rs",
        """\
        // rusthook:pyo3
        //: [dependencies]
        //: itoa = "1"
        use pyo3::prelude::*;

        #[pyfunction]
        fn format_number(n: i64) -> String {
            let mut buffer = itoa::Buffer::new();
            buffer.format(n).to_string()
        }
        """,
    )
    run = project.hook_import("import formatting; print(formatting.format_number(-1234))")
    assert run.stdout.strip() == "-1234"


def test_dependency_globs_trigger_rebuilds(project: Project) -> None:
    project.write(
        "greeting.rs",
        """\
        // rusthook:pyo3
        //d: data/*.txt
        use pyo3::prelude::*;

        #[pyfunction]
        fn greeting() -> &'static str {
            include_str!("data/greeting.txt")
        }
        """,
    )
    data = project.write("data/greeting.txt", "hello")
    assert (
        project.hook_import("import greeting; print(greeting.greeting())").stdout.strip() == "hello"
    )
    assert not project.hook_import("import greeting").built

    data.write_text("bonjour")
    run = project.hook_import("import greeting; print(greeting.greeting())")
    assert run.built
    assert run.stdout.strip() == "bonjour"

    # A new file matching the glob also makes the build stale.
    project.write("data/other.txt", "")
    assert project.hook_import("import greeting").built


def test_rustimport_markers_are_accepted(project: Project) -> None:
    project.write("legacy.rs", DOUBLE_RS.replace("// rusthook:pyo3", "// rustimport:pyo3"))
    assert project.hook_import("import legacy; print(legacy.double(2))").stdout.strip() == "4"


def test_bare_marker_means_the_manifest_lines_are_the_whole_cargo_toml(project: Project) -> None:
    project.write(
        "bare.rs",
        """\
        // rusthook
        //: [dependencies]
        //: pyo3 = { version = "0.30", features = ["abi3-py39"] }
        use pyo3::prelude::*;

        #[pymodule]
        mod bare {
            use pyo3::prelude::*;

            #[pyfunction]
            fn ten() -> i64 {
                10
            }
        }
        """,
    )
    assert project.hook_import("import bare; print(bare.ten())").stdout.strip() == "10"


def test_unmarked_file_is_never_touched(project: Project) -> None:
    project.write("plain.rs", "fn main() {}\n")
    run = project.hook_import(
        "try:\n    import plain\nexcept ModuleNotFoundError as e:\n    print(type(e).__name__, e.name)"
    )
    assert run.stdout.strip() == "ModuleNotFoundError plain"
    assert not run.built


def test_python_module_of_the_same_name_wins(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    project.write("fast.py", "def double(x):\n    return 'python'\n")
    run = project.hook_import("import fast; print(fast.double(1))")
    assert run.stdout.strip() == "python"
    assert not run.built


def test_module_inside_a_package(project: Project) -> None:
    project.write("pkg/__init__.py", "")
    project.write("pkg/fast.rs", DOUBLE_RS)
    run = project.hook_import(
        "import pkg.fast; from pkg import fast; print(fast.double(5), fast.__name__)"
    )
    assert run.stdout.split() == ["10", "pkg.fast"]


def test_two_files_with_the_same_name_in_two_folders_are_two_modules(project: Project) -> None:
    project.write("one/fast.rs", DOUBLE_RS)
    project.write("two/fast.rs", DOUBLE_RS.replace("x * 2", "x * 200"))
    code = "import sys; sys.path.insert(0, {!r}); import rusthook; rusthook.install(); import fast; print(fast.double(1))"
    assert project.run(code.format(str(project.root / "one"))).stdout.strip() == "2"
    assert project.run(code.format(str(project.root / "two"))).stdout.strip() == "200"
    assert not project.run(code.format(str(project.root / "one"))).built


def test_second_module_reuses_compiled_dependencies(project: Project) -> None:
    project.write("first.rs", DOUBLE_RS)
    project.hook_import("import first")
    project.write("second.rs", DOUBLE_RS.replace("x * 2", "x * 4"))
    run = project.hook_import("import second; print(second.double(1))")
    assert run.stdout.strip() == "4"
    assert run.built
    # pyo3 was compiled once for the environment, not again for this module.
    assert "Compiling pyo3 " not in run.stderr, run.stderr
    assert "Compiling rusthook-second" in run.stderr


def test_uninstall_and_is_installed(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    run = project.run(
        """\
        import sys, rusthook
        print(rusthook.is_installed())
        finder = rusthook.install()
        rusthook.install()
        print(rusthook.is_installed(), sum(isinstance(f, rusthook.RustFinder) for f in sys.meta_path))
        rusthook.uninstall()
        print(rusthook.is_installed())
        try:
            import fast
        except ModuleNotFoundError:
            print("not found")
        """
    )
    assert run.stdout.split("\n")[:4] == ["False", "True 1", "False", "not found"]


def test_disabled_by_environment(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    run = project.run(
        "import rusthook\nprint(rusthook.install(), rusthook.is_installed())",
        env=project.env(RUSTHOOK_ENABLED="0"),
    )
    assert run.stdout.strip() == "None False"


def test_reload_loads_the_rebuilt_code_into_the_same_module(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    run = project.run(
        f"""\
        import hashlib, importlib, os, pathlib, rusthook
        rusthook.install()
        import fast
        def digest(path):
            return hashlib.sha256(pathlib.Path(path).read_bytes()).hexdigest()
        before = fast
        first_file = fast.__file__
        first_digest = digest(first_file)
        print(fast.double(1))
        importlib.reload(fast)  # nothing changed: same library, same code
        print(fast.double(1), fast.__file__ == first_file)
        source = pathlib.Path({str(source)!r})
        source.write_text(source.read_text().replace("x * 2", "x * 10"))
        importlib.reload(fast)
        # The library this process loaded first is kept, and never changed by the build.
        print(fast.double(1), fast is before, fast.__file__ != first_file,
              digest(first_file) == first_digest)
        second_file = fast.__file__
        source.write_text(source.read_text().replace("x * 10", "x * 100"))
        importlib.reload(fast)
        # Only the last build before the current one is kept.
        print(fast.double(1), os.path.exists(first_file), os.path.exists(second_file))
        """
    )
    assert run.stdout.split() == [
        *["2", "2", "True"],
        *["10", "True", "True", "True"],
        *["100", "False", "True"],
    ]


def test_inner_attributes_with_relative_include_str(project: Project) -> None:
    project.write(
        "docs.rs",
        """\
        // rusthook:pyo3
        //! Module docs, then a file read relative to this one.
        use pyo3::prelude::*;

        #[pyfunction]
        fn text() -> &'static str {
            include_str!("data/text.txt")
        }
        """,
    )
    data = project.write("data/text.txt", "first")
    assert project.hook_import("import docs; print(docs.text())").stdout.strip() == "first"
    assert not project.hook_import("import docs").built
    data.write_text("second")
    run = project.hook_import("import docs; print(docs.text())")
    assert run.built, "the included file is tracked as the user's own file"
    assert run.stdout.strip() == "second"


def test_python_module_later_on_the_path_still_wins(project: Project) -> None:
    # The working folder comes first on sys.path, the standard library later.
    project.write("json.rs", DOUBLE_RS)
    run = project.hook_import("import json; print(json.__name__, hasattr(json, 'dumps'))")
    assert run.stdout.strip() == "json True"
    assert not run.built
