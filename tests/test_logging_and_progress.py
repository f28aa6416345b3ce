"""What a build shows: log lines, progress, warnings once, quiet; and the env vars."""

from __future__ import annotations

import re

from conftest import (
    DOUBLE_RS,
    HeldCompile,
    Project,
    run_on_a_terminal,
    shared_cargo_target,
)

WARNING_RS = DOUBLE_RS.replace("x * 2", "let unused = 1;\n    x * 2")


def test_default_log_lines_and_warnings_once(project: Project) -> None:
    project.write("fast.rs", WARNING_RS)
    first = project.hook_import("import fast, sys; print('logging' in sys.modules)")
    assert first.stdout.strip() == "False", "a build imports no `logging` the app did not"
    assert re.search(r"^rusthook: building fast \(debug\) from .*fast\.rs$", first.stderr, re.M)
    assert re.search(r"^rusthook: built fast in \d+\.\d s$", first.stderr, re.M)
    assert "warning: unused variable: `unused`" in first.stderr
    second = project.hook_import("import fast")
    assert second.stderr == "", "a fresh import prints nothing, warnings included"


def test_quiet_prints_nothing_on_success(project: Project) -> None:
    project.write("fast.rs", WARNING_RS)
    run = project.run(
        "import rusthook; rusthook.install(quiet=True); import fast; print(fast.double(1))"
    )
    assert run.stdout.strip() == "2"
    assert run.stderr == ""


def test_debug_logging_explains_freshness_and_reset_logger_hands_over(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    project.hook_import("import fast")
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    run = project.run(
        """\
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s")
        import rusthook
        rusthook.reset_logger()
        rusthook.install()
        import fast
        """
    )
    assert f"DEBUG rusthook.freshness fast must be rebuilt: {source} changed" in run.stderr
    assert "INFO rusthook.builder building fast (debug)" in run.stderr
    assert "rusthook: building" not in run.stderr, "rusthook's own handler is gone"
    fresh = project.run(
        "import logging; logging.basicConfig(level=logging.DEBUG, format='%(name)s %(message)s')\n"
        "import rusthook; rusthook.reset_logger(); rusthook.install(); import fast"
    )
    assert "rusthook.freshness fast is fresh" in fresh.stderr


def test_records_reach_python_logging_once_the_application_imports_it(
    project: Project,
) -> None:
    project.write("fast.rs", DOUBLE_RS)
    project.write("other.rs", DOUBLE_RS)
    run = project.run(
        """\
        import sys, rusthook
        rusthook.install()
        import fast
        print("logging" in sys.modules)
        import logging
        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s")
        rusthook.reset_logger()
        import other
        """
    )
    assert run.stdout.strip() == "False"
    assert re.search(r"^rusthook: building fast \(debug\) from ", run.stderr, re.M)
    assert re.search(r"^INFO rusthook\.builder building other \(debug\) from ", run.stderr, re.M)
    assert "DEBUG rusthook.freshness other must be built: no build record at " in run.stderr
    assert "rusthook: building other" not in run.stderr


def test_progress_lines_when_not_a_terminal(project: Project) -> None:
    project.write("slowish.rs", DOUBLE_RS)
    # Held 2 s: long enough for a line of progress (at most one a second).
    held = HeldCompile(project, "slowish_", hold=2)
    run = project.hook_import("import slowish", env=project.env(**held.env()))
    assert re.search(r"^rusthook: compiling \d+/\d+ crates$", run.stderr, re.M), run.stderr


DOWNLOADING_RS = """\
// rusthook:cffi
//: [dependencies]
//: itoa = "1"
//: ryu = "1"

#[no_mangle]
pub extern "C" fn digits(x: u64) -> usize {
    itoa::Buffer::new().format(x).len()
}

#[no_mangle]
pub extern "C" fn float_digits(x: f64) -> usize {
    ryu::Buffer::new().format(x).len()
}
"""


def test_crate_downloads_without_a_terminal_are_one_line_each(project: Project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # An empty CARGO_HOME: cargo downloads both crates, redrawing its `Downloading k
    # crates` counter (padded with spaces) at every step. In a log, each download is
    # one line and the counter is left out.
    project.write("downloads.rs", DOWNLOADING_RS)
    env = project.env(CARGO_HOME=str(tmp_path / "cargo-home"))
    run = project.hook_import("import downloads; print(downloads.lib.digits(12345))", env=env)
    assert run.stdout.strip() == "5"
    lines = run.stderr.splitlines()
    downloaded = sorted(line.split()[1] for line in lines if re.match(r"^ +Downloaded \w+ v", line))
    assert downloaded == ["itoa", "ryu"], run.stderr
    assert re.search(r"^ +Downloaded 2 crates \(", run.stderr, re.M), run.stderr
    assert not [line for line in lines if "Downloading" in line], run.stderr
    assert [line for line in lines if line != line.rstrip()] == [], "no padding"


def test_progress_bar_on_a_terminal(project: Project) -> None:
    project.write("barred.rs", DOUBLE_RS)
    # Held 2 s: long enough for a line of progress (at most one a second).
    held = HeldCompile(project, "barred_", hold=2)
    status, text = run_on_a_terminal(
        project,
        "import rusthook; rusthook.install(); import barred",
        env=project.env(**held.env()),
    )
    assert status == 0
    assert re.search(r"\r\x1b\[K +Building \[[ =>]*\] \d+/\d+: rusthook-barred", text), repr(text)
    assert "rusthook: compiling" not in text


def test_force_rebuild_and_build_dir_environment_variables(project: Project, tmp_path) -> None:  # type: ignore[no-untyped-def]
    project.write("fast.rs", DOUBLE_RS)
    project.hook_import("import fast")
    assert not project.hook_import("import fast").built
    forced = project.hook_import("import fast", env=project.env(RUSTHOOK_FORCE_REBUILD="1"))
    assert forced.built
    elsewhere = tmp_path / "elsewhere"
    abi_target = shared_cargo_target(project.build_dir)
    run = project.hook_import(
        "import fast; print(fast.__file__)",
        env=project.env(RUSTHOOK_BUILD_DIR=str(elsewhere), CARGO_TARGET_DIR=str(abi_target)),
    )
    assert run.stdout.strip().startswith(str(elsewhere))
