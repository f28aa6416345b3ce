"""Failure modes: concurrent importers, killed builds, locks, bad input, odd sys.path,
security. Each test checks what the user sees and that nothing is lost."""

from __future__ import annotations

import signal
import zipfile
from pathlib import Path

import pytest
from conftest import (
    DOUBLE_RS,
    EXT_SUFFIX,
    HeldCompile,
    Project,
    shared_cargo_target,
    start,
    wait_until,
)


def test_different_modules_do_not_wait_and_fresh_imports_never_wait(project: Project) -> None:
    project.write("fresh.rs", DOUBLE_RS)
    project.hook_import("import fresh")
    project.write("slow_a.rs", DOUBLE_RS)
    project.write("quick_b.rs", DOUBLE_RS)
    held = HeldCompile(project, "slow_a_")
    slow = start(project, "import rusthook; rusthook.install(); import slow_a", **held.env())
    quick_log = project.root / "quick_b.log"
    quick = None
    try:
        held.wait_until_reached(slow)
        # While slow_a holds its lock: a fresh module loads at once ...
        fresh = project.hook_import("import fresh; print(fresh.double(1))")
        assert (fresh.stdout, fresh.stderr) == ("2\n", "")
        assert slow.poll() is None
        # ... and another module starts its build without waiting for slow_a's lock
        # (cargo itself then waits for slow_a's cargo, on its target folder's lock).
        quick = start(
            project,
            "import rusthook; rusthook.install(); import quick_b; print(quick_b.double(2))",
            stderr=quick_log,
        )
        wait_until(
            lambda: (
                "rusthook: building quick_b" in quick_log.read_text() or quick.poll() is not None
            ),
            "quick_b starts building",
        )
        assert "waiting for another process" not in quick_log.read_text()
        held.release()
        assert quick.communicate(timeout=600)[0] == "4\n", quick_log.read_text()
        assert quick.returncode == 0
        slow.communicate(timeout=600)
        assert slow.returncode == 0
    finally:
        held.kill()
        for process in (slow, quick):
            if process is not None and process.poll() is None:
                process.kill()
                process.communicate()


@pytest.mark.unix_only
def test_killed_build_leaves_nothing_that_blocks_the_next_import(project: Project) -> None:
    source = project.write("killed.rs", DOUBLE_RS)
    held = HeldCompile(project, "killed_")
    victim = start(project, "import rusthook; rusthook.install(); import killed", **held.env())
    held.wait_until_reached(victim)
    victim.send_signal(signal.SIGKILL)
    victim.communicate()
    # The dead importer's cargo runs on in its own process group; stop it so the test
    # need not wait for it (the next import would, on cargo's own target-dir lock).
    held.kill()
    run = project.hook_import("import killed; print(killed.double(21))")
    assert run.built and run.stdout.strip() == "42"
    assert source.read_text() == DOUBLE_RS


@pytest.mark.unix_only
def test_lock_timeout_names_the_lock_and_its_holder(project: Project) -> None:
    project.write("held.rs", DOUBLE_RS)
    held = HeldCompile(project, "held_")
    holder = start(project, "import rusthook; rusthook.install(); import held", **held.env())
    try:
        held.wait_until_reached(holder)
        run = project.run(
            "import rusthook\nrusthook.install()\ntry:\n    import held\n"
            "except rusthook.RusthookError as e:\n    print(e)",
            env=project.env(RUSTHOOK_LOCK_TIMEOUT="1"),
        )
        message = run.stdout
        assert message.startswith("timed out after 1 s waiting for the build lock "), message
        assert f"build.lock, held by process {holder.pid} (building held), for " in message
        assert message.endswith(
            "raise the limit with `lock_timeout=` in rusthook.install() / the API or the "
            "RUSTHOOK_LOCK_TIMEOUT variable (seconds).\n"
        ), message
    finally:
        holder.kill()
        holder.communicate()
        held.kill()


