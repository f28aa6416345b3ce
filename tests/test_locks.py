"""Build locks where they are hard: a holder killed while others wait, a file system whose
`flock` is refused or hangs (NFS without its lock manager). The odd file system is made by
a small C library preloaded into the importers (`LD_PRELOAD`) whose `flock` refuses or
hangs on rusthook's `build.lock` files only (cargo's own locks work as usual)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, HeldCompile, Project, start, wait_until

FLOCK_SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* flock() as a file system without working locks has it, for files named build.lock:
   FLOCK_SHIM=refuse fails with ENOLCK (NFS without lockd), FLOCK_SHIM=hang never returns. */
int flock(int fd, int operation) {
    char link[64], target[4096];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof target - 1);
    const char *mode = getenv("FLOCK_SHIM");
    if (n > 0 && mode) {
        target[n] = 0;
        size_t len = strlen(target);
        if (len >= 11 && strcmp(target + len - 11, "/build.lock") == 0) {
            if (strcmp(mode, "hang") == 0) for (;;) pause();
            errno = ENOLCK;
            return -1;
        }
    }
    int (*real)(int, int) = (int (*)(int, int))dlsym(RTLD_NEXT, "flock");
    return real(fd, operation);
}
"""


@pytest.fixture(scope="module")
def flock_shim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("flock-shim")
    (folder / "shim.c").write_text(FLOCK_SHIM)
    library = folder / "libflockshim.so"
    compiled = subprocess.run(
        ["cc", "-shared", "-fPIC", "-o", str(library), str(folder / "shim.c"), "-ldl"],
        capture_output=True,
        text=True,
    )
    assert compiled.returncode == 0, f"cannot compile the flock shim with cc: {compiled.stderr}"
    return library


def test_refused_file_locks_fall_back_and_a_killed_holder_is_taken_over(
    project: Project, flock_shim: Path
) -> None:
    project.write("held.rs", DOUBLE_RS)
    held = HeldCompile(project, "held_")
    odd_fs = {"LD_PRELOAD": str(flock_shim), "FLOCK_SHIM": "refuse"}
    code = "import rusthook; rusthook.install(); import held; print(held.double(21))"
    holder = start(project, code, **held.env(), **odd_fs)
    compiler = held.wait_until_reached(holder)
    waiter_err = project.root / "waiter.err"
    waiter = start(project, code, stderr=waiter_err, **odd_fs)
    try:
        wait_until(
            lambda: "still waiting for the build lock " in waiter_err.read_text(),
            "the waiter says who it waits for",
        )
        assert waiter.poll() is None, waiter.communicate()
        # Killed while holding the lock (its cargo too, which would hold cargo's own lock).
        holder.send_signal(signal.SIGKILL)
        _, holder_err = holder.communicate()
        os.killpg(os.getpgid(compiler), signal.SIGKILL)
        out, _ = waiter.communicate(timeout=600)
    finally:
        held.kill()
    err = waiter_err.read_text()
    assert waiter.returncode == 0, err
    assert out.strip() == "42"
    assert "file locks are refused on the file system of " in holder_err
    assert (
        "(No locks available (os error 37)); builds there lock with lock files instead (set RUSTHOOK_BUILD_DIR to a local folder to avoid this)"
        in holder_err
    )
    lines = err.splitlines()
    held_file = next(line for line in lines if "still waiting for the build lock " in line)
    assert held_file.startswith("rusthook: still waiting for the build lock /"), err
    assert f"/build.held: held by process {holder.pid} (building held), for " in held_file
    assert f"rusthook: process {holder.pid} died holding the build lock " in err
    assert "rusthook: building held (debug) from " in err
    assert not list(project.build_dir.glob("*/modules/held-*/build.held")), "the lock file stays"


def test_a_file_lock_that_hangs_is_given_up_on(project: Project, flock_shim: Path) -> None:
    project.write("hung.rs", DOUBLE_RS)
    started = time.monotonic()
    run = project.hook_import(
        "import hung; print(hung.double(4))",
        env=project.env(LD_PRELOAD=str(flock_shim), FLOCK_SHIM="hang"),
        timeout=300,
    )
    assert run.stdout.strip() == "8"
    assert "did not answer within 5 s; builds there lock with lock files instead" in run.stderr
    assert time.monotonic() - started < 120
