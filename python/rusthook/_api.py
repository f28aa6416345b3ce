"""The explicit API: import or build a Rust module without installing the hook."""

from __future__ import annotations

import importlib
import os
import sys

from rusthook import _core
from rusthook._hook import module_spec, python_first

# typing is not imported at run time: `import rusthook` must stay cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import ModuleType

    from typing_extensions import Unpack

    from rusthook._settings import BuildSettings


def imp(fullname: str, **settings: Unpack[BuildSettings]) -> ModuleType:
    """Builds (if needed) and imports the Rust module ``fullname`` (``"fast"`` or
    ``"pkg.fast"``), found as the import hook would find it."""
    library, declarations = _find_and_build(fullname, settings)
    return _load(fullname, library, declarations)


def imp_from_path(path: str | os.PathLike[str], **settings: Unpack[BuildSettings]) -> ModuleType:
    """Builds (if needed) and imports the ``.rs`` file or crate directory at ``path``;
    the module is named after the file or directory."""
    name, library, declarations, _ = _core.build_path(path, _core.Settings(**settings))
    return _load(name, library, declarations)


def build(fullname: str, **settings: Unpack[BuildSettings]) -> str:
    """Builds the Rust module ``fullname`` if it is not fresh; returns the library's path
    (the file written beside the source when ``in_place=True``)."""
    source = _core.find_source(fullname, _rust_search_path(fullname))
    if source is None:
        raise ModuleNotFoundError(f"no Rust module named {fullname!r}", name=fullname)
    return build_filepath(source, **settings)


def build_filepath(path: str | os.PathLike[str], **settings: Unpack[BuildSettings]) -> str:
    """Builds the ``.rs`` file or crate directory at ``path`` if it is not fresh; returns
    the library's path (the file beside the source when ``in_place=True``)."""
    _, artifact, _, in_place = _core.build_path(path, _core.Settings(**settings))
    return os.fspath(in_place or artifact)


def build_all(root: str | os.PathLike[str], **settings: Unpack[BuildSettings]) -> list[str]:
    """Builds every Rust module below ``root`` and, unless ``in_place=False`` is given,
    writes each library beside its source for deployment without rusthook. Returns the
    libraries' paths."""
    settings.setdefault("in_place", True)
    core_settings = _core.Settings(**settings)
    built = []
    for _name, source in _core.find_sources(root):
        _, artifact, _, in_place = _core.build_path(source, core_settings)
        built.append(os.fspath(in_place or artifact))
    return built


def _rust_search_path(fullname: str) -> list[str]:
    """Where the import hook would look for ``fullname``'s Rust source: a Python module
    of that name wins here too."""
    parent, _, _ = fullname.rpartition(".")
    path = list(importlib.import_module(parent).__path__) if parent else None
    spec, search_path = python_first(fullname, path)
    if search_path is None:
        origin = spec.origin if spec is not None else None
        raise ModuleNotFoundError(
            f"no Rust module named {fullname!r}: Python imports that name from {origin}",
            name=fullname,
        )
    return search_path


def _find_and_build(fullname: str, settings: BuildSettings) -> tuple[str, str | None]:
    search_path = _rust_search_path(fullname)
    found = _core.find_and_build(fullname, search_path, _core.Settings(**settings))
    if found is None:
        raise ModuleNotFoundError(f"no Rust module named {fullname!r}", name=fullname)
    return found


def _load(fullname: str, library: str, declarations: str | None) -> ModuleType:
    import importlib.util  # only the explicit API needs it; keep `import rusthook` cheap

    spec = module_spec(fullname, library, declarations)
    module = importlib.util.module_from_spec(spec)
    sys.modules[fullname] = module
    try:
        spec.loader.exec_module(module)  # type: ignore[union-attr]
    except BaseException:
        sys.modules.pop(fullname, None)
        raise
    return module
