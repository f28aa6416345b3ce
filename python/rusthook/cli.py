"""``python -m rusthook``: the parser and ``main``. Each command group's handlers live in
a module of their own: ``_cli_site`` (activation), ``_cli_cache`` (the build cache),
``_cli_build`` (``build``, ``stubs``, ``warm``), ``_cli_scaffold`` (``new``, ``eject``);
``_cli_settings`` holds the build settings the building commands share."""

from __future__ import annotations

import argparse
import os
import sys

from rusthook import _cli_build, _cli_cache, _cli_explain, _cli_scaffold, _cli_site, _core
from rusthook._cli_settings import add_settings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    # What runs a command: its exit status (None: 0).
    _Handler = Callable[[argparse.Namespace], int | None]


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "command"):
        parser.print_help()
        return 2
    if args.verbose:
        import logging

        from rusthook import reset_logger

        logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s %(message)s")
        reset_logger()
    try:
        status: int | None = args.command(args)
    except (_core.RusthookError, OSError, ValueError, TypeError) as error:
        print(f"rusthook: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rusthook: interrupted", file=sys.stderr)
        return 130
    return status or 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rusthook",
        description="Import Rust from Python: build .rs files and crates on import.",
    )
    parser.add_argument("--version", action="version", version=f"rusthook {_core.__version__}")
    # -v and -q before the command, as rustimport's command line takes them.
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="log at DEBUG (why each module is built)"
    )
    parser.add_argument(
        "-q",
        "--quiet",
        dest="quiet_all",
        action="store_true",
        help="hide cargo's progress and warnings in every command",
    )
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    site = commands.add_parser(
        "site", help="activate rusthook at every interpreter start of this environment"
    )
    site_commands = site.add_subparsers(title="site commands", metavar="ACTION", required=True)
    site_install = _command(
        site_commands,
        "install",
        _cli_site.site_install,
        help="write the .pth file that activates the hook at start-up",
        description="Activates rusthook at every start of this interpreter's environment "
        "(a managed .pth file in site-packages), with the given settings.",
    )
    site_install.add_argument("--user", action="store_true", help="use the user site-packages")
    add_settings(site_install)
    site_install.add_argument(
        "--in-place",
        action="store_true",
        default=None,
        help="also write each library beside its source, for use without rusthook",
    )
    site_install.add_argument(
        "--stubs",
        action="store_true",
        default=None,
        help="write a name.pyi stub beside each module's source whenever it is built",
    )
    site_install.add_argument(
        "--no-file-importer",
        dest="enable_file_importer",
        action="store_false",
        default=None,
        help="do not import .rs files and marked crates",
    )
    site_install.add_argument(
        "--no-project-importer",
        dest="enable_project_importer",
        action="store_false",
        default=None,
        help="do not rebuild editable maturin projects",
    )
    site_uninstall = _command(
        site_commands,
        "uninstall",
        _cli_site.site_uninstall,
        help="remove the .pth file written by `site install`",
    )
    site_uninstall.add_argument("--user", action="store_true", help="use the user site-packages")
    _command(site_commands, "info", _cli_site.site_info, help="show where rusthook is activated")

    cache = commands.add_parser("cache", help="inspect or clear the build cache")
    cache_commands = cache.add_subparsers(title="cache commands", metavar="ACTION", required=True)

    # Each cache action takes the build cache it acts on.
    def cache_action(
        name: str, handler: _Handler, help: str, description: str | None = None
    ) -> argparse.ArgumentParser:
        action = _command(cache_commands, name, handler, help=help, description=description)
        action.add_argument("--build-dir", help="the build cache (default: as the hook uses)")
        return action

    cache_action(
        "info", _cli_cache.cache_info, "location, size and number of modules of the build cache"
    )
    cache_action(
        "clear", _cli_cache.cache_clear, "delete every build (refuses while a build is running)"
    )
    cache_prune = cache_action(
        "prune",
        _cli_cache.cache_prune,
        "remove builds whose source is gone, old ones, or the least recently used",
        description="Removes the builds of modules whose source no longer exists; with "
        "--older-than, those not used for that many days; with --max-size, the least "
        "recently used (and then whole partitions) until the cache is no larger. A build "
        "that is running, or whose library a running process has loaded, is kept.",
    )
    cache_prune.add_argument(
        "--older-than", type=float, metavar="DAYS", help="remove what was not used for DAYS days"
    )
    cache_prune.add_argument(
        "--max-size",
        type=_cli_cache.size,
        metavar="SIZE",
        help="remove the least recently used until the cache is at most SIZE (500M, 2G)",
    )

    build = _command(
        commands,
        "build",
        _cli_build.build,
        help="build .rs files, crates, or every module below a folder",
        description="Builds each PATH (default: the current folder): a .rs file, a crate "
        "folder, or any other folder (every module below it). Each library is written "
        "beside its source as name.<EXT_SUFFIX>, as rustimport's `build` does, unless "
        "--no-in-place is given. A module that fails does not stop the others; the exit "
        "status is 1 if any failed.",
    )
    build.add_argument("paths", nargs="*", metavar="PATH", default=["."])
    build.add_argument(
        "--in-place",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write name.<EXT_SUFFIX> beside each source, for use without rusthook "
        "(default; --no-in-place keeps libraries in the build cache only)",
    )
    add_settings(build)

    stubs = _command(
        commands,
        "stubs",
        _cli_build.stubs,
        help="write a .pyi stub beside .rs files and crates (or every module below a folder)",
        description="Builds each PATH (default: the current folder) with pyo3's "
        "introspection data and writes name.pyi beside the .rs file or crate folder, where "
        "editors and type checkers find it. A stub is rewritten only when the module's "
        "interface changed; a name.pyi that rusthook did not write is left as it is.",
    )
    stubs.add_argument("paths", nargs="*", metavar="PATH", default=["."])
    stubs.add_argument(
        "--diff",
        action="store_true",
        help="write nothing; show how each stub on disk differs from the module",
    )
    add_settings(stubs)

    new = _command(
        commands,
        "new",
        _cli_scaffold.new,
        help="create a crate (NAME) or a single file (NAME.rs) that imports as NAME",
        description="Creates NAME/ with Cargo.toml, src/lib.rs and a .rusthook marker, or "
        "for NAME.rs a single `// rusthook:pyo3` file; `import NAME` then builds and "
        "loads it.",
    )
    new.add_argument(
        "name",
        metavar="NAME",
        help="the module name (a Python identifier), with .rs for a single file",
    )
    new.add_argument("--path", default=".", help="the folder to create it in (default: .)")

    eject = _command(
        commands,
        "eject",
        _cli_scaffold.eject,
        help="turn a single-file module into a standalone maturin project",
        description="Writes a maturin project for the `// rusthook:pyo3` file SOURCE into "
        "DEST: Cargo.toml from the template and the file's `//:` lines, pyproject.toml "
        "with the maturin backend, and src/lib.rs (your code plus its #[pymodule], written "
        "out). `pip install DEST` then installs it, and `maturin build` makes a wheel; "
        "neither needs rusthook.",
    )
    eject.add_argument("source", metavar="SOURCE", help="the .rs file")
    eject.add_argument(
        "dest", metavar="DEST", help="the project folder (must not exist yet, or be empty)"
    )

    warm = _command(
        commands,
        "warm",
        _cli_build.warm,
        help="compile the dependencies ahead of the first import",
        description="Compiles pyo3 (the pyo3 template's dependencies) for this interpreter "
        "and profile into the build cache, and builds each PATH (a .rs file, a crate, or "
        "every module below a folder) with its own dependencies, so that a later first "
        "import builds only its module. For Docker build steps, CI set-up, or right after "
        "`site install`.",
    )
    warm.add_argument("paths", nargs="*", metavar="PATH")
    warm.add_argument(
        "--in-place",
        dest="for_in_place",
        action="store_true",
        help="compile them as in-place builds (`build`) need them: with pyo3's "
        "introspection data, from which their stubs are made",
    )
    add_settings(warm)

    explain = _command(
        commands,
        "explain",
        _cli_explain.explain,
        help="say whether a module is up to date, and if not which input changed",
        description="For a .rs file, crate folder or editable project (a path, or an "
        "import name looked up as an import would): up to date or not, and if not exactly "
        "which input changed (a file, an environment variable, a configuration file, an "
        "option, the toolchain); where its library is, which partition of the cache, when "
        "it was built and how long that took. Builds nothing. Exit status 0 when up to "
        "date, 1 when an import would build.",
    )
    explain.add_argument("target", metavar="NAME_OR_PATH")
    explain.add_argument("--json", action="store_true", help="print the facts as JSON")
    add_settings(explain)

    _command(
        commands,
        "version",
        _version,
        help="print rusthook, Python, rustc and cargo versions (for bug reports)",
    )
    return parser


def _command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    handler: _Handler,
    help: str,
    description: str | None = None,
) -> argparse.ArgumentParser:
    """A command (or a group's action) and the handler ``main`` runs for it."""
    parser = commands.add_parser(name, help=help, description=description)
    parser.set_defaults(command=handler)
    return parser


def _version(args: argparse.Namespace) -> None:
    print(f"rusthook {_core.__version__}")
    print(f"python {sys.version.split()[0]} ({sys.executable})")
    for program, version in _core.tool_versions():
        print(f"{os.path.basename(program)}: {version}")
