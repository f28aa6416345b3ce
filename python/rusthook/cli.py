"""``python -m rusthook``: activation, the build cache, builds, new crates, eject, versions."""

from __future__ import annotations

import argparse
import os
import sys

from rusthook import _core, _site
from rusthook._api import build_all, build_filepath

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence


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
        args.command(args)
    except (_core.RusthookError, OSError, ValueError) as error:
        print(f"rusthook: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("rusthook: interrupted", file=sys.stderr)
        return 130
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m rusthook",
        description="Import Rust from Python: build .rs files and crates on import.",
    )
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
    site_commands = site.add_subparsers(title="site commands", metavar="ACTION")
    site.set_defaults(command=lambda args: site.print_help())
    site_install = site_commands.add_parser(
        "install",
        help="write the .pth file that activates the hook at start-up",
        description="Activates rusthook at every start of this interpreter's environment "
        "(a managed .pth file in site-packages), with the given settings.",
    )
    site_install.add_argument("--user", action="store_true", help="use the user site-packages")
    _add_settings(site_install)
    site_install.set_defaults(command=_site_install)
    site_uninstall = site_commands.add_parser(
        "uninstall", help="remove the .pth file written by `site install`"
    )
    site_uninstall.add_argument("--user", action="store_true", help="use the user site-packages")
    site_uninstall.set_defaults(command=_site_uninstall)
    site_info = site_commands.add_parser("info", help="show where rusthook is activated")
    site_info.set_defaults(command=_site_info)

    cache = commands.add_parser("cache", help="inspect or clear the build cache")
    cache_commands = cache.add_subparsers(title="cache commands", metavar="ACTION")
    cache.set_defaults(command=lambda args: cache.print_help())
    cache_info = cache_commands.add_parser(
        "info", help="location, size and number of modules of the build cache"
    )
    cache_info.add_argument("--build-dir", help="the build cache (default: as the hook uses)")
    cache_info.set_defaults(command=_cache_info)
    cache_clear = cache_commands.add_parser(
        "clear", help="delete every build (refuses while a build is running)"
    )
    cache_clear.add_argument("--build-dir", help="the build cache (default: as the hook uses)")
    cache_clear.set_defaults(command=_cache_clear)

    build = commands.add_parser(
        "build",
        help="build .rs files, crates, or every module below a folder",
        description="Builds each PATH (default: the current folder): a .rs file, a crate "
        "folder, or any other folder (every module below it). Each library is written "
        "beside its source as name.<EXT_SUFFIX>, as rustimport's `build` does, unless "
        "--no-in-place is given.",
    )
    build.add_argument("paths", nargs="*", metavar="PATH", default=["."])
    build.add_argument(
        "--in-place",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="write name.<EXT_SUFFIX> beside each source, for use without rusthook "
        "(default; --no-in-place keeps libraries in the build cache only)",
    )
    _add_settings(build)
    build.set_defaults(command=_build)

    new = commands.add_parser(
        "new",
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
    new.set_defaults(command=_new)

    eject = commands.add_parser(
        "eject",
        help="turn a single-file module into a standalone maturin project",
        description="Writes a maturin project for the `// rusthook:pyo3` file SOURCE into "
        "DEST: Cargo.toml from the template and the file's `//:` lines, pyproject.toml "
        "with the maturin backend, and src/lib.rs (your code plus its #[pymodule], written "
        "out). `pip install DEST` then installs it, and `maturin build` makes a wheel; "
        "neither needs rusthook.",
    )
    eject.add_argument("source", metavar="SOURCE", help="the .rs file")
    eject.add_argument("dest", metavar="DEST", help="the project folder (must not exist yet)")
    eject.set_defaults(command=_eject)

    version = commands.add_parser(
        "version", help="print rusthook, Python, rustc and cargo versions (for bug reports)"
    )
    version.set_defaults(command=_version)
    return parser


def _add_settings(parser: argparse.ArgumentParser) -> None:
    # -r and -f (--force) as rustimport's command line spells them.
    parser.add_argument(
        "-r", "--release", action="store_true", default=None, help="optimised builds"
    )
    parser.add_argument(
        "-f",
        "--force-rebuild",
        "--force",
        dest="force_rebuild",
        action="store_true",
        default=None,
        help="build even when fresh",
    )
    parser.add_argument(
        "--quiet", action="store_true", default=None, help="hide cargo's progress and warnings"
    )
    parser.add_argument("--build-dir", help="the build cache folder")
    parser.add_argument(
        "--lock-timeout", type=float, help="seconds to wait for another process's build"
    )


def _settings(args: argparse.Namespace) -> dict[str, object]:
    names = ("release", "force_rebuild", "quiet", "build_dir", "lock_timeout")
    settings = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if args.quiet_all:
        settings["quiet"] = True
    return settings


def _site_install(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _core.Settings(**settings)  # type: ignore[arg-type]  # reject bad values now, not at start-up
    path = _site.install(args.user, settings)
    print(f"rusthook is now active at every start of {sys.executable} ({path})")


def _site_uninstall(args: argparse.Namespace) -> None:
    path = _site.uninstall(args.user)
    if path is None:
        print(f"rusthook was not site-installed here ({_site.pth_path(args.user)})")
    else:
        print(f"removed {path}")


def _site_info(args: argparse.Namespace) -> None:
    print(f"interpreter: {sys.executable}")
    for user in (False, True):
        where = "user site-packages" if user else "site-packages"
        try:
            path = _site.pth_path(user)
        except ValueError:
            print(f"{where}: not read by this interpreter")
            continue
        line = _site.installed_line(path)
        state = f"active ({line})" if line else "not installed"
        print(f"{where}: {state}\n  {path}")
    if not _core.hook_enabled():
        print("RUSTHOOK_ENABLED=0 is set: the hook stays off in this shell")


def _build_root(args: argparse.Namespace) -> str:
    settings = {"build_dir": args.build_dir} if args.build_dir else {}
    return _core.Settings(**settings).build_dir


def _cache_info(args: argparse.Namespace) -> None:
    root = _build_root(args)
    summaries = _core.cache_summary(root)
    total = sum(size for _, _, size in summaries)
    modules = sum(count for _, count, _ in summaries)
    print(f"build cache: {root}")
    print(f"size: {_megabytes(total)}, modules: {modules}")
    for abi_dir, count, size in summaries:
        print(f"  {os.path.basename(abi_dir)}: {count} modules, {_megabytes(size)}")


def _cache_clear(args: argparse.Namespace) -> None:
    root = _build_root(args)
    freed = _core.cache_clear(root)
    print(f"cleared {root} ({_megabytes(freed)} freed)")


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _build(args: argparse.Namespace) -> None:
    settings = _settings(args)
    for path in args.paths:
        if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "Cargo.toml")):
            for built in build_all(path, in_place=args.in_place, **settings):  # type: ignore[arg-type]
                print(built)
        else:
            print(build_filepath(path, in_place=args.in_place, **settings))  # type: ignore[arg-type]


def _new(args: argparse.Namespace) -> None:
    path = _core.new_crate(args.path, args.name)
    name = args.name.removesuffix(".rs")
    print(f"created {path}: `import {name}` builds and loads it (with rusthook active)")


def _eject(args: argparse.Namespace) -> None:
    dest = _core.eject(args.source, args.dest)
    print(
        f"wrote a maturin project to {dest}: `pip install {args.dest}` installs it, "
        "`maturin build` in it makes a wheel"
    )


def _version(args: argparse.Namespace) -> None:
    print(f"rusthook {_core.__version__}")
    print(f"python {sys.version.split()[0]} ({sys.executable})")
    for program, version in _core.tool_versions():
        print(f"{os.path.basename(program)}: {version}")
