"""One build cache for every environment of an interpreter: dependencies compile once;
`cache info` and `cache prune` keep it bounded."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import (
    DOUBLE_RS,
    EXTENSION_END,
    Project,
    copy_compiled_dependencies,
    make_crate,
    shared_cargo_target,
    start,
)
from test_site import make_venv

PYO3_COMPILED = re.compile(r"^ +Compiling pyo3(-ffi|-build-config|-macros)? v", re.M)


def test_a_new_environment_reuses_the_compiled_dependencies(
    project: Project, tmp_path: Path
) -> None:
    project.write("one.rs", DOUBLE_RS)
    project.write("two.rs", DOUBLE_RS)
    project.write("three.rs", DOUBLE_RS)
    environments = [make_venv(tmp_path / name)[0] for name in ("a", "b")]

    def first_import(python: Path, name: str) -> subprocess.CompletedProcess[str]:
        run = subprocess.run(
            [str(python), "-c", f"import rusthook; rusthook.install(); import {name}"],
            cwd=project.root,
            env=project.env(),
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )
        assert run.returncode == 0, run.stderr
        assert f"Compiling rusthook-{name} " in run.stderr, run.stderr
        return run

    first_import(environments[0], "one")
    # Another environment, then back: pyo3 is not compiled again in either direction.
    for python, name in ((environments[1], "two"), (environments[0], "three")):
        run = first_import(python, name)
        assert not PYO3_COMPILED.search(run.stderr), run.stderr


def test_a_bare_abi3_feature_builds_for_its_interpreter(project: Project) -> None:
    """pyo3 `features = ["abi3"]` without a version (maturin's pyo3-abi3-without-version):
    pyo3 0.29 and later configure it only from an interpreter, and without one fail with
    "Neither abi3 or abi3t features are enabled". It builds in the interpreter's own
    partition, configured by it."""
    make_crate(project, "bare_abi3", marker=".rusthook")
    manifest = project.root / "bare_abi3" / "Cargo.toml"
    text = manifest.read_text()
    assert '"abi3-py39"' in text
    manifest.write_text(text.replace('"abi3-py39"', '"abi3"'))
    run = project.hook_import(
        "import bare_abi3, sys; print(bare_abi3.answer()); "
        "print(sys.implementation.cache_tag); print(bare_abi3.__file__)"
    )
    answer, tag, library = run.stdout.split()
    assert answer == "42", run.stderr
    # <build folder>/cpython-311-<platform>/modules/…, not the shared stable-ABI partition.
    partition = Path(library).relative_to(project.build_dir).parts[0]
    assert partition.startswith(f"{tag}-"), library
    assert "Neither abi3" not in run.stderr, run.stderr


def test_cache_info_and_prune_keep_what_is_in_use(
    project: Project, tmp_path: Path, build_dir: Path
) -> None:
    cache = tmp_path / "own-cache"
    # Share the session's compiled dependencies: only modules live in this cache.
    target = shared_cargo_target(build_dir)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(target))
    project.write("kept.rs", DOUBLE_RS)
    gone = project.write("gone.rs", DOUBLE_RS)
    project.run("import rusthook; rusthook.install(); import kept, gone", env=env)
    gone.unlink()

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "rusthook", "cache", *args],
            cwd=project.root,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    info = cli("info").stdout
    assert "    gone: " in info and f"from {gone} (source gone)" in info, info
    assert re.search(r"^    kept: [\d.]+ MB, used 0 days ago, from .*kept\.rs$", info, re.M)

    holder = start(
        project,
        "import rusthook, sys, time; rusthook.install(); import kept; "
        "print('loaded', flush=True); time.sleep(600)",
        **{"RUSTHOOK_BUILD_DIR": str(cache), "CARGO_TARGET_DIR": str(target)},
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "loaded\n"
        pruned = cli("prune", "--max-size", "1")
        assert pruned.returncode == 0, pruned.stderr
        lines = pruned.stdout.splitlines()
        assert len(lines) == 2, pruned.stdout
        assert re.match(
            r"removed .*/gone-[0-9a-f]+ \([\d.]+ MB\): its source no longer exists$", lines[0]
        )
        assert re.match(r"pruned .*: 1 removed, [\d.]+ MB freed$", lines[1])
    finally:
        holder.kill()
        holder.communicate()
    pruned = cli("prune", "--max-size", "1K")
    assert "least recently used, over --max-size" in pruned.stdout, pruned.stdout
    assert "modules: 0" in cli("info").stdout
    bad = cli("prune", "--max-size", "lots")
    assert bad.returncode == 2 and "not a size: 'lots' (e.g. 500M, 2G)" in bad.stderr


def test_two_environments_building_at_once_each_get_their_module(
    project: Project, tmp_path: Path
) -> None:
    environments = [make_venv(tmp_path / name)[0] for name in ("a", "b")]
    for index in range(2):
        project.write(f"env{index}/mod{index}.rs", DOUBLE_RS.replace("x * 2", f"x * {index + 3}"))
    processes = [
        subprocess.Popen(
            [
                str(python),
                "-c",
                f"import rusthook; rusthook.install(); import mod{index}; "
                f"print(mod{index}.double(10), mod{index}.__file__)",
            ],
            cwd=project.root / f"env{index}",
            env=project.env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for index, python in enumerate(environments)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for index, (process, (stdout, stderr)) in enumerate(zip(processes, outputs)):
        assert process.returncode == 0, stderr
        value, library = stdout.split()
        assert value == str(10 * (index + 3)), "each environment loads its own module"
        assert f"/mod{index}-" in library


@pytest.mark.slow
def test_a_half_deleted_shared_cache_is_rebuilt_not_misread(
    project: Project, tmp_path: Path, build_dir: Path
) -> None:
    cache = tmp_path / "own-cache"
    copy_compiled_dependencies(cache)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache))
    project.write("halved.rs", DOUBLE_RS)
    first = project.run("import rusthook; rusthook.install(); import halved", env=env)
    assert first.built
    # Half of the shared target directory and the module's library go (a cleanup script,
    # a disk quota, a crash in the middle of `rm -rf`).
    (compiled,) = [p for p in cache.iterdir() if (p / "target").is_dir()]
    deps = sorted((compiled / "target" / "debug" / "deps").iterdir())
    for path in deps[: len(deps) // 2]:
        if path.is_file():
            path.unlink()
    (library,) = cache.glob(f"*/modules/halved-*/halved.*{EXTENSION_END}")
    library.unlink()
    again = project.run(
        "import rusthook; rusthook.install(); import halved; print(halved.double(21))", env=env
    )
    assert again.stdout.strip() == "42"
    assert again.built, "a missing library is rebuilt, never trusted from the record"


@pytest.mark.slow
def test_warm_compiles_the_dependencies_before_the_first_import(
    project: Project, tmp_path: Path
) -> None:
    project.write("first.rs", DOUBLE_RS)
    project.write(
        "deps/dep.rs",
        '// rusthook:pyo3\n//: [dependencies]\n//: itoa = "1"\n'
        "use pyo3::prelude::*;\n#[pyfunction]\nfn digits() -> String {\n"
        "    itoa::Buffer::new().format(42).to_string()\n}\n",
    )
    env = project.env(RUSTHOOK_BUILD_DIR=str(tmp_path / "fresh-cache"))
    warmed = subprocess.run(
        [sys.executable, "-m", "rusthook", "warm", "deps"],
        cwd=project.root,
        env=env,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
    )
    assert warmed.returncode == 0, warmed.stderr
    assert warmed.stdout.startswith("warm: the pyo3 template's dependencies are compiled (")
    assert PYO3_COMPILED.search(warmed.stderr), warmed.stderr
    assert "Compiling itoa" in warmed.stderr
    assert not list((project.root / "deps").glob(f"dep.*{EXTENSION_END}")), (
        "nothing is written in place"
    )
    run = project.run("import rusthook; rusthook.install(); import first", env=env)
    assert run.built and "Compiling rusthook-first" in run.stderr
    assert not PYO3_COMPILED.search(run.stderr), run.stderr
