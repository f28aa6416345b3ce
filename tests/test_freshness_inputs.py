"""What a build reads, one input kind per test: each change rebuilds and returns the new
behaviour, each change cargo ignores builds nothing. C-ABI (cffi) modules stand in where
flags change: they have no dependencies, so a new `RUSTFLAGS` recompiles one crate, not
pyo3."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import DOUBLE_RS, EXT_SUFFIX, Project, copy_compiled_dependencies

FLAGS_RS = """\
// rusthook:cffi
#[no_mangle]
pub extern "C" fn flag() -> i32 {
    if cfg!(feature_x) { 1 } else { 0 }
}

#[no_mangle]
pub extern "C" fn name_len() -> i32 {
    option_env!("FAST_NAME").map_or(-1, |name| name.len() as i32)
}
"""

SHOW = "import flags; print(flags.lib.flag(), flags.lib.name_len())"


def step(project: Project, cwd: Path | None = None, **env: str) -> tuple[str, bool, str]:
    """Imports `flags` in a fresh interpreter: (what it printed, whether it built, stderr)."""
    run = project.hook_import(SHOW, env=project.env(**env), cwd=cwd)
    return run.stdout.strip(), run.built, run.stderr


def test_variables_the_build_reads_rebuild_when_they_change(project: Project) -> None:
    project.write("flags.rs", FLAGS_RS)
    assert step(project)[:2] == ("0 -1", True)
    assert step(project)[:2] == ("0 -1", False)
    # RUSTFLAGS: set, the same again, another value, then CARGO_ENCODED_RUSTFLAGS.
    out, built, stderr = step(project, RUSTFLAGS="--cfg feature_x")
    assert (out, built) == ("1 -1", True)
    assert "the environment variable RUSTFLAGS was set" in stderr
    assert step(project, RUSTFLAGS="--cfg feature_x")[:2] == ("1 -1", False)
    # option_env!: set, empty (not the same as unset), changed, unset.
    out, built, stderr = step(project, FAST_NAME="bob")
    assert (out, built) == ("0 3", True)
    assert "the environment variable FAST_NAME was set" in stderr
    out, built, stderr = step(project, FAST_NAME="")
    assert (out, built) == ("0 0", True)
    assert "the environment variable FAST_NAME changed" in stderr
    assert step(project, FAST_NAME="")[:2] == ("0 0", False)
    assert step(project, FAST_NAME="alice")[:2] == ("0 5", True)
    assert step(project)[:2] == ("0 -1", True)
    assert step(project, CARGO_ENCODED_RUSTFLAGS="--cfg\x1ffeature_x")[:2] == ("1 -1", True)
    # A variable nothing reads changes nothing.
    assert step(project, UNRELATED="1")[:2] == ("0 -1", True)
    assert step(project, UNRELATED="2")[:2] == ("0 -1", False)


def test_cargo_configuration_in_parent_folders_is_an_input(project: Project) -> None:
    source = project.write("app/flags.rs", FLAGS_RS)
    app = source.parent
    assert step(project, cwd=app)[:2] == ("0 -1", True)
    # A .cargo/config.toml in a folder above the source: cargo reads it, so must rusthook.
    config = project.write(
        ".cargo/config.toml",
        '[build]\nrustflags = ["--cfg", "feature_x"]\n[env]\nFAST_NAME = "cfg"\n',
    )
    out, built, stderr = step(project, cwd=app)
    assert (out, built) == ("1 3", True)
    assert f"{project.root / '.cargo'} appeared" in stderr
    # A comment or another layout: the same data, nothing to build (cargo builds nothing).
    config.write_text(
        '# flags\n[build]\nrustflags = [ "--cfg", "feature_x" ]\n\n[env]\nFAST_NAME = "cfg"\n'
    )
    assert step(project, cwd=app)[:2] == ("1 3", False)
    config.write_text('[build]\nrustflags = ["--cfg", "feature_x"]\n[env]\nFAST_NAME = "config"\n')
    out, built, stderr = step(project, cwd=app)
    assert (out, built) == ("1 6", True)
    assert f"{config} changed" in stderr
    # Not TOML: cargo's error names the file; the last build is not loaded as fresh.
    config.write_text("[build\n")
    run = project.hook_import(SHOW, env=project.env(), cwd=app, check=False)
    assert run.returncode != 0
    assert f"{config} changed (and is not valid TOML now: cargo will say where)" in run.stderr
    assert f"could not parse TOML configuration in `{config}`" in run.stderr
    config.unlink()
    assert step(project, cwd=app)[:2] == ("0 -1", True)
    # A touched source with the same contents builds nothing.
    os.utime(source)
    assert step(project, cwd=app)[:2] == ("0 -1", False)


BUILD_SCRIPT_CARGO_TOML = """\
[package]
name = "scripted"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]
"""

BUILD_RS = """\
fn main() {
    println!("cargo:rerun-if-env-changed=SCRIPTED_MODE");
    println!("cargo:rerun-if-changed=mode.txt");
    let mode = std::env::var("SCRIPTED_MODE").unwrap_or_else(|_| "none".into());
    let file = std::fs::read_to_string("mode.txt").unwrap_or_default();
    println!("cargo:rustc-env=SCRIPTED_SEEN={}{}", mode, file.trim());
}
"""

SCRIPTED_LIB_RS = """\
#[no_mangle]
pub extern "C" fn seen() -> usize {
    env!("SCRIPTED_SEEN").len()
}
"""


def test_build_script_inputs_rebuild(project: Project) -> None:
    project.write("scripted/.rusthook", "cffi\n")
    project.write("scripted/Cargo.toml", BUILD_SCRIPT_CARGO_TOML)
    project.write("scripted/build.rs", BUILD_RS)
    project.write("scripted/src/lib.rs", SCRIPTED_LIB_RS)
    mode = project.write("scripted/mode.txt", "")

    def seen(**env: str) -> tuple[str, bool, str]:
        run = project.hook_import(
            "import scripted; print(scripted.lib.seen())", env=project.env(**env)
        )
        return run.stdout.strip(), run.built, run.stderr

    assert seen()[:2] == ("4", True)  # "none"
    assert seen()[:2] == ("4", False)
    out, built, stderr = seen(SCRIPTED_MODE="fast")
    assert (out, built) == ("4", True)
    assert "the environment variable SCRIPTED_MODE was set" in stderr
    assert seen(SCRIPTED_MODE="faster")[:2] == ("6", True)
    assert seen(SCRIPTED_MODE="faster")[:2] == ("6", False)
    mode.write_text("xy\n")
    assert seen(SCRIPTED_MODE="faster")[:2] == ("8", True)


def test_in_place_builds_carry_their_own_proof(project: Project, tmp_path: Path) -> None:
    source = project.write("fast.rs", DOUBLE_RS)
    project.run("import rusthook; rusthook.build_filepath('fast.rs', in_place=True)")
    library = project.root / f"fast{EXT_SUFFIX}"
    stamp = project.root / f"fast{EXT_SUFFIX}.rusthook.json"
    assert library.is_file() and stamp.is_file()
    # Another build folder (as after `cache clear` or a prune; its dependencies compiled,
    # as in a cache in use): the library beside the source still proves itself fresh.
    other_cache = tmp_path / "other-cache"
    copy_compiled_dependencies(other_cache)
    env = project.env(RUSTHOOK_BUILD_DIR=str(other_cache))
    run = project.hook_import("import fast; print(fast.double(2), fast.__file__)", env=env)
    assert run.stdout.split() == ["4", str(library)]
    assert not run.built
    # An edit: rebuilt, and written again beside the source, also in another cache.
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 3"))
    run = project.hook_import("import fast; print(fast.double(2))", env=env)
    assert (run.stdout.strip(), run.built) == ("6", True)
    plain = project.run("import fast; print(fast.double(2))", env=env)
    assert plain.stdout.strip() == "6"
    # A copy of the folder elsewhere: still fresh there.
    copy = tmp_path / "copy"
    shutil.copytree(project.root, copy)
    run = project.hook_import("import fast; print(fast.double(2))", env=env, cwd=copy)
    assert (run.stdout.strip(), run.built) == ("6", False)
    # A truncated stamp vouches for nothing: built again (never loaded on its word).
    stamp.write_text(stamp.read_text()[:40])
    run = project.hook_import("import fast; print(fast.double(2))", env=env)
    assert (run.stdout.strip(), run.built) == ("6", True)
    assert (
        f"{stamp} cannot vouch for it: it is not a stamp rusthook wrote (truncated?)" in run.stderr
    )
    # A stamp from a newer rusthook, or one naming another library: the same.
    stamp.write_text(stamp.read_text().replace('"format": 1,', '"format": 7,', 1))
    run = project.hook_import("import fast; print(fast.double(2))", env=env)
    assert (run.stdout.strip(), run.built) == ("6", True)
    assert "a newer rusthook wrote it (format 7; this one reads 1)" in run.stderr
    text = stamp.read_text()
    sha = text.split('"library_sha256": "')[1][:64]
    stamp.write_text(text.replace(sha, "0" * 64))
    os.utime(library, (1, 1))
    run = project.hook_import("import fast; print(fast.double(2))", env=env)
    assert (run.stdout.strip(), run.built) == ("6", True)
    assert f"{library} is not the library it describes" in run.stderr
    # A library without a stamp is someone else's: Python imports it, rusthook leaves it.
    stamp.unlink()
    before = library.read_bytes()
    source.write_text(DOUBLE_RS.replace("x * 2", "x * 4"))
    run = project.hook_import("import fast; print(fast.double(2))", env=env)
    assert (run.stdout.strip(), run.built) == ("6", False)
    assert library.read_bytes() == before


NESTED_RS = """\
// rusthook:pyo3
mod inner {
    use pyo3::prelude::*;

