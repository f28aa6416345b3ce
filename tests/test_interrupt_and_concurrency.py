"""Builds that are interrupted, and processes that import the same module at once."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, HeldCompile, Project, start, wait_until


def process_ended(pid: int) -> bool:
    """True once `pid` is gone or a zombie (dead, waiting for its parent to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat.rsplit(")", 1)[1].split()[0] in ("Z", "X")


@pytest.mark.unix_only
def test_ctrl_c_stops_the_build_and_the_next_import_recovers(project: Project) -> None:
    project.write("slow.rs", DOUBLE_RS)
    # The compile is held until released, which never happens: the import can only end
    # because Ctrl-C stopped the build (were it waited for, `communicate` times out).
    held = HeldCompile(project, "slow_")
    # Ctrl-C raises KeyboardInterrupt, as in a terminal, whatever this process inherited
    # (a process started in the background, as pytest-xdist's are, ignores SIGINT, and so
    # would the importer).
    code = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import rusthook; rusthook.install(); import slow"
    )
    importer = start(project, code, **held.env())
    try:
        rustc_pid = held.wait_until_reached(importer)
        importer.send_signal(signal.SIGINT)
        _, stderr = importer.communicate(timeout=120)
    finally:
        if importer.poll() is None:
            importer.kill()
            held.kill()
    assert importer.returncode != 0
    assert stderr.rstrip().endswith("KeyboardInterrupt"), stderr
    wait_until(lambda: process_ended(rustc_pid), "the compiler cargo started is killed too")

    run = project.hook_import("import slow; print(slow.double(21))")
    assert run.built
    assert run.stdout.strip() == "42"


@pytest.mark.unix_only
def test_importers_of_one_module_wait_for_one_build(project: Project) -> None:
    project.write("six.rs", DOUBLE_RS)
    # The first importer's compile is held until the five others wait for its lock.
    held = HeldCompile(project, "six_")
    code = "import rusthook; rusthook.install(); import six; print(six.double(21))"
    logs = [project.root / f"importer{index}.log" for index in range(6)]
    importers = [start(project, code, stderr=log, **held.env()) for log in logs]
    try:
        held.wait_until_reached(*importers)

        def waiting() -> int:
            return sum("waiting for another process" in log.read_text() for log in logs)

        wait_until(
            lambda: waiting() == 5 or any(p.poll() is not None for p in importers),
            "five importers wait for the one that builds",
        )
        assert waiting() == 5, [log.read_text() for log in logs]
        held.release()
        outputs = [process.communicate(timeout=600)[0] for process in importers]
    finally:
        held.kill()
        for process in importers:
            if process.poll() is None:
                process.kill()
    errors = [log.read_text() for log in logs]
    assert [p.returncode for p in importers] == [0] * 6, errors
    assert [out.strip() for out in outputs] == ["42"] * 6
    assert sum("rusthook: building six" in err for err in errors) == 1, errors
    assert sum("waiting for another process" in err for err in errors) == 5, errors
