"""What the shared build cache meets on a real machine: a record from another
toolchain, a build folder on a read-only file system, another user's cache, a
partition others can write to. Each gets a clear message, and nothing a working
environment relies on is lost."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import rusthook
from conftest import ABI_TAG, DOUBLE_RS, STABLE_ABI_TAG, Project, shared_cargo_target, tmpfs

CODE = "import fast; print(fast.double(21))"


def test_a_build_from_another_toolchain_is_rebuilt_never_loaded(
    project: Project, tmp_path: Path, build_dir: Path
) -> None:
    cache = tmp_path / "cache"
    env = project.env(
        RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(shared_cargo_target(build_dir))
    )
    project.write("fast.rs", DOUBLE_RS)
    project.write("other.rs", DOUBLE_RS.replace("x * 2", "x * 4"))
    assert project.hook_import("import fast, other", env=env).built
    # The partition as an older rusthook on another toolchain left it (a `rustup
    # update` since): the remembered `rustc -vV` and the module's record name another
    # rustc, whose library this process must not load.
    (record_path,) = cache.glob(f"{STABLE_ABI_TAG}/modules/fast-*/record.json")
    record = json.loads(record_path.read_text())
    record["toolchain"] = {
        "fingerprint": "another",
        "version": "rustc 1.70.0 (90c541806 2023-05-31)",
    }
    record_path.write_text(json.dumps(record))
    toolchain_file = cache / ABI_TAG / "toolchain.json"
    assert toolchain_file.is_file(), "the remembered `rustc -vV`"
    toolchain_file.write_text(json.dumps({"fingerprint": "another", "version": "rustc 1.70.0"}))
    run = project.hook_import(CODE, env=env, cwd=project.root)
    assert (run.stdout.strip(), run.built) == ("42", True), run.stderr
    record = json.loads(record_path.read_text())
    assert (
        record["toolchain"]["version"].startswith("rustc 1.")
        and "1.70.0" not in record["toolchain"]["version"]
    )
    # The other module of the partition is untouched: loaded as it was, not rebuilt.
    other = project.hook_import("import other; print(other.double(21))", env=env)
    assert (other.stdout.strip(), other.built) == ("84", False)


@pytest.fixture
def read_only_disk(tmp_path: Path) -> Iterator[Path]:
    """A small tmpfs that the test remounts read-only."""
    with tmpfs(tmp_path / "disk", "64M", "the read-only build folder test") as disk:
        yield disk


def remount(disk: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(disk)], check=True)


@pytest.mark.linux_only
def test_a_read_only_build_folder_serves_what_it_holds_and_says_why_it_cannot_build(
    project: Project, read_only_disk: Path, build_dir: Path
) -> None:
    # A cache baked into an image and mounted read-only: what it holds loads.
    cache = read_only_disk / "cache"
    env = project.env(
        RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(shared_cargo_target(build_dir))
    )
    source = project.write("fast.rs", DOUBLE_RS)
    assert project.hook_import(CODE, env=env).stdout.strip() == "42"
    remount(read_only_disk, "ro")
    try:
        fresh = project.hook_import(CODE, env=env)
        assert (fresh.stdout.strip(), fresh.built) == ("42", False), fresh.stderr

        # An edit cannot be built there: the message says where and what to do.
        source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
        failed = project.hook_import(CODE, env=env, check=False)
        assert failed.returncode == 1
        last = failed.stderr.strip().splitlines()[-1]
        assert last.startswith(
            f"rusthook.RusthookError: cannot build fast: the build folder {cache} is on a read-only file system"
        ), failed.stderr
        assert last.endswith("set RUSTHOOK_BUILD_DIR (or build_dir=) to a writable folder."), last

        # A new, never-made cache there: the same message, before any work.
        new_cache = read_only_disk / "never-made"
        failed = project.hook_import(
            CODE, env=project.env(RUSTHOOK_BUILD_DIR=str(new_cache)), check=False
        )
        assert failed.returncode == 1
        assert (
            failed.stderr.strip()
            .splitlines()[-1]
            .startswith(
                f"rusthook.RusthookError: cannot build fast: the build folder {new_cache} is on a "
                "read-only file system"
            )
        ), failed.stderr
    finally:
        remount(read_only_disk, "rw")
    # Writable again: the edit builds, nothing was lost.
    rebuilt = project.hook_import(CODE, env=env)
    assert (rebuilt.stdout.strip(), rebuilt.built) == ("63", True)


@pytest.mark.unix_only
def test_a_shared_partition_others_can_write_to_is_refused(
    project: Project, tmp_path: Path
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    partition = cache / STABLE_ABI_TAG
    partition.mkdir(mode=0o700)
    partition.chmod(0o777)  # as a shared team folder, or a careless `chmod -R`
    project.write("fast.rs", DOUBLE_RS)
    run = project.hook_import(CODE, env=project.env(RUSTHOOK_BUILD_DIR=str(cache)), check=False)
    assert run.returncode == 1
    assert (
        f"refusing to use the build folder {partition}: other users can write to it (mode 777), "
        "so a library built there could be replaced by someone else." in run.stderr
    ), run.stderr
    assert os.listdir(partition) == [], "nothing was compiled there"
    # A CARGO_TARGET_DIR from the environment goes through the same check.
    shared_target = tmp_path / "shared-target"
    shared_target.mkdir(mode=0o700)
    shared_target.chmod(0o777)
    partition.chmod(0o700)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(shared_target))
    run = project.hook_import(CODE, env=env, check=False)
    assert (
        f"refusing to use the build folder {shared_target}: other users can write to it "
        "(mode 777), so a library built there could be replaced by someone else." in run.stderr
    ), run.stderr
    assert os.listdir(shared_target) == [], "nothing was compiled there"


@pytest.mark.linux_only
def test_two_users_each_have_their_own_cache_and_neither_can_use_the_others(
    project: Project, tmp_path: Path, build_dir: Path
) -> None:
    """As root (CI), `nobody` stands for a second user of the machine."""
    shared_tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"rusthook-two-users-{os.getpid()}"
    shared_tmp.mkdir(mode=0o755)
    try:
        home = shared_tmp / "home"
        home.mkdir()
        os.chown(home, 65534, 65534)
        work = shared_tmp / "work"
        work.mkdir(mode=0o755)
        (work / "fast.rs").write_text(DOUBLE_RS)
        (work / "fast.rs").chmod(0o644)
        # What the other user runs: an interpreter and a rusthook they can read (this
        # checkout may be in root's home, which nobody can enter).
        system_python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
        assert system_python, "the test needs a python3 in /usr/bin that any user can run"
        package_parent = shared_tmp / "packages"
        shutil.copytree(Path(rusthook.__file__).resolve().parent, package_parent / "rusthook")
        for folder, _, files in os.walk(shared_tmp):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        os.chown(home, 65534, 65534)

        def as_nobody(code: str, **extra: str) -> subprocess.CompletedProcess[str]:
            env = {
                "PATH": os.environ["PATH"],
                "HOME": str(home),
                "PYTHONPATH": str(package_parent),
                **extra,
            }
            return subprocess.run(
                [system_python, "-c", code],
                cwd=work,
                env=env,
                user=65534,
                group=65534,
                extra_groups=[],
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
            )

        # Each user's default cache is in their own home.
        info = as_nobody(
            "import sys; from rusthook.cli import main; sys.exit(main(['cache', 'info']))"
        )
        assert info.returncode == 0, info.stderr
        assert info.stdout.splitlines()[0] == f"build cache: {home}/.cache/rusthook"

        # nobody can only load from root's cache (nor plant a library in it) …
        root_cache = shared_tmp / "root-cache"  # where nobody can see it is root's
        project.write("fast.rs", DOUBLE_RS)
        env = project.env(
            RUSTHOOK_BUILD_DIR=str(root_cache), CARGO_TARGET_DIR=str(shared_cargo_target(build_dir))
        )
        assert project.hook_import(CODE, env=env).stdout.strip() == "42"
        assert root_cache.stat().st_mode & 0o777 == 0o700
        planted = as_nobody(
            "import rusthook; rusthook.install(); import fast", RUSTHOOK_BUILD_DIR=str(root_cache)
        )
        assert planted.returncode == 1
        assert (
            f"cannot build fast: the build folder {root_cache} belongs to another user (uid 0), "
            "so this user only loads what it holds" in planted.stderr
        ), planted.stderr

        # … and root does not use a cache nobody made.
        theirs = home / ".cache" / "rusthook"
        made = as_nobody(
            "import os; os.makedirs(os.path.expanduser('~/.cache/rusthook'), mode=0o700)"
        )
        assert made.returncode == 0, made.stderr
        run = project.hook_import(
            CODE, env=project.env(RUSTHOOK_BUILD_DIR=str(theirs)), check=False
        )
        assert run.returncode == 1
        assert (
            f"refusing to use the build folder {theirs}: it belongs to another user (uid 65534)"
            in run.stderr
        )
    finally:
        shutil.rmtree(shared_tmp)
