"""Builds that are interrupted, and processes that import the same module at once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import DOUBLE_RS, Project, stalling_rustc_wrapper, start, wait_for


def process_is_gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.1)
    return False


@pytest.mark.unix_only
def test_ctrl_c_stops_the_build_and_the_next_import_recovers(project: Project) -> None:
    project.write("slow.rs", DOUBLE_RS)
    wrapper, pid_file = stalling_rustc_wrapper(project, "slow_", seconds=120)
    importer = start(
        project, "import rusthook; rusthook.install(); import slow", RUSTC_WRAPPER=str(wrapper)
    )
    try:
        wait_for(pid_file, importer)
        rustc_pid = int(pid_file.read_text())
        started = time.monotonic()
        importer.send_signal(signal.SIGINT)
        _, stderr = importer.communicate(timeout=30)
    finally:
        if importer.poll() is None:
            importer.kill()
    assert time.monotonic() - started < 10, "Ctrl-C must not wait for the build to finish"
    assert importer.returncode != 0
    assert "KeyboardInterrupt" in stderr, stderr
    assert process_is_gone(rustc_pid, within=5), "the compiler started by cargo was killed too"

    run = project.hook_import("import slow; print(slow.double(21))")
    assert run.built
    assert run.stdout.strip() == "42"


@pytest.mark.unix_only
def test_concurrent_importers_wait_for_one_build(project: Project) -> None:
    project.write("shared.rs", DOUBLE_RS)
    # Slow the module's compile a little so every importer arrives while it builds.
    wrapper, _ = stalling_rustc_wrapper(project, "shared_", seconds=3)
    env = project.env(RUSTC_WRAPPER=str(wrapper))
    code = "import rusthook; rusthook.install(); import shared; print(shared.double(21))"
    importers = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=project.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [p.communicate(timeout=600) for p in importers]
    assert [p.returncode for p in importers] == [0, 0, 0], results
    assert [out.strip() for out, _ in results] == ["42", "42", "42"]
    builds = sum("rusthook: building shared" in err for _, err in results)
    assert builds == 1, results
    waited = sum("waiting for another process" in err for _, err in results)
    assert waited >= 1, results
