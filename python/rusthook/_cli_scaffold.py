"""``python -m rusthook new`` and ``eject``: a new importable crate, a module as a maturin project."""

from __future__ import annotations

import argparse
import os

from rusthook import _core
from rusthook._api import python_origin


def new(args: argparse.Namespace) -> None:
    origin = python_origin(args.name)
    if origin is not None:
        raise ValueError(
            f"`import {args.name}` already imports {origin}, so a Rust module of that name "
            "would never be imported; choose another name"
        )
    path = _core.new_crate(args.path, args.name)
    name = args.name.removesuffix(".rs")
    print(f"created {path}: `import {name}` builds and loads it (with rusthook active)")


def eject(args: argparse.Namespace) -> None:
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
