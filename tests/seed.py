"""The seed: pyo3 and the other dependencies the tests build, compiled once per machine.

The seed is a build cache of its own, outside the checkout (so that a fresh clone on a
machine that ran the tests before finds it), where rusthook under test builds a few
modules in every configuration the tests compile pyo3 in: the first run compiles their
dependencies, later runs find them fresh. Each session's build cache starts with a copy
of the seed's cargo target folders, never a module's record or library, so every module
a test imports is built in its session. Whether a copied dependency is used is cargo's
decision, from its fingerprints (compiler, crate versions, features, profile,
environment): a seed made by another toolchain or another rusthook is simply not used,
and a test cannot pass because of it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

SEED_RS = """\
// rusthook:pyo3
use pyo3::prelude::*;

#[pyfunction]
fn double(x: i64) -> i64 {
    x * 2
}
"""

# A marked crate whose pyo3 asks for a bare `abi3` (built for its interpreter), as
# test_shared_cache.py writes it with conftest.make_crate.
SEED_BARE_ABI3_TOML = """\
[package]
name = "seed_bare_abi3"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[dependencies]
pyo3 = { version = "0.30", features = ["abi3"] }
"""
SEED_BARE_ABI3_LIB = """\
use pyo3::prelude::*;

#[pymodule]
mod seed_bare_abi3 {}
"""

# The template's debug and release builds, its introspection builds (stubs; in-place
# builds), rustimport's pinned pyo3, and a bare `abi3` crate's.
SEED_BUILDS = """\
import rusthook
rusthook.build("seed")
rusthook.build("seed", release=True)
rusthook.build("seed", stubs=True)
rusthook.build("seed", release=True, stubs=True)
rusthook.build("seed_rustimport")
rusthook.build("seed_bare_abi3")
"""

# Editable maturin projects as tests/test_projects.py writes them: their own `dev`
# profile (not the template's), stable-ABI and version-specific pyo3, and a project's
# stubs (pyo3's introspection). Each is built by the project importer, as in the tests.
PYO3_STABLE_ABI = 'pyo3 = { version = "0.30", features = ["abi3-py39"] }'
PYO3_VERSION_SPECIFIC = 'pyo3 = { version = "0.30" }'
SEED_PROJECTS = {
    "seed_proj": PYO3_STABLE_ABI,
    "seed_proj_specific": PYO3_VERSION_SPECIFIC,
    "seed_proj_stubs": PYO3_STABLE_ABI,
}
MATURIN = "maturin>=1.9.4,<2"

# Past this size the seed is started afresh (old dependency versions pile up).
SEED_LIMIT = 4 << 30

SEEDED: list[str] = []


def seed_folder() -> Path:
    named = os.environ.get("RUSTHOOK_TEST_SEED")
    if named:
        return Path(named)
    cache_home = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache_home) / "rusthook-tests" / "seed"


def seed_dependencies(build: Path) -> None:
    """Brings the seed up to date and copies its cargo target folders into `build`, the
    session's new build cache."""
    import fcntl  # Unix only, as the tests that build are

    seed = seed_folder()
    seed.mkdir(mode=0o700, parents=True, exist_ok=True)
    started = time.monotonic()
    with open(seed / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another test run may be making or copying it
        # The template's builds and the projects' in caches of their own: tests with a
        # build cache of their own copy the first alone (`copy_template_dependencies`).
        caches = [seed / "cache", seed / "projects-cache"]
        for cache in caches:
            if cache.is_dir() and folder_size(cache) > SEED_LIMIT:
                shutil.rmtree(cache)
        env = {k: v for k, v in os.environ.items() if not k.startswith("RUSTHOOK_")}
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        try:
            build_single_files(seed / "sources", {**env, "RUSTHOOK_BUILD_DIR": str(caches[0])})
            build_projects(seed / "projects", {**env, "RUSTHOOK_BUILD_DIR": str(caches[1])})
        except SeedFailed as failed:
            # The session compiles everything itself; the tests say what is broken.
            SEEDED.append(f"not seeded: {failed}")
            return
        # Both caches' target folders into one per partition: cargo names what it
        # compiles by a hash of its configuration, so they hold different files.
        for cache in caches:
            for target in sorted(cache.glob("*/target")):
                partition = build / target.parent.name
                partition.mkdir(mode=0o700, exist_ok=True)
                shutil.copytree(
                    target,
                    partition / "target",
                    symlinks=True,
                    dirs_exist_ok=True,
                    ignore=shutil.ignore_patterns("incremental"),
                )
    SEEDED.append(f"compiled dependencies copied from {seed} in {time.monotonic() - started:.1f} s")


class SeedFailed(Exception):
    pass


def run(command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    made = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    if made.returncode != 0:
        raise SeedFailed(f"{' '.join(command)} failed:\n{made.stdout}{made.stderr}")


def build_single_files(sources: Path, env: dict[str, str]) -> None:
    sources.mkdir(exist_ok=True)
    write_if_changed(sources / "seed.rs", SEED_RS)
    write_if_changed(
        sources / "seed_rustimport.rs", SEED_RS.replace("rusthook:pyo3", "rustimport:pyo3")
    )
    crate = sources / "seed_bare_abi3"
    (crate / "src").mkdir(parents=True, exist_ok=True)
    write_if_changed(crate / ".rusthook", "")
    write_if_changed(crate / "Cargo.toml", SEED_BARE_ABI3_TOML)
    write_if_changed(crate / "src" / "lib.rs", SEED_BARE_ABI3_LIB)
    run([sys.executable, "-c", SEED_BUILDS], sources, env)


def build_projects(projects: Path, env: dict[str, str]) -> None:
    """Installs the seed projects in editable mode in a virtual environment of the seed
    (once), then imports each with the hook active, which rebuilds it in the seed cache."""
    import rusthook

    venv = projects / "venv"
    python = venv / "bin" / "python"
    wanted = f"{sys.version}\n{MATURIN}\n{sorted(SEED_PROJECTS.items())}\n"
    installed = projects / "installed"
    if not installed.is_file() or installed.read_text() != wanted:
        shutil.rmtree(projects, ignore_errors=True)
        projects.mkdir()
        uv = [sys.executable, "-m", "uv"]
        run([*uv, "venv", "--quiet", "--seed", str(venv)], projects)
        run([*uv, "pip", "install", "--quiet", "--python", str(python), MATURIN], projects)
        for name, pyo3 in SEED_PROJECTS.items():
            write_project(projects / name, name, pyo3)
            run(
                [
                    str(python),
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--no-build-isolation",
                    "-e",
                    name,
                ],
                projects,
                {**env, "CARGO_TARGET_DIR": str(projects / "pip-target")},
            )
        installed.write_text(wanted)
    site_packages = next(venv.glob("lib/python*/site-packages"))
    # The rusthook under test, wherever this checkout is.
    write_if_changed(
        site_packages / "_rusthook_under_test.pth",
        f"{Path(rusthook.__file__).resolve().parent.parent}\n",
    )
    # As the tests run them: the environment not activated, cargo offline.
    env = {k: v for k, v in env.items() if k != "VIRTUAL_ENV"}
    env["CARGO_NET_OFFLINE"] = "true"
    hook = "import rusthook; rusthook.install(); import seed_proj, seed_proj_specific"
    run([str(python), "-c", hook], projects, env)
    run([str(python), "-m", "rusthook", "stubs", "seed_proj_stubs"], projects, env)


def write_project(root: Path, name: str, pyo3: str) -> None:
    (root / "src").mkdir(parents=True)
    (root / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["maturin>=1.9.4,<2"]\nbuild-backend = "maturin"\n'
        f'[project]\nname = "{name}"\nversion = "0.1.0"\n'
        '[tool.maturin]\neditable-profile = "dev"\n'
    )
    (root / "Cargo.toml").write_text(
        f'[package]\nname = "{name}"\nversion = "0.1.0"\nedition = "2021"\n'
        f'[lib]\ncrate-type = ["cdylib"]\n[dependencies]\n{pyo3}\n'
    )
    (root / "src" / "lib.rs").write_text(
        "use pyo3::prelude::*;\n\n#[pymodule]\n"
        f"mod {name} {{\n    use pyo3::prelude::*;\n\n"
        "    #[pyfunction]\n    fn value() -> i64 {\n        1\n    }\n}\n"
    )


def copy_template_dependencies(cache: Path, partition: str) -> None:
    """Makes `cache`, a build cache of a test's own, with the seed's debug builds of the
    template's dependencies in `partition` (they are most of the first build)."""
    import fcntl  # Unix only, as the tests that build are

    cache.mkdir(mode=0o700)
    seed = seed_folder()
    seed.mkdir(mode=0o700, parents=True, exist_ok=True)
    seeded = seed / "cache" / partition / "target"

    def debug_builds_only(folder: str, names: list[str]) -> set[str]:
        return {"incremental"} | ({"release"} if Path(folder) == seeded else set())

    with open(seed / "lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_SH)
        if seeded.is_dir():
            (cache / partition).mkdir(mode=0o700)
            shutil.copytree(
                seeded, cache / partition / "target", symlinks=True, ignore=debug_builds_only
            )


def folder_size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file() and not f.is_symlink())


def write_if_changed(path: Path, text: str) -> None:
    if not path.is_file() or path.read_text() != text:
        path.write_text(text)
