"""A full disk: the build cache on a small tmpfs that the test fills.

Whether rustc, the linker, the install or the record runs out of space, the import
raises an ImportError naming the cause and the folder; the last good build is kept,
and once there is space again the next import builds and loads.
"""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, Project, copy_compiled_dependencies, shared_cargo_target, tmpfs
from test_site import make_venv

# A tmpfs the test mounts (root) and fills.
pytestmark = pytest.mark.linux_only


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 MiB tmpfs: room for pyo3's compiled dependencies and a few modules, and
    quick to fill."""
    with tmpfs(tmp_path / "disk", "512M", "the full-disk tests") as disk:
        yield disk


def fill(disk: Path) -> Path:
    """Writes a file until the disk is full; removing it gives the space back."""
    filler = disk / "filler"
    chunk = b"\0" * (1 << 20)
    with open(filler, "wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
        # Down to the last bytes.
        try:
            while True:
                out.write(b"\0" * 512)
        except OSError as error:
            assert error.errno == errno.ENOSPC, error
    return filler


def import_fails(project: Project, env: dict[str, str]) -> str:
    run = project.hook_import("import fast", check=False, env=env)
    assert run.returncode == 1, run.stderr
    return run.stderr


def cargo_disk_full_detail(stderr: str, target: Path) -> str:
    """The system's words in the error `cargo could not build fast in <target>: the disk
    is full (...)`, which must be what the import raised."""
    message = re.search(
        r"^rusthook\.RusthookError: cargo could not build fast in (\S+): the disk is full "
        r"\((.*)\)\.$",
        stderr,
        re.M,
    )
    assert message, stderr
    assert message.group(1) == str(target)
    return message.group(2)


def test_rustc_or_the_linker_out_of_space_keeps_the_last_build_and_recovers(
    project: Project, small_disk: Path, tmp_path: Path
) -> None:
    cache = small_disk / "cache"
    copy_compiled_dependencies(cache)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache))
    source = project.write("fast.rs", DOUBLE_RS)
    code = "import fast; print(fast.double(21))"
    assert project.hook_import(code, env=env).stdout.strip() == "42"
    (target,) = cache.glob("*/target")
    # Another environment's module in the same shared cache, which it must keep loading.
    other_env, _ = make_venv(tmp_path / "other-env")
    project.write("other.rs", DOUBLE_RS.replace("x * 2", "x * 5"))
    other_code = "import rusthook; rusthook.install(); import other; print(other.double(2))"

    def other_in_its_environment() -> tuple[str, bool]:
        done = subprocess.run(
            [str(other_env), "-c", other_code],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout.strip(), "rusthook: building " in done.stderr

    assert other_in_its_environment() == ("10", True)

    filler = fill(small_disk)
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    stderr = import_fails(project, env)
    detail = cargo_disk_full_detail(stderr, target)
    assert "No space left on device" in detail
    assert stderr.rstrip().endswith(
        "Free some space (or set RUSTHOOK_BUILD_DIR / build_dir= to a folder on another "
        "disk) and import again: the last good build is kept, and the next import builds "
        "it again."
    ), stderr

    # A few MiB left: enough to compile the crate, not to link it. A linker writing
    # through a memory map (lld, cargo's default here) dies of SIGBUS without a word
    # about space; rusthook tells it from the space left.
    os.truncate(filler, filler.stat().st_size - (5 << 20))
    stderr = import_fails(project, env)
    detail = cargo_disk_full_detail(stderr, target)
    assert re.match(
        r"the linker was killed writing the library, with \d+ KiB left on that disk: .*"
        r"signal 7|.*No space left on device",
        detail,
    ), detail

    # The last good build is kept: with the edit undone, it loads without a build; the
    # other environment's module loads as it was, the disk still full.
    source.write_text(DOUBLE_RS)
    fresh = project.hook_import(code, env=env)
    assert (fresh.stdout.strip(), fresh.built) == ("42", False)
    assert other_in_its_environment() == ("10", False)

    # Space again: the next import builds and loads the edit.
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    filler.unlink()
    rebuilt = project.hook_import(code, env=env)
    assert (rebuilt.stdout.strip(), rebuilt.built) == ("63", True)
    again = project.hook_import(code, env=env)
    assert (again.stdout.strip(), again.built) == ("63", False)


def test_installing_the_library_out_of_space_keeps_the_last_build_and_recovers(
    project: Project, small_disk: Path
) -> None:
    # cargo builds on another disk (the session's shared target directory); the cache,
    # where the library is installed and the record written, is full.
    target = shared_cargo_target(project.build_dir)
    cache = small_disk / "cache"
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(target))
    source = project.write("fast.rs", DOUBLE_RS)
    code = "import fast; print(fast.double(21))"
    assert project.hook_import(code, env=env).stdout.strip() == "42"

    filler = fill(small_disk)
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    stderr = import_fails(project, env)
    assert re.search(
        rf"^rusthook\.RusthookError: cannot install the built library as {re.escape(str(cache))}/\S+/"
        r"fast\.\w+\.\S+\.so: the disk is full \(No space left on device \(os error 28\)\)\.$",
        stderr,
        re.M,
    ), stderr
    leftovers = [p.name for p in cache.rglob(".tmp*")]
    assert leftovers == [], "no half-written temporary file is left"

    source.write_text(DOUBLE_RS)
    fresh = project.hook_import(code, env=env)
    assert (fresh.stdout.strip(), fresh.built) == ("42", False), "the last good build"

    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    filler.unlink()
    rebuilt = project.hook_import(code, env=env)
    assert (rebuilt.stdout.strip(), rebuilt.built) == ("63", True)
