"""The build settings every building command takes, and the settings a command line gives."""

from __future__ import annotations

import argparse

from rusthook import _core


def add_settings(parser: argparse.ArgumentParser) -> None:
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


SETTING_NAMES = (
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


def settings_of(args: argparse.Namespace) -> dict[str, object]:
    """The settings given on the command line, as install() takes them (`-q` before the
    command counts as `--quiet`)."""
    settings = {
        name: getattr(args, name) for name in SETTING_NAMES if getattr(args, name, None) is not None
    }
    if args.quiet_all:
        settings["quiet"] = True
    return settings


def core_settings(args: argparse.Namespace, **extra: object) -> _core.Settings:
    """The command line's settings (and ``extra``) as the core takes them; a bad value is
    an error now."""
    return _core.Settings(**settings_of(args), **extra)  # type: ignore[arg-type]
