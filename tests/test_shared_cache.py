"""One build cache for every environment of an interpreter: dependencies compile once."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from conftest import DOUBLE_RS, Project
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