    #[pymodule]
    #[pyo3(name = "nested")]
    pub fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        m.add("answer", 42)
    }
}
"""


def test_a_pymodule_inside_an_inline_module_is_the_users(project: Project) -> None:
    project.write("nested.rs", NESTED_RS)
    run = project.hook_import("import nested; print(nested.answer)")
    assert run.stdout.strip() == "42"


def explain(project: Project, *args: str, **env: str) -> tuple[int, str]:
    run = project.run(
        f"import sys; from rusthook.cli import main; sys.exit(main({list(args)!r}))",
        env=project.env(**env),
        check=False,
    )
    return run.returncode, run.stdout + run.stderr


def test_explain_says_which_input_changed_and_cache_info_names_failed_builds(
    project: Project,
) -> None:
    import json

    source = project.write("flags.rs", FLAGS_RS)
    assert step(project)[1]
    status, text = explain(project, "explain", "flags")
    assert status == 0, text
    assert text.startswith(f"flags (file {source}): up to date\n"), text
    assert "  partition: cpython-" in text and "  built: " in text
    status, text = explain(project, "explain", str(source), RUSTFLAGS="--cfg feature_x")
    assert status == 1
    assert "must be rebuilt: the environment variable RUSTFLAGS was set" in text
    source.write_text(FLAGS_RS + "\n// edited\n")
    status, text = explain(project, "explain", "flags", "--json")
    facts = json.loads(text)
    assert status == 1
    assert (facts["fresh"], facts["reason"]) == (False, f"{source} changed")
    assert facts["library"].endswith(".so") and facts["kind"] == "file"
    assert "RUSTFLAGS" in facts["variables"] and "FAST_NAME" in facts["variables"]
    # A build that failed is said as such in `cache info`, not as a source gone.
    project.write("broken.rs", "// rusthook:cffi\nfn (\n")
    assert project.hook_import("import broken", check=False).returncode != 0
    status, text = explain(project, "cache", "info")
    assert status == 0, text
    assert "    broken: " in text and "(no build finished (failed or interrupted))" in text


def test_a_variable_that_is_not_utf8_fails_the_build_and_never_loads_the_last_one(
    project: Project,
) -> None:
    project.write("flags.rs", FLAGS_RS)
    env = {os.fsencode(k): os.fsencode(v) for k, v in project.env().items()}
    code = "import rusthook; rusthook.install(); " + SHOW

    def run(value: bytes | None) -> subprocess.CompletedProcess[str]:
        extra = dict(env)
        if value is not None:
            extra[b"FAST_NAME"] = value
        return subprocess.run(
            [sys.executable, "-c", code],
            cwd=project.root,
            env=extra,
            capture_output=True,
            text=True,
        )

    def imported(value: bytes | None) -> tuple[str, bool]:
        done = run(value)
        assert done.returncode == 0, done.stderr
        return done.stdout.strip(), "rusthook: building " in done.stderr

    assert imported(None) == ("0 -1", True)
    # rustc refuses a value that is not UTF-8 (rusthook compares the bytes, so it sees
    # the change): the import fails with the compiler's message, and the build of the
    # unset variable is not loaded in its place, now or at the next import.
    for _ in range(2):
        failed = run(b"ann\xff")
        assert failed.returncode == 1, failed.stdout
        assert "rusthook: building flags (debug) from " in failed.stderr
        assert ": the environment variable FAST_NAME was set\n" in failed.stderr
        assert "error: environment variable `FAST_NAME` is not a valid Unicode string" in (
            failed.stderr
        )
        assert failed.stdout == ""
    assert imported(b"ann") == ("0 3", True)
    assert imported(b"ann") == ("0 3", False)
