"""The IPython / Jupyter magic: ``%load_ext rusthook`` registers the cell magic
``%%rust`` (alias ``%%rusthook``), and ``%%rustimport`` for cells written for rustimport
(its flags, and rustimport's pyo3 version).

A cell holds Rust code: ``#[pyfunction]``s, ``#[pyclass]``es and ``//:`` Cargo.toml lines,
with ``use pyo3::prelude::*`` implied. The core builds it as a module named after a hash
of the code, the flags, the interpreter and rusthook's version (an extension module
initialises once per process, so changed code needs a new name), with the cell's source
saved in ``<IPython cache dir>/rusthook/``. Its public functions and classes are then
pushed into the notebook's namespace.
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time

from IPython.core.error import UsageError
from IPython.core.interactiveshell import InteractiveShell
from IPython.core.magic import Magics, cell_magic, magics_class
from IPython.paths import get_ipython_cache_dir

from rusthook import _core
from rusthook._api import _load
from rusthook._cli_scaffold import as_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn


class CellBuildError(_core.BuildError):
    """A cell did not build. IPython shows only the message (the compiler's diagnostics,
    at the cell's own line numbers), not a traceback through rusthook."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class CellError(_core.RusthookError):
    """Anything else that stopped a cell (no cargo on PATH, an unwritable folder):
    shown without a traceback, like :class:`CellBuildError`."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class _Parser(argparse.ArgumentParser):
    """A bad option is IPython's usage error, not an exit of the kernel."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}\n{self.format_usage()}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise UsageError(message or self.format_help())


def _parser(prog: str = "%%rust") -> argparse.ArgumentParser:
    parser = _Parser(prog=prog, add_help=False)
    # -r, -f and --module-path-variable as rustimport's %%rustimport spells them.
    parser.add_argument("-r", "--release", action="store_true", help="an optimised build")
    parser.add_argument(
        "-f",
        "--force",
        action="store_true",
        help="rebuild even if the cell did not change (loaded under a new module name)",
    )
    parser.add_argument(
        "--module-path-variable",
        metavar="NAME",
        help="also put the built library's path into the namespace as NAME",
    )
    parser.add_argument("--quiet", action="store_true", help="show no build progress or warnings")
    parser.add_argument(
        "--eject",
        metavar="DEST",
        help="instead of building, write the cell as a maturin project into DEST",
    )
    parser.add_argument(
        "--name", help="with --eject: the module's name (default: DEST's folder name)"
    )
    return parser


@magics_class
class RustMagics(Magics):
    """``%%rust``: compiles the cell's Rust code and loads its functions and classes."""

    @cell_magic
    def rust(self, line: str, cell: str) -> None:
        """Compiles the cell's Rust code and puts its ``#[pyfunction]``s and
        ``#[pyclass]``es into the namespace. ``use pyo3::prelude::*`` is implied, and
        ``//:`` lines add Cargo.toml lines (``//: [dependencies]``, ``//: itoa = "1"``).
        An unchanged cell loads without a build.

        Options: ``--release`` (an optimised build), ``--force`` (rebuild even if
        unchanged), ``--quiet`` (no build progress or warnings), ``--eject DEST
        [--name NAME]`` (write the cell as a maturin project into DEST instead).
        """
        self._magic("%%rust", line, cell, rustimport=False)

    @cell_magic
    def rustimport(self, line: str, cell: str) -> None:
        """rustimport's ``%%rustimport``: ``%%rust`` for cells written for rustimport,
        built with the pyo3 version rustimport's template gives them. The same options,
        spelt as rustimport spells them: ``-r``/``--release``, ``-f``/``--force``,
        ``--module-path-variable=NAME`` (the built library's path goes into ``NAME``).
        """
        self._magic("%%rustimport", line, cell, rustimport=True)

    def _magic(self, prog: str, line: str, cell: str, *, rustimport: bool) -> None:
        args = _parser(prog).parse_args(shlex.split(line))
        try:
            self._run(args, cell, rustimport)
        except _core.BuildError as error:
            raise CellBuildError(str(error)) from None
        except _core.RusthookError as error:
            raise CellError(str(error)) from None

    def _run(self, args: argparse.Namespace, cell: str, rustimport: bool) -> None:
        if args.name is not None and not args.eject:
            raise UsageError("%%rust: --name names the module of --eject DEST; add --eject")
        if args.eject:
            settings = _core.Settings(quiet=True if args.quiet else None)
            dest = _core.eject_cell(cell, args.eject, args.name, settings)
            if not args.quiet:
                print(
                    f"wrote a maturin project to {dest}: `pip install {as_path(args.eject)}` "
                    "installs it, `maturin build` in it makes a wheel"
                )
            return
        settings = _core.Settings(
            release=True if args.release else None,
            force_rebuild=True if args.force else None,
            quiet=True if args.quiet else None,
        )
        # A forced rebuild must load under a name this process has not loaded yet.
        salt = str(time.time_ns()) if args.force else ""
        name, library = _core.build_cell(cell, cell_directory(), settings, salt, rustimport)
        module = sys.modules.get(name) or _load(name, library, None)
        shell = self.shell
        assert shell is not None  # set when the magics are registered
        public = {key: value for key, value in vars(module).items() if not key.startswith("_")}
        if args.module_path_variable:
            public[args.module_path_variable] = library
        shell.push(public)  # type: ignore[no-untyped-call]


def cell_directory() -> str:
    """Where cell sources are saved: ``<IPython cache dir>/rusthook`` (as Cython's magic)."""
    return os.path.join(get_ipython_cache_dir(), "rusthook")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    ipython.register_magics(RustMagics)
    ipython.magics_manager.register_alias("rusthook", "rust", "cell")
