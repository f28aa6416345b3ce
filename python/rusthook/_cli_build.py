"""``python -m rusthook build``, ``stubs`` and ``warm``: building modules ahead of an import."""

from __future__ import annotations

import argparse
import os
import sys

from rusthook import _core
from rusthook._api import build_each, build_filepath
from rusthook._cli_settings import core_settings, settings_of


def build(args: argparse.Namespace) -> int:
    return build_paths(args.paths, settings_of(args))


def build_paths(paths: list[str], settings: dict[str, object]) -> int:
    """Builds each path (every module below a folder); returns the exit status."""
    failed = 0
    for path in paths:
        if _holds_modules(path):
            failed += _build_folder(path, settings)
            continue
        try:
            print(build_filepath(path, **settings))  # type: ignore[arg-type]
        except _core.RusthookError as error:
            print(f"rusthook: error: {error}", file=sys.stderr)
            failed += 1
    return 1 if failed else 0


def _holds_modules(path: str) -> bool:
    """Whether ``path`` is a folder of modules (built each), not a crate."""
    return os.path.isdir(path) and not os.path.isfile(os.path.join(path, "Cargo.toml"))


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


def stubs(args: argparse.Namespace) -> int:
    """Writes (or with --diff, compares) the stub of each module; returns the exit status."""
    settings = core_settings(args)
    failed = different = 0
    for path in args.paths:
        sources = [source for _, source in _core.find_sources(path)] if _holds_modules(path) else []
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


def warm(args: argparse.Namespace) -> int:
    settings = settings_of(args)
    # In-place builds carry pyo3's introspection data (another build of pyo3).
    introspected = {"stubs": True} if args.for_in_place else {}
    library = _core.warm(core_settings(args, **introspected))
    print(f"warm: the pyo3 template's dependencies are compiled ({library})")
    # Warming builds into the cache only, never beside the sources.
    settings.setdefault("in_place", False)
    return build_paths(args.paths, settings)