def test_corrupt_or_missing_record_is_rebuilt_never_trusted(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    library = project.hook_import("import fast; print(fast.__file__)").stdout.strip()
    record = Path(library).parent / "record.json"
    record.write_text('{"format": 1, "truncated')
    run = project.hook_import("import fast; print(fast.double(1))")
    assert run.built and run.stdout.strip() == "2"
    record.unlink()
    assert project.hook_import("import fast").built


def test_deleted_source_is_no_longer_imported(project: Project) -> None:
    source = project.write("gone.rs", DOUBLE_RS)
    project.hook_import("import gone")
    source.unlink()
    run = project.hook_import(
        "try:\n    import gone\nexcept ModuleNotFoundError as e:\n    print(e)"
    )
    assert run.stdout.strip() == "No module named 'gone'"


def test_crate_with_invalid_cargo_toml(project: Project) -> None:
    project.write("broken/.rusthook", "")
    manifest = project.write("broken/Cargo.toml", "[package\nname = 1\n")
    project.write("broken/src/lib.rs", "")
    run = project.run(
        "import rusthook\nrusthook.install()\ntry:\n    import broken\n"
        "except rusthook.BuildError as e:\n    print(e)"
    )
    assert run.stdout.startswith(f"could not build broken from {project.root / 'broken'}:")
    assert "error: unclosed table, expected `]`\n --> Cargo.toml:1:9" in run.stdout
    assert manifest.read_text() == "[package\nname = 1\n", "the user's file is untouched"


def test_crate_without_cdylib_is_built_as_one(project: Project) -> None:
    project.write("plainlib/.rusthook", "")
    project.write(
        "plainlib/Cargo.toml",
        '[package]\nname = "plainlib"\nversion = "0.1.0"\nedition = "2021"\n'
        '[dependencies]\npyo3 = { version = "0.30", features = ["abi3-py39"] }\n',
    )
    project.write(
        "plainlib/src/lib.rs",
        "use pyo3::prelude::*;\n#[pymodule]\nmod plainlib {\n    #[pymodule_export]\n    const K: i64 = 3;\n}\n",
    )
    assert project.hook_import("import plainlib; print(plainlib.K)").stdout.strip() == "3"


@pytest.mark.linux_only
def test_unwritable_build_dir_says_which_and_what_to_do(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    run = project.run(
        "import rusthook\nrusthook.install()\ntry:\n    import fast\n"
        "except rusthook.RusthookError as e:\n    print(e)",
        env=project.env(RUSTHOOK_BUILD_DIR="/sys/rusthook-cannot-write-here"),
    )
    assert run.stdout.startswith(
        "cannot create the build folder (set RUSTHOOK_BUILD_DIR or build_dir= to a writable folder) "
        "/sys/rusthook-cannot-write-here/"
    ), run.stdout


def test_failed_in_place_install_keeps_what_was_there(project: Project) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    blocker = project.root / f"fast{EXT_SUFFIX}"
    blocker.mkdir()
    (blocker / "keep").write_text("mine")
    run = project.run(
        "import rusthook\ntry:\n    rusthook.build_filepath('fast.rs', in_place=True)\n"
        "except rusthook.RusthookError as e:\n    print(e)"
    )
    assert run.stdout.startswith(f"cannot install the built library as {blocker}:"), run.stdout
    assert (blocker / "keep").read_text() == "mine"
    assert source.read_text() == DOUBLE_RS
    # The build itself succeeded and is kept in the cache.
    assert project.hook_import("import fast; print(fast.double(2))").stdout.strip() == "4"


def test_odd_sys_path_entries_and_a_broken_finder_never_break_normal_imports(
    project: Project,
) -> None:
    project.write("fast.rs", DOUBLE_RS)
    archive = project.root / "lib.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zipped.py", "VALUE = 'zip'\n")
    project.write("ns/portion.py", "VALUE = 'namespace'\n")
    project.write("afile.txt", "")
    run = project.run(
        f"""\
        import sys, pathlib, rusthook
        sys.path[:0] = ["", "/no/such/dir", {str(project.root / "afile.txt")!r},
                        {str(archive)!r}, b"/bytes/entry", pathlib.Path("/a/path"), None, 42]
        finder = rusthook.install()
        import zipped, ns.portion, json, fast
        print(zipped.VALUE, ns.portion.VALUE, fast.double(1))
        finder.settings = None  # rusthook's finder now fails on every name
        import csv, email.parser
        print("still importing", csv.__name__)
        """
    )
    lines = run.stdout.splitlines()
    assert lines == ["zip namespace 2", "still importing csv"], run.stderr
    assert "rusthook: rusthook's finder failed on 'csv' and was skipped" in run.stderr


@pytest.mark.unix_only
def test_cache_folder_others_can_write_to_is_refused(project: Project, tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    target = shared_cargo_target(project.build_dir)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(target))
    project.write("fast.rs", DOUBLE_RS)
    library = Path(
        project.run("import rusthook; print(rusthook.build('fast'))", env=env).stdout.strip()
    )
    module_dir = library.parent
    assert module_dir.stat().st_mode & 0o777 == 0o700, "created owner-only"
    module_dir.chmod(0o777)
    run = project.run(
        "import rusthook\nrusthook.install()\ntry:\n    import fast\n"
        "except rusthook.RusthookError as e:\n    print(e)",
        env=env,
    )
    assert run.stdout.startswith(
        f"refusing to use the build folder {module_dir}: other users can write to it (mode 777)"
    ), run.stdout
    assert "chmod 700" in run.stdout
