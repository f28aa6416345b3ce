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
    from collections.abc import Iterator
    from types import ModuleType

    from typing_extensions import Unpack

    from rusthook._settings import BuildSettings


def imp(fullname: str, **settings: Unpack[BuildSettings]) -> ModuleType:
    """Builds (if needed) and imports the Rust module ``fullname`` (``"fast"`` or
    ``"pkg.fast"``), found as the import hook would find it. Calling it again returns
    the same module object (holding the rebuilt code if the source changed)."""
    search_path, extension = _rust_search_path(fullname)
    found = _core.find_and_build(fullname, search_path, _core.Settings(**settings), True, extension)
    if found is None:
        raise _not_found(fullname, extension)
    library, declarations = found
    return _load(fullname, library, declarations)


def imp_from_path(path: str | os.PathLike[str], **settings: Unpack[BuildSettings]) -> ModuleType:
    """Builds (if needed) and imports the ``.rs`` file or crate directory at ``path``;
    the module is named after the file or directory. A name that Python already imports
    from elsewhere (the standard library's ``json``, say) is refused."""
    name = _core.source_name(path)
    origin = python_origin(name)
    if origin is not None:
        raise _core.RusthookError(
            f"cannot import {os.fspath(path)} as {name!r}: Python imports that name from "
            f"{origin}; rename the file or crate folder",
            name=name,
        )
    name, library, declarations, _ = _core.build_path(path, _core.Settings(**settings))
    return _load(name, library, declarations)


def build(fullname: str, **settings: Unpack[BuildSettings]) -> str:
    """Builds the Rust module ``fullname`` if it is not fresh; returns the library's path
    (the file written beside the source when ``in_place=True``)."""
    search_path, extension = _rust_search_path(fullname)
    core_settings = _core.Settings(**settings)
    source = _core.find_source(fullname, search_path, core_settings, extension)
    if source is None:
        raise _not_found(fullname, extension)
    return build_filepath(source, **settings)


def build_filepath(path: str | os.PathLike[str], **settings: Unpack[BuildSettings]) -> str:
    """Builds the ``.rs`` file or crate directory at ``path`` if it is not fresh; returns
    the library's path (the file beside the source when ``in_place=True``)."""
    _, artifact, _, in_place = _core.build_path(path, _core.Settings(**settings))
    return os.fspath(in_place or artifact)


def build_all(root: str | os.PathLike[str], **settings: Unpack[BuildSettings]) -> list[str]:
    """Builds every Rust module below ``root`` and, unless ``in_place=False`` is given,
    writes each library beside its source for deployment without rusthook. Returns the
    libraries' paths. A module that fails does not stop the others: once all were
    tried, the failures are raised together (``BuildError`` when every one of them is a
    build error), each named by its source."""
    built: list[str] = []
    failures: list[tuple[str, _core.RusthookError]] = []
    for source, library, error in build_each(root, **settings):
        if error is not None:
            failures.append((source, error))
        elif library is not None:
            built.append(library)
    if failures:
        total = len(built) + len(failures)
        details = "\n\n".join(f"{source}:\n{error}" for source, error in failures)
        every_one_a_build_error = all(isinstance(e, _core.BuildError) for _, e in failures)
        kind = _core.BuildError if every_one_a_build_error else _core.RusthookError
        raise kind(
            f"{len(failures)} of the {total} Rust modules below {os.fspath(root)} did not "
            f"build ({len(built)} built):\n\n{details}"
        )
    return built


def build_each(
    root: str | os.PathLike[str], **settings: Unpack[BuildSettings]
) -> Iterator[tuple[str, str | None, _core.RusthookError | None]]:
    """Builds the Rust modules below ``root`` one by one (in place unless
    ``in_place=False``): yields ``(source, library, None)`` for each one built and
    ``(source, None, error)`` for each one that failed."""
    settings.setdefault("in_place", True)
    core_settings = _core.Settings(**settings)
    for _name, source in _core.find_sources(root):
        try:
            _, artifact, _, in_place = _core.build_path(source, core_settings)
        except _core.RusthookError as error:
            yield source, None, error
        else:
            yield source, os.fspath(in_place or artifact), None


def python_origin(name: str) -> str | None:
    """Where Python imports the top-level module ``name`` from without rusthook (a file,
    "a built-in module", or the module already imported), or None when it does not.
    Rusthook's own modules and in-place builds do not count."""
    module = sys.modules.get(name)
    if module is not None:
        if getattr(module, "__rusthook_library__", None) is not None:
            return None
        return getattr(module, "__file__", None) or "a module already imported"
    if name in sys.builtin_module_names:
        return "a built-in module"
    spec, search_path, _ = python_first(name, None)
    if search_path is None and spec is not None:
        return spec.origin or "a module on sys.path"
    return None


def _rust_search_path(fullname: str) -> tuple[list[str], str | None]:
    """Where the import hook would look for ``fullname``'s Rust source, and the extension
    module Python found there: a Python module of that name wins here too."""
    parent, _, _ = fullname.rpartition(".")
    if not parent and fullname in sys.builtin_module_names:
        raise ModuleNotFoundError(
            f"no Rust module named {fullname!r}: Python imports that name as a built-in module",
            name=fullname,
        )
    path = list(importlib.import_module(parent).__path__) if parent else None
    spec, search_path, extension = python_first(fullname, path)
    if search_path is None:
        origin = spec.origin if spec is not None else None
        raise ModuleNotFoundError(
            f"no Rust module named {fullname!r}: Python imports that name from {origin}",
            name=fullname,
        )
    return search_path, extension


def _not_found(fullname: str, extension: str | None) -> ModuleNotFoundError:
    if extension is not None:
        return ModuleNotFoundError(
            f"no Rust module named {fullname!r}: Python imports that name from {extension}",
            name=fullname,
        )
    return ModuleNotFoundError(f"no Rust module named {fullname!r}", name=fullname)


def _load(fullname: str, library: str, declarations: str | None) -> ModuleType:
    """The module of a fresh build: the one already imported if it holds this library,
    the same module object with the new library moved in if it held an older build (as
    ``importlib.reload`` does), else a new module. A submodule is also set on its parent
    package, as ``import`` does."""
    import importlib.util  # only the explicit API needs it; keep `import rusthook` cheap

    spec = module_spec(fullname, library, declarations)
    assert spec.loader is not None  # module_spec always sets one
    existing = sys.modules.get(fullname)
    if existing is not None and getattr(existing, "__rusthook_library__", None) is not None:
        if existing.__rusthook_library__ != library:
            existing.__spec__ = spec
            existing.__loader__ = spec.loader
            spec.loader.exec_module(existing)
        return existing
    module = importlib.util.module_from_spec(spec)
    sys.modules[fullname] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(fullname, None)
        raise
    parent, _, child = fullname.rpartition(".")
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, module)
    return module
