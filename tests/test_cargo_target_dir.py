"""`CARGO_TARGET_DIR` in the environment: rusthook compiles there as cargo would, in one
folder per partition of its cache (`<CARGO_TARGET_DIR>/<partition>`), each as private
as the build folder."""

from __future__ import annotations

import os
from pathlib import Path

from conftest import (
    ABI3_SUFFIX,
    ABI_TAG,
    DOUBLE_RS,
    EXT_SUFFIX,
    STABLE_ABI_TAG,
    Project,
    shared_cargo_target,
)

CODE = (
    "import stable, specific\n"
    "print(stable.double(2), specific.double(2))\n"
    "print(stable.__file__)\n"
    "print(specific.__file__)"
)


def test_stable_abi_and_version_specific_builds_share_it_without_meeting(
    project: Project, tmp_path: Path, build_dir: Path
) -> None:
    cache = tmp_path / "own-cache"
    target = shared_cargo_target(build_dir)
    env = project.env(RUSTHOOK_BUILD_DIR=str(cache), CARGO_TARGET_DIR=str(target))
    # The pyo3 template asks for the stable ABI; rustimport's pins a version-specific pyo3.
    project.write("stable.rs", DOUBLE_RS)
    project.write(
        "specific.rs", DOUBLE_RS.replace("rusthook:pyo3", "rustimport:pyo3").replace("2", "3")
    )
    first = project.hook_import(CODE, env=env)
    values, stable, specific = first.stdout.splitlines()
    assert values == "4 6", first.stderr
    assert stable.startswith(str(cache / STABLE_ABI_TAG)) and stable.endswith(ABI3_SUFFIX)
    assert specific.startswith(str(cache / ABI_TAG)) and specific.endswith(EXT_SUFFIX)
    # Each partition compiled in its own folder there, nothing beside them.
    assert sorted(os.listdir(target)) == sorted([STABLE_ABI_TAG, ABI_TAG])
    assert list((target / STABLE_ABI_TAG).glob("debug/deps/*stable_*"))
    assert list((target / ABI_TAG).glob("debug/deps/*specific_*"))
    assert not list((target / STABLE_ABI_TAG).glob("debug/deps/*specific_*"))

    # Neither build made the other stale, whichever is imported first.
    for code in (CODE, CODE.replace("stable, specific", "specific, stable")):
        again = project.hook_import(code, env=env)
        assert not again.built, again.stderr
        assert again.stdout.splitlines() == [values, stable, specific]
