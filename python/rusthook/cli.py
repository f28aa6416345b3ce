"""``python -m rusthook``: activation, the build cache, builds, new crates, eject, versions."""

from __future__ import annotations

import argparse
import os
import sys
import time

from rusthook import _core, _site
from rusthook._api import build_each, build_filepath, python_origin

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
    site_install = site_commands.add_parser(
        "install",
        help="write the .pth file that activates the hook at start-up",
        description="Activates rusthook at every start of this interpreter's environment "
        "(a managed .pth file in site-packages), with the given settings.",
    )
    site_install.add_argument("--user", action="store_true", help="use the user site-packages")
    _add_settings(site_install)
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
    site_install.set_defaults(command=_site_install)
    site_uninstall = site_commands.add_parser(
        "uninstall", help="remove the .pth file written by `site install`"
    )
    site_uninstall.add_argument("--user", action="store_true", help="use the user site-packages")
    site_uninstall.set_defaults(command=_site_uninstall)
    site_info = site_commands.add_parser("info", help="show where rusthook is activated")
    site_info.set_defaults(command=_site_info)

    cache = commands.add_parser("cache", help="inspect or clear the build cache")
    cache_commands = cache.add_subparsers(title="cache commands", metavar="ACTION", required=True)
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
    cache_prune = cache_commands.add_parser(
        "prune",
        help="remove builds whose source is gone, old ones, or the least recently used",
        description="Removes the builds of modules whose source no longer exists; with "
        "--older-than, those not used for that many days; with --max-size, the least "
        "recently used (and then whole partitions) until the cache is no larger. A build "
        "that is running, or whose library a running process has loaded, is kept.",
    )
    cache_prune.add_argument("--build-dir", help="the build cache (default: as the hook uses)")
    cache_prune.add_argument(
        "--older-than", type=float, metavar="DAYS", help="remove what was not used for DAYS days"
    )
    cache_prune.add_argument(
        "--max-size",
        type=_size,
        metavar="SIZE",
        help="remove the least recently used until the cache is at most SIZE (500M, 2G)",
    )
    cache_prune.set_defaults(command=_cache_prune)

    build = commands.add_parser(
        "build",
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
    _add_settings(build)
    build.set_defaults(command=_build)

    stubs = commands.add_parser(
        "stubs",
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
    _add_settings(stubs)
    stubs.set_defaults(command=_stubs)

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
    eject.add_argument(
        "dest", metavar="DEST", help="the project folder (must not exist yet, or be empty)"
    )
    eject.set_defaults(command=_eject)

    warm = commands.add_parser(
        "warm",
        help="compile the dependencies ahead of the first import",
        description="Compiles pyo3 (the pyo3 template's dependencies) for this interpreter "
        "and profile into the build cache, and builds each PATH (a .rs file, a crate, or "
        "every module below a folder) with its own dependencies, so that a later first "
        "import builds only its module. For Docker build steps, CI set-up, or right after "
        "`site install`.",
    )
    warm.add_argument("paths", nargs="*", metavar="PATH")
    _add_settings(warm)
    warm.set_defaults(command=_warm)

    explain = commands.add_parser(
        "explain",
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
    _add_settings(explain)
    explain.set_defaults(command=_explain_command)

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
    parser.add_argument(
        "--features",
        type=lambda text: [f for f in text.replace(",", " ").split() if f],
        metavar="FEATURES",
        help="cargo features to enable, comma- or space-separated",
    )
    parser.add_argument(
        "--cargo-args",
        type=str.split,
        metavar="ARGS",
        help="extra arguments for cargo, as one quoted string (--cargo-args='--offline')",
    )


_SETTING_NAMES = (
    "release",
    "force_rebuild",
    "quiet",
    "build_dir",
    "lock_timeout",
    "features",
    "cargo_args",
    "in_place",
    "enable_file_importer",
    "enable_project_importer",
    "stubs",
)


def _settings(args: argparse.Namespace) -> dict[str, object]:
    """The settings given on the command line, as install() takes them (`-q` before the
    command counts as `--quiet`)."""
    settings = {
        name: getattr(args, name)
        for name in _SETTING_NAMES
        if getattr(args, name, None) is not None
    }
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
        state = f"active ({_site.described(line)})" if line else "not installed"
        print(f"{where}: {state}\n  {path}")
    if not _core.hook_enabled():
        print("RUSTHOOK_ENABLED=0 is set: the hook stays off in this shell")


def _build_root(args: argparse.Namespace) -> str:
    settings = {"build_dir": args.build_dir} if args.build_dir else {}
    return _core.Settings(**settings).build_dir


def _cache_info(args: argparse.Namespace) -> None:
    root = _build_root(args)
    partitions = _core.cache_summary(root)
    total = sum(size for _, size, _ in partitions)
    modules = sum(len(entries) for _, _, entries in partitions)
    print(f"build cache: {root}")
    print(f"size: {_megabytes(total)}, modules: {modules}")
    now = time.time()
    for abi_dir, size, entries in partitions:
        # The stable-ABI partition holds only what every CPython's abi3 builds compiled.
        what = f"{len(entries)} modules" if entries else "compiled dependencies only"
        print(f"  {os.path.basename(abi_dir)}: {what}, {_megabytes(size)}")
        for name, source, exists, module_size, last_used, state in entries:
            days = max(0, int((now - last_used) // 86_400))
            if state != "built":
                gone = f" ({state})"
            else:
                gone = "" if exists else " (source gone)"
            print(
                f"    {name or '?'}: {_megabytes(module_size)}, used {days} days ago, "
                f"from {source or '?'}{gone}"
            )


def _cache_clear(args: argparse.Namespace) -> None:
    root = _build_root(args)
    freed = _core.cache_clear(root)
    print(f"cleared {root} ({_megabytes(freed)} freed)")


def _cache_prune(args: argparse.Namespace) -> None:
    root = _build_root(args)
    removed = _core.cache_prune(root, args.older_than, args.max_size)
    for path, size, reason in removed:
        print(f"removed {path} ({_megabytes(size)}): {reason}")
    freed = sum(size for _, size, _ in removed)
    print(f"pruned {root}: {len(removed)} removed, {_megabytes(freed)} freed")


def _size(text: str) -> int:
    """``500M``, ``2G``, ``1.5G``, ``4096`` (bytes) as a number of bytes."""
    units = {"K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
    number = text.strip().upper().removesuffix("B")
    factor = units.get(number[-1:], 1)
    try:
        return int(float(number.rstrip("KMGT")) * factor)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500M, 2G)") from None


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


def _build(args: argparse.Namespace) -> int:
    return _build_paths(args.paths, _settings(args))


def _build_paths(paths: list[str], settings: dict[str, object]) -> int:
    """Builds each path (every module below a folder); returns the exit status."""
    failed = 0
    for path in paths:
        if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "Cargo.toml")):
            failed += _build_folder(path, settings)
            continue
        try:
            print(build_filepath(path, **settings))  # type: ignore[arg-type]
        except _core.RusthookError as error:
            print(f"rusthook: error: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _build_folder(folder: str, settings: dict[str, object]) -> int:
    """Builds every module below ``folder``; returns how many failed."""
    built = failed = 0
    for source, library, error in build_each(folder, **settings):  # type: ignore[arg-type]
        if error is None:
            print(library)
            built += 1
        else:
            print(f"rusthook: error: {source}: {error}", file=sys.stderr)
            failed += 1
    if built + failed == 0:
        print(
            f"rusthook: no Rust modules below {folder} (a module is a .rs file whose first "
            "line names rusthook, or a crate folder with a .rusthook marker)",
            file=sys.stderr,
        )
    else:
        summary = f"built {built} of {built + failed} Rust modules below {folder}"
        print(f"rusthook: {summary}" + (f"; {failed} failed" if failed else ""), file=sys.stderr)
    return failed


def _stubs(args: argparse.Namespace) -> int:
    """Writes (or with --diff, compares) the stub of each module; returns the exit status."""
    settings = _core.Settings(**_settings(args))  # type: ignore[arg-type]
    failed = different = 0
    for path in args.paths:
        sources = (
            [source for _, source in _core.find_sources(path)]
            if os.path.isdir(path) and not os.path.isfile(os.path.join(path, "Cargo.toml"))
            else []
        )
        # A file, a crate, or a folder holding no module (an editable maturin project's
        # root, say): the core tells which, or says why it is none.
        for source in sources or [path]:
            try:
                if args.diff:
                    different += _diff_stub(source, settings)
                else:
                    _, stub, written = _core.write_stub(source, settings)
                    print(f"{stub}: {_WRITTEN[written]}")
            except _core.RusthookError as error:
                print(f"rusthook: error: {error}", file=sys.stderr)
                failed += 1
    return 1 if failed or different else 0


_WRITTEN = {
    "written": "written",
    "unchanged": "up to date",
    "kept": "not written by rusthook, left as it is (--diff shows how it differs)",
}


def _diff_stub(source: str, settings: _core.Settings) -> int:
    """Prints how the stub on disk differs from the module's; 1 if it does."""
    import difflib

    _, stub, text = _core.stub_text(source, settings)
    try:
        with open(stub, encoding="utf-8") as file:
            old = file.read()
    except FileNotFoundError:
        old = ""
    diff = list(
        difflib.unified_diff(
            old.splitlines(keepends=True),
            text.splitlines(keepends=True),
            fromfile=stub,
            tofile=f"{stub} (from {source})",
        )
    )
    if diff:
        sys.stdout.writelines(diff)
    else:
        print(f"{stub}: up to date")
    return 1 if diff else 0


def _warm(args: argparse.Namespace) -> int:
    settings = _settings(args)
    library = _core.warm(_core.Settings(**settings))  # type: ignore[arg-type]
    print(f"warm: the pyo3 template's dependencies are compiled ({library})")
    # Warming builds into the cache only, never beside the sources.
    settings.setdefault("in_place", False)
    return _build_paths(args.paths, settings)


def _new(args: argparse.Namespace) -> None:
    origin = python_origin(args.name)
    if origin is not None:
        raise ValueError(
            f"`import {args.name}` already imports {origin}, so a Rust module of that name "
            "would never be imported; choose another name"
        )
    path = _core.new_crate(args.path, args.name)
    name = args.name.removesuffix(".rs")
    print(f"created {path}: `import {name}` builds and loads it (with rusthook active)")


def _eject(args: argparse.Namespace) -> None:
    dest = _core.eject(args.source, args.dest, _core.Settings())
    print(
        f"wrote a maturin project to {dest}: `pip install {as_path(args.dest)}` installs "
        "it, `maturin build` in it makes a wheel"
    )


def as_path(path: str) -> str:
    """``path`` spelled so that pip reads a folder, never a package name: ``./name``."""
    if os.path.isabs(path) or path.startswith(("./", "../")):
        return path
    return os.path.join(".", path)


def _explain_command(args: argparse.Namespace) -> int:
    from rusthook._explain import explain

    settings = _core.Settings(**_settings(args))  # type: ignore[arg-type]
    return explain(args.target, settings, args.json)


def _version(args: argparse.Namespace) -> None:
    print(f"rusthook {_core.__version__}")
    print(f"python {sys.version.split()[0]} ({sys.executable})")
    for program, version in _core.tool_versions():
        print(f"{os.path.basename(program)}: {version}")
