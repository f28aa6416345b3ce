"""`python -m rusthook`: cache, build, new, version, --help, errors."""

from __future__ import annotations

import fcntl
import os
import sys
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, EXT_SUFFIX, STABLE_ABI_TAG, Project, shared_cargo_target

COMMANDS = [
    [],
    ["site"],
    ["site", "install"],
    ["site", "uninstall"],
    ["site", "info"],
    ["cache"],
    ["cache", "info"],
    ["cache", "clear"],
    ["build"],
    ["stubs"],
    ["new"],
    ["version"],
]


def cli(project: Project, *args: str, env: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
    code = f"import sys; from rusthook.cli import main; sys.exit(main({list(args)!r}))"
    return project.run(code, check=False, env=env)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_everywhere(project: Project, command: list[str]) -> None:
    run = cli(project, *command, "--help")
    assert run.returncode == 0
    assert run.stdout.startswith("usage: python -m rusthook")


def test_module_entry_point(project: Project) -> None:
    run = project.run(
        f"import subprocess, sys; sys.exit(subprocess.call([{sys.executable!r}, '-m', 'rusthook', 'version']))"
    )
    assert run.stdout.startswith("rusthook ")


def test_version(project: Project) -> None:
    lines = cli(project, "version").stdout.splitlines()
    assert lines[0].startswith("rusthook 0.")
    assert lines[1].startswith("python 3.")
    assert lines[2].startswith("rustc: rustc 1.")
    assert lines[3].startswith("cargo: cargo 1.")


def test_new_creates_an_importable_crate(project: Project) -> None:
    run = cli(project, "new", "my_ext")
    assert run.returncode == 0
    assert "`import my_ext` builds and loads it" in run.stdout
    imported = project.hook_import("import my_ext; print(my_ext.add(2, 3))")
    assert imported.stdout.strip() == "5"

    again = cli(project, "new", "my_ext")
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"rusthook: error: {project.root / 'my_ext'} already exists; "
        "choose another name or remove it first"
    )
    bad = cli(project, "new", "my-ext")
    assert bad.returncode == 1
    assert bad.stderr == (
        f"rusthook: error: `my-ext` (from {project.root / 'my-ext'}) is not a valid Python "
        "module name; rename it to a Python identifier such as `my_ext`\n"
    )


def test_build_files_and_folders(project: Project) -> None:
    project.write("fast.rs", DOUBLE_RS)
    project.write("lib/other.rs", DOUBLE_RS)
    run = cli(project, "build", "fast.rs", "--in-place")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == str(project.root / f"fast{EXT_SUFFIX}")
    run = cli(project, "build", "lib")
    assert run.stdout.strip() == str(project.root / "lib" / f"other{EXT_SUFFIX}")
    assert project.run("import fast; print(fast.double(1))").stdout.strip() == "2"


def test_errors_are_one_line_and_exit_non_zero(project: Project) -> None:
    run = cli(project, "build", "missing.rs")
    assert run.returncode == 1
    assert run.stderr == (
        f"rusthook: error: {project.root / 'missing.rs'} is not an importable Rust source: no such file\n"
    )
    unknown = cli(project, "frobnicate")
    assert unknown.returncode == 2
    assert "invalid choice: 'frobnicate'" in unknown.stderr


def test_cache_info_and_clear(project: Project, tmp_path: Path, build_dir: Path) -> None:
    cache = tmp_path / "own-cache"
    # Share the session's compiled dependencies: only modules live in this cache.
    target = shared_cargo_target(build_dir)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(target))
    project.write("fast.rs", DOUBLE_RS)
    project.run("import rusthook; rusthook.install(); import fast", env=env)

    info = cli(project, "cache", "info", env=env).stdout.splitlines()
    assert info[0] == f"build cache: {cache}"
    assert info[1].endswith("modules: 1")

    module_dir = next((cache / STABLE_ABI_TAG / "modules").iterdir())
    with open(module_dir / "build.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # as a running build holds it
        busy = cli(project, "cache", "clear", env=env)
    assert busy.returncode == 1
    assert "a build is running in the cache" in busy.stderr
    assert module_dir.exists(), "a refused clear deletes nothing"

    cleared = cli(project, "cache", "clear", env=env)
    assert cleared.returncode == 0, cleared.stderr
    assert cleared.stdout.startswith(f"cleared {cache} (")
    assert cli(project, "cache", "info", env=env).stdout.splitlines()[1].endswith("modules: 0")
    # The next import simply builds again.
    assert project.run("import rusthook; rusthook.install(); import fast", env=env).built
    assert os.path.isdir(target), "CARGO_TARGET_DIR outside the cache is never touched"
