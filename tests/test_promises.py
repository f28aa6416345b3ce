"""What the README promises, checked the way a newcomer meets it: uninstalling, foreign
extension modules, logging, names, build folders, building folders, the settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    ABI3_SUFFIX,
    DOUBLE_RS,
    EXT_SUFFIX,
    HeldCompile,
    Project,
    make_crate,
    run_on_a_terminal,
)
from test_notebook import run_session
from test_site import make_venv

BROKEN_RS = DOUBLE_RS.replace("x * 2", 'x * "two"')


def value_rs(value: int) -> str:
    return DOUBLE_RS.replace(
        "fn double(x: i64) -> i64 {\n    x * 2", f"fn value() -> i64 {{\n    {value}"
    )


def cli(
    project: Project, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rusthook", *args],
        cwd=project.root,
        env=env or project.env(),
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )


# 1. Uninstalling rusthook leaves every interpreter start as it was.


def test_uninstalling_rusthook_removes_its_activation_and_a_leftover_is_silent(
    project: Project, tmp_path: Path
) -> None:
    python, site_packages = make_venv(tmp_path / "venv")
    # An installed distribution as installers leave it: its RECORD lists its files.
    dist_info = site_packages / "rusthook-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: rusthook\nVersion: 0.1.0\n")
    (dist_info / "RECORD").write_text(
        "_rusthook_under_test.pth,,\n"
        "rusthook-0.1.0.dist-info/METADATA,,\n"
        "rusthook-0.1.0.dist-info/RECORD,,\n"
    )
    env = project.env()
    installed = subprocess.run(
        [str(python), "-m", "rusthook", "site", "install"], capture_output=True, text=True, env=env
    )
    assert installed.returncode == 0, installed.stderr
    pth = site_packages / "rusthook_activate.pth"
    assert "rusthook_activate.pth,," in (dist_info / "RECORD").read_text()

    # A leftover activation (rusthook removed by hand): silent.
    saved = pth.read_text()
    (site_packages / "_rusthook_under_test.pth").rename(tmp_path / "away.pth")
    started = subprocess.run(
        [str(python), "-c", "print('started')"], capture_output=True, text=True, env=env
    )
    assert (started.stdout, started.stderr) == ("started\n", "")
    (tmp_path / "away.pth").rename(site_packages / "_rusthook_under_test.pth")

    # An installer's uninstall removes the activation with the package.
    uninstalled = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "uninstall", "-y", "rusthook"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert uninstalled.returncode == 0, uninstalled.stderr
    assert not pth.exists() and saved
    started = subprocess.run(
        [str(python), "-c", "print('started')"], capture_output=True, text=True, env=env
    )
    assert (started.stdout, started.stderr) == ("started\n", "")


def test_site_install_never_overwrites_a_pth_it_did_not_write(
    project: Project, tmp_path: Path
) -> None:
    python, site_packages = make_venv(tmp_path / "venv")
    foreign = site_packages / "rusthook_activate.pth"
    foreign.write_text("import sys\n")
    run = subprocess.run(
        [str(python), "-m", "rusthook", "site", "install"],
        capture_output=True,
        text=True,
        env=project.env(),
    )
    assert run.returncode == 1
    assert run.stderr == (
        f"rusthook: error: {foreign} exists and was not written by rusthook; remove it or "
        "rename it, then run `site install` again\n"
    )
    assert foreign.read_text() == "import sys\n"


# 3. An extension module rusthook did not write wins over the source beside it.


def test_a_foreign_extension_module_beside_a_source_is_what_python_imports(
    project: Project,
) -> None:
    project.write("elsewhere/foreign.rs", value_rs(1))
    project.run("import rusthook; rusthook.build_filepath('elsewhere/foreign.rs', in_place=True)")
    shutil.copy(
        project.root / "elsewhere" / f"foreign{EXT_SUFFIX}", project.root / f"foreign{ABI3_SUFFIX}"
    )
    source = project.write("foreign.rs", value_rs(2))
    run = project.hook_import("import foreign; print(foreign.value(), foreign.__file__)")
    assert run.stdout.split() == ["1", str(project.root / f"foreign{ABI3_SUFFIX}")]
    assert not run.built

    # rusthook's own in-place build of the source is rebuilt when the source changes.
    project.run("import rusthook; rusthook.build_filepath('foreign.rs', in_place=True)")
    source.write_text(value_rs(3))
    run = project.hook_import("import foreign; print(foreign.value())")
    assert run.stdout.strip() == "3" and run.built
    api = project.run("import rusthook; print(rusthook.imp('foreign').value())")
    assert api.stdout.strip() == "3"


# 4. rusthook's log records obey the application's logging configuration.


def test_log_records_obey_the_applications_logging(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    quieted = project.run(
        "import logging; logging.getLogger('rusthook').setLevel(logging.WARNING)\n"
        "import rusthook; rusthook.install(); import fast"
    )
    assert "building" not in quieted.stderr and "built" not in quieted.stderr, quieted.stderr

    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    debug = project.run(
        """\
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s")
        import rusthook
        rusthook.install()
        import fast
        """
    )
    rebuilt = f"DEBUG rusthook.freshness fast must be rebuilt: {source} changed"
    assert debug.stderr.count(rebuilt) == 1, debug.stderr
    assert debug.stderr.count("INFO rusthook.builder building fast (debug)") == 1
    assert "rusthook: building" not in debug.stderr

    # Without configuration, INFO and above are shown as rusthook's own lines.
    source.write_text(DOUBLE_RS)
    default = project.run("import logging, rusthook; rusthook.install(); import fast")
    assert re.search(r"^rusthook: building fast \(debug\) from ", default.stderr, re.M)


def test_progress_lines_are_log_records_and_cargo_output_is_not(project: Project) -> None:
    project.write("slowlog.rs", DOUBLE_RS)
    # Held 2 s: long enough for a line of progress (at most one a second).
    held = HeldCompile(project, "slowlog_", hold=2)
    run = project.run(
        """\
        import logging
        logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s %(message)s")
        import rusthook
        rusthook.install()
        import slowlog
        """,
        env=project.env(**held.env()),
    )
    assert re.search(r"^INFO rusthook\.progress compiling \d+/\d+ crates$", run.stderr, re.M)
    assert "rusthook: compiling" not in run.stderr
    assert re.search(r"^ +Compiling rusthook-slowlog ", run.stderr, re.M), run.stderr


# 5. The explicit API never replaces a module Python imports from elsewhere.


def test_imp_from_path_refuses_a_name_python_imports(project: Project) -> None:
    make_crate(project, "json", marker=".rusthook")
    run = project.run(
        """\
        import json, rusthook, sys
        try:
            rusthook.imp_from_path("json")
        except rusthook.RusthookError as error:
            print(error)
        print(sys.modules["json"] is json, json.dumps([1]))
        """
    )
    first, second = run.stdout.splitlines()
    assert first == (
        f"cannot import json as 'json': Python imports that name from {json_origin()}; "
        "rename the file or crate folder"
    )
    assert second == "True [1]"
    new = cli(project, "new", "json", "--path", "fresh")
    assert new.returncode == 1
    assert new.stderr == (
        f"rusthook: error: `import json` already imports {json_origin()}, so a Rust module "
        "of that name would never be imported; choose another name\n"
    )
    assert not (project.root / "fresh").exists()


def json_origin() -> str:
    import json

    return str(json.__file__)


def test_imp_says_why_for_built_in_and_extension_modules(project: Project) -> None:
    project.write("math.rs", DOUBLE_RS)
    project.write("sys.rs", DOUBLE_RS)
    run = project.run(
        """\
        import math, rusthook
        for name in ("math", "sys"):
            try:
                rusthook.imp(name)
            except ModuleNotFoundError as error:
                print(error)
        print(math.__file__ if hasattr(math, "__file__") else "built in")
        """
    )
    math_line, sys_line, origin = run.stdout.splitlines()
    if origin == "built in":
        assert (
            math_line
            == "no Rust module named 'math': Python imports that name as a built-in module"
        )
    else:
        assert math_line == f"no Rust module named 'math': Python imports that name from {origin}"
    assert sys_line == "no Rust module named 'sys': Python imports that name as a built-in module"


# 6. The compiler's diagnostics are shown once.


def test_diagnostics_are_shown_once_without_a_terminal(project: Project) -> None:
    project.write("broken.rs", BROKEN_RS)
    run = project.run(
        """\
        import rusthook
        rusthook.install()
        try:
            import broken
        except rusthook.BuildError as error:
            print(error)
            print("attribute:", "error[E0277]" in error.diagnostics)
        """
    )
    everything = run.stdout + run.stderr
    assert everything.count("error[E0277]") == 1, everything
    assert "attribute: True" in run.stdout
    built = cli(project, "build", "broken.rs")
    assert built.returncode == 1
    assert (built.stdout + built.stderr).count("error[E0277]") == 1, built.stderr
    cells = run_session(project, ['%%rust\n#[pyfunction]\nfn f() -> i64 { 1 + "x" }\n'])
    shown = str(cells[0]["stdout"]) + str(cells[0]["stderr"])
    assert cells[0]["error"] == "CellBuildError"
    assert shown.count("error[E0277]") == 1, shown


def test_diagnostics_stream_on_a_terminal_and_the_error_points_to_them(project: Project) -> None:
    project.write("brokentty.rs", BROKEN_RS)
    status, text = run_on_a_terminal(
        project,
        "import rusthook\nrusthook.install()\ntry:\n    import brokentty\n"
        "except rusthook.BuildError as e:\n    print('MESSAGE', e)\n"
        "    print('ATTRIBUTE', 'error[E0277]' in e.diagnostics)",
        stdout=True,
    )
    assert status == 0
    assert text.count("error[E0277]") == 1, text
    assert (
        f"MESSAGE could not build brokentty from {project.root / 'brokentty.rs'}: "
        "the compiler's messages are above"
    ) in text
    assert "ATTRIBUTE True" in text


# 7. A build folder others can write to is refused at every level.


@pytest.mark.unix_only
def test_a_build_folder_others_can_write_to_or_own_is_refused(
    project: Project, tmp_path: Path
) -> None:
    project.write("fast.rs", DOUBLE_RS)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    code = (
        "import rusthook\ntry:\n    rusthook.imp('fast', build_dir={!r})\n"
        "except rusthook.RusthookError as e:\n    print(e)"
    )
    run = project.run(code.format(str(shared)))
    assert run.stdout == (
        f"refusing to use the build folder {shared}: other users can write to it (mode 777), "
        "so a library built there could be replaced by someone else.\n"
        f"Make it private (`chmod 700 {shared}`), or set RUSTHOOK_BUILD_DIR (or build_dir=) "
        "to a folder of your own; rusthook creates it privately.\n"
    )
    assert os.listdir(shared) == []
    run = project.run(code.format("/tmp"))
    assert run.stdout.startswith(
        "refusing to use the build folder /tmp: other users can write to it (mode 1777)"
    )
    others = tmp_path / "others"
    others.mkdir(mode=0o700)
    os.chown(others, 65534, 65534)
    run = project.run(code.format(str(others)))
    assert run.stdout == (
        f"refusing to use the build folder {others}: it belongs to another user (uid 65534), "
        "so a library built there could be replaced by someone else.\n"
        "You cannot make it private yourself: set RUSTHOOK_BUILD_DIR (or build_dir=) to a "
        "folder of your own; rusthook creates it privately.\n"
    )


# 8. Building a folder builds every module and reports each failure.


def test_building_a_folder_goes_on_past_a_bad_module(project: Project) -> None:
    project.write("tree/a.rs", value_rs(1))
    bad = project.write("tree/b.rs", BROKEN_RS)
    project.write("tree/sub/c.rs", value_rs(3))
    run = cli(project, "build", "tree")
    assert run.returncode == 1
    assert run.stdout.splitlines() == [
        str(project.root / "tree" / f"a{EXT_SUFFIX}"),
        str(project.root / "tree" / "sub" / f"c{EXT_SUFFIX}"),
    ]
    assert f"rusthook: error: {bad}: could not build b from {bad}:" in run.stderr
    assert run.stderr.endswith("rusthook: built 2 of 3 Rust modules below tree; 1 failed\n")

    api = project.run(
        """\
        import rusthook
        try:
            rusthook.build_all("tree")
        except rusthook.BuildError as error:
            print(str(error).splitlines()[0])
        """
    )
    assert api.stdout.strip() == "1 of the 3 Rust modules below tree did not build (2 built):"

    (project.root / "empty").mkdir()
    empty = cli(project, "build", "empty")
    assert empty.returncode == 0 and empty.stdout == ""
    assert empty.stderr == (
        "rusthook: no Rust modules below empty (a module is a .rs file whose first line names "
        "rusthook, or a crate folder with a .rusthook marker)\n"
    )


# 9. No toolchain: one clear sentence.


def test_no_toolchain_is_said_once_with_the_programs_name(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    code = (
        "import rusthook\nrusthook.install()\ntry:\n    import fast\n"
        "except ImportError as e:\n    print(e)"
    )
    for extra in ({}, {"CARGO": "", "RUSTC": ""}):
        run = project.run(code, env=project.env(PATH="/nonexistent", **extra))
        assert run.stdout == (
            "could not run `rustc`: No such file or directory (os error 2).\n"
            "Install Rust (https://rustup.rs) and make sure `rustc` can be run (it is looked "
            "up on PATH; CARGO and RUSTC name other programs).\n"
        ), run.stdout


# 10. One rule for module names, everywhere.


def test_module_names_follow_one_rule(project: Project) -> None:
    for name in ("my-mod", "class", "Ünï"):
        project.write(f"{name}.rs", DOUBLE_RS)
    run = project.run(
        """\
        import importlib, rusthook
        rusthook.install()
        for name in ("my-mod", "class", "Ünï"):
            for attempt in (importlib.import_module, lambda n: rusthook.imp_from_path(n + ".rs")):
                try:
                    attempt(name)
                except rusthook.BuildError as error:
                    print(error)
        """
    )
    lines = run.stdout.splitlines()
    hyphen = (
        f"`my-mod` (from {project.root / 'my-mod.rs'}) is not a valid Python module name; "
        "rename it to a Python identifier such as `my_mod`"
    )
    keyword = (
        f"`class` (from {project.root / 'class.rs'}) is a Python keyword, which `import` cannot "
        "name; rename it to a Python identifier such as `class_`"
    )
    ascii_only = (
        f"`Ünï` (from {project.root / 'Ünï.rs'}) is not ASCII: an extension module's name must "
        "be, since Python looks for its `PyInit_` function under another name otherwise; "
        "rename it to a Python identifier such as `Uni`"
    )
    assert lines == [hyphen, hyphen, keyword, keyword, ascii_only, ascii_only], run.stdout
    new = cli(project, "new", "class")
    assert new.returncode == 1 and "is a Python keyword" in new.stderr


# 11. A crate needs its marker for `build` as for `import`.


def test_an_unmarked_crate_is_refused_by_build_as_by_import(project: Project) -> None:
    make_crate(project, "unmarked", marker=None)
    run = cli(project, "build", "unmarked")
    assert run.returncode == 1
    assert run.stderr == (
        f"rusthook: error: {project.root / 'unmarked'} is not an importable Rust source: the "
        "crate has no marker, so `import unmarked` would not find it either; add an empty "
        "`.rusthook` file to it (or make `# rusthook` the first line of its Cargo.toml)\n"
    )


# The smaller promises.


def test_install_is_idempotent_and_imp_gives_one_module(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    project.write("pkg/__init__.py", "")
    project.write("pkg/inner.rs", DOUBLE_RS)
    make_crate(project, "krate", marker=".rusthook")
    run = project.run(
        """\
        import sys, rusthook
        first = rusthook.install()
        second = rusthook.install(release=True)
        print(first is second, second.settings.release)
        print(sum(isinstance(f, rusthook.RustFinder) for f in sys.meta_path))
        rusthook.uninstall()
        print(rusthook.imp("fast") is rusthook.imp("fast"))
        import pkg
        inner = rusthook.imp("pkg.inner")
        print(pkg.inner is inner)
        print(rusthook.imp_from_path("krate/") is rusthook.imp_from_path("krate"))
        """
    )
    assert run.stdout.split() == ["True", "True", "1", "True", "True", "True"]


def test_switching_release_back_and_forth_keeps_both_builds(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    for release in (False, True):
        project.run(f"import rusthook; rusthook.imp('fast', release={release})")
    for release in (False, True, False):
        run = project.run(f"import rusthook; rusthook.imp('fast', release={release})")
        assert not run.built, run.stderr


def test_settings_errors_say_what_is_accepted(project: Project) -> None:
    run = project.run(
        """\
        import rusthook
        for settings in ({"features": "extra"}, {"relase": True}):
            try:
                rusthook.Settings(**settings)
            except TypeError as error:
                print(error)
        """
    )
    assert run.stdout.splitlines() == [
        "features takes a list of strings, e.g. features=['simd'], not the string 'extra'",
        "unknown setting `relase` (did you mean `release`?); the settings are release, "
        "force_rebuild, in_place, quiet, lock_timeout, build_dir, features, cargo_args, "
        "enable_file_importer, enable_project_importer, stubs",
    ]
    bad_env = project.run(
        "import rusthook\ntry:\n    rusthook.install()\nexcept ValueError as e:\n    print(e)",
        env=project.env(RUSTHOOK_RELEASE="maybe"),
    )
    assert bad_env.stdout == (
        "RUSTHOOK_RELEASE=maybe is not a yes/no value; use 1, true, yes or on to switch it "
        "on, 0, false, no or off to switch it off\n"
    )
    bad_timeout = project.run(
        "import rusthook\ntry:\n    rusthook.install()\nexcept ValueError as e:\n    print(e)",
        env=project.env(RUSTHOOK_LOCK_TIMEOUT="soon"),
    )
    assert bad_timeout.stdout == (
        "RUSTHOOK_LOCK_TIMEOUT=soon is not a number of seconds; use a non-negative number such "
        "as 600 (how long an import waits for another process building the same module)\n"
    )


def test_an_empty_module_is_said_and_warns_about_nothing_else(project: Project) -> None:
    project.write("nothing.rs", "// rusthook:pyo3\nfn helper() -> i64 { 1 }\n")
    run = project.hook_import("import nothing; print(nothing.__name__)")
    assert run.stdout.strip() == "nothing"
    assert (
        f"rusthook: {project.root / 'nothing.rs'} defines no #[pyfunction] or #[pyclass] (and "
        "no #[pymodule]), so the module `nothing` is empty"
    ) in run.stderr
    assert "unused variable" not in run.stderr


def test_cli_settings_version_and_actions(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    version = cli(project, "--version")
    assert version.stdout.startswith("rusthook ") and version.returncode == 0
    for group in ("cache", "site"):
        bare = cli(project, group)
        assert bare.returncode == 2 and "required: ACTION" in bare.stderr, bare.stderr
    built = cli(project, "build", "fast.rs", "--features", "", "--cargo-args=--offline")
    assert built.returncode == 0, built.stderr
    assert "must not exist yet, or be empty" in cli(project, "eject", "--help").stdout
    site_help = cli(project, "site", "install", "--help").stdout
    for option in ("--features", "--cargo-args", "--in-place", "--no-project-importer"):
        assert option in site_help


def test_notebook_eject_details(project: Project) -> None:
    project.write("helper/Cargo.toml", '[package]\nname = "helper"\nversion = "0.1.0"\n')
    project.write("helper/src/lib.rs", "pub fn one() -> i64 { 1 }\n")
    os.makedirs(project.root / "nb")
    cells = run_session(
        project,
        [
            "%%rust --name x\n#[pyfunction]\nfn f() -> i64 { 1 }\n",
            f"%%rust --eject {project.root / 'ej'} --quiet\n"
            f'//: [dependencies]\n//: helper = {{ path = "nb/../helper" }}\n'
            "#[pyfunction]\nfn f() -> i64 { helper::one() }\n",
        ],
    )
    assert cells[0]["error"] == "UsageError"
    assert (cells[0]["stdout"], cells[0]["stderr"]) == (
        "",
        "UsageError: %%rust: --name names the module of --eject DEST; add --eject\n",
    )
    assert cells[1]["ok"] and cells[1]["stdout"] == ""
    manifest = (project.root / "ej" / "Cargo.toml").read_text()
    assert f'path = "{project.root / "helper"}"' in manifest
    assert "# Ejected from a %%rust cell by rusthook" in manifest
    lib = (project.root / "ej" / "src" / "lib.rs").read_text()
    assert "// Ejected from a %%rust cell by rusthook" in lib
