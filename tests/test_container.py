"""The README's Dockerfile, without a Docker engine: its `rusthook` steps run as root with
the image's paths moved under a temporary folder, then its program runs as `nobody`, who
loads what root built from root's cache and can write nothing there."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pytest
import rusthook
from conftest import DOUBLE_RS, shared_cargo_target
from test_shared_cache import PYO3_COMPILED

README = Path(__file__).resolve().parents[1] / "README.md"
NOBODY = 65534


def dockerfile() -> str:
    (block,) = re.findall(r"```dockerfile\n(.*?)```", README.read_text(), re.S)
    return "\n".join(line.strip() for line in block.splitlines())


@pytest.fixture
def image(tmp_path: Path) -> Iterator[Path]:
    """A folder any user can enter, standing for the image's root: rusthook's package
    (this checkout may be in root's home, which nobody can enter), and /app/src."""
    root = Path(os.environ.get("TMPDIR", "/tmp")) / f"rusthook-image-{os.getpid()}"
    root.mkdir(mode=0o755)
    try:
        shutil.copytree(Path(rusthook.__file__).resolve().parent, root / "packages" / "rusthook")
        src = root / "app" / "src"
        src.mkdir(parents=True)
        (root / "opt").mkdir()
        (src / "fast.rs").write_text(DOUBLE_RS)
        (src / "main.py").write_text(
            "import rusthook\nrusthook.install()\nimport fast\nprint(fast.double(21), fast.__file__)\n"
        )
        for folder, _, files in os.walk(root):
            os.chmod(folder, 0o755)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o644)
        yield root
    finally:
        shutil.rmtree(root)


def snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(path): (path.stat().st_size, path.stat().st_mtime_ns) for path in folder.rglob("*")}


def test_the_readmes_dockerfile_steps(image: Path, build_dir: Path) -> None:
    python = shutil.which("python3", path="/usr/bin:/usr/local/bin")
    assert python, "the test needs a python3 in /usr/bin that any user can run"
    cache = image / "opt" / "rusthook"
    steps = dockerfile()
    assert "ENV PATH=/root/.cargo/bin:$PATH RUSTHOOK_BUILD_DIR=/opt/rusthook" in steps
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "PYTHONPATH": str(image / "packages"),
        "RUSTHOOK_BUILD_DIR": str(cache),
        # The tests' compiled dependencies (the README's image compiles its own).
        "CARGO_TARGET_DIR": str(shared_cargo_target(build_dir)),
    }
    runs = [line.removeprefix("RUN ") for line in steps.splitlines() if "rusthook " in line]
    assert runs == [
        "python -m rusthook warm --in-place",
        "python -m rusthook build /app/src && chmod -R go+rX /opt/rusthook",
    ], steps
    outputs = []
    for command in runs:
        command = command.replace("python ", f"{python} ").replace("/app", str(image / "app"))
        command = command.replace("/opt/rusthook", str(cache))
        done = subprocess.run(
            ["sh", "-c", command], env=env, capture_output=True, text=True, cwd=image
        )
        assert done.returncode == 0, done.stderr
        outputs.append(done.stderr)
    # `warm --in-place` compiled what the in-place build needs: pyo3 is not compiled again.
    assert not PYO3_COMPILED.search(outputs[1]), outputs[1]
    assert "Compiling rusthook-fast " in outputs[1]

    # USER nobody, CMD ["python", "/app/src/main.py"]: loads what root built.
    assert 'USER nobody\nCMD ["python", "/app/src/main.py"]' in steps
    home = image / "home"
    home.mkdir()
    os.chown(home, NOBODY, NOBODY)

    def as_nobody(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [python, *args],
            cwd=image / "app" / "src",
            env={**env, "HOME": str(home), "PATH": f"/root/.cargo/bin:{os.environ['PATH']}"},
            user=NOBODY,
            group=NOBODY,
            extra_groups=[],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
        )

    before = snapshot(cache)
    run = as_nobody(str(image / "app" / "src" / "main.py"))
    assert (run.returncode, run.stderr) == (0, ""), run.stderr
    value, library = run.stdout.split()
    # The library `build` wrote beside the source, vouched for by its stamp (which
    # `nobody` can read) without a build: the image's program loads it as it would
    # without rusthook.
    suffix = sysconfig.get_config_var("EXT_SUFFIX")
    assert (value, library) == ("42", str(image / "app" / "src" / f"fast{suffix}")), run.stdout
    assert Path(f"{library}.rusthook.json").is_file()

    # A module the image holds no build of: where it looked, how to build it; nothing
    # is written into root's cache.
    other = image / "app" / "src" / "other.rs"
    other.write_text(DOUBLE_RS)
    other.chmod(0o644)
    missing = as_nobody(
        "-c",
        "import rusthook; rusthook.install()\ntry:\n    import other\n"
        "except rusthook.RusthookError as e:\n    print(e)",
    )
    message = missing.stdout
    assert message.startswith(
        f"cannot build other: the build folder {cache} belongs to another user (uid 0), so "
        "this user only loads what it holds, and it holds no up-to-date build of other "
        f"(looked for {cache}/"
    ), message + missing.stderr
    assert message.endswith(
        f"/record.json).\nBuild it there as that user (`python -m rusthook build {other}`, "
        "e.g. in the image's Dockerfile), or set RUSTHOOK_BUILD_DIR (or build_dir=) to a "
        "folder of your own.\n"
    ), message
    assert snapshot(cache) == before, "nobody wrote into root's cache"
