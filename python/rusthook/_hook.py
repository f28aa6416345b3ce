"""The import-system glue: a meta path finder that lets Python's own path finder go first
and asks the core (one call) only where Rust may be involved, and the loaders for the two
kinds of library: Python extension modules (pyo3) and C-ABI libraries (cffi).

This module is imported at interpreter start when rusthook is site-installed, so it
avoids `from __future__ import annotations` and `typing` (annotations that need them are
quoted)."""

import os
import sys

try:
    # What importlib.machinery re-exports, without importing the importlib package
    # (a third of a millisecond at every interpreter start when site-installed).
    from _frozen_importlib import ModuleSpec
    from _frozen_importlib_external import ExtensionFileLoader, PathFinder
except ImportError:  # pragma: no cover - interpreters without frozen importlib
    from importlib.machinery import ExtensionFileLoader, ModuleSpec, PathFinder

from rusthook import _core

# typing is not imported at run time: `import rusthook` must stay cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from types import ModuleType

    from typing_extensions import Unpack

    from rusthook._settings import BuildSettings


class RustFinder:
    """Imports ``name.rs`` files and marked crates found on ``sys.path`` (or a package's
    ``__path__``) with the standard ``ExtensionFileLoader`` (or, for a C-ABI library,
    :class:`RustCffiLoader`), and rebuilds stale editable maturin projects before they
    are imported.

    It sits just before importlib's ``PathFinder`` and asks it first: a Python module,
    package or extension found anywhere on the search path always wins, and an import
    that is not Rust costs no more than Python's own search. The core is asked only when
    Python found nothing, found a namespace package (a crate folder looks like one), or
    found an extension module (perhaps rusthook's own in-place build of a changed file).
    """

    def __init__(self, settings: _core.Settings) -> None:
        self.settings = settings

    def find_spec(
        self, fullname: str, path: "Sequence[str] | None", target: object = None
    ) -> "ModuleSpec | None":
        try:
            if "." not in fullname:
                # A stale editable maturin project is rebuilt here; Python's own finders
                # then import it as installed.
                _core.refresh_project(fullname, self.settings)
            spec, search_path, extension = python_first(fullname, path, target)
            if search_path is None:
                return spec
            # No spec at all: Python saw no folder of that name, so no crate folder either.
            crates = spec is not None
            found = _core.find_and_build(fullname, search_path, self.settings, crates, extension)
        except _core.RusthookError:
            raise  # a Rust module that could not be built: the user must see why
        except Exception as error:
            # Anything else is rusthook's own fault: never let it break an import that
            # the standard finders can serve.
            _warn_once(f"rusthook's finder failed on {fullname!r} and was skipped: {error!r}")
            return None
        if found is None:
            return spec
        library, declarations = found
        return module_spec(fullname, library, declarations)

    def invalidate_caches(self) -> None:
        _core.invalidate_caches()

    def __repr__(self) -> str:
        return f"RustFinder({self.settings!r})"


class RustExtensionLoader(ExtensionFileLoader):
    """The standard extension loader, plus ``importlib.reload`` support.

    An extension module initialises once per library file, so a plain reload would
    re-run the old library. Every build has its own file name: on reload after a
    rebuild, this loader loads the new library and moves its contents into the
    existing module object.
    """

    def create_module(self, spec: ModuleSpec) -> "ModuleType":
        module = super().create_module(spec)
        module.__rusthook_library__ = ""  # type: ignore[attr-defined]  # created, not executed
        return module

    def exec_module(self, module: "ModuleType") -> None:
        loaded = getattr(module, "__rusthook_library__", None)
        if loaded == "":
            super().exec_module(module)
        elif loaded == self.path:
            return  # reloaded without a rebuild: the module already holds this library
        else:
            spec = module.__spec__
            assert spec is not None  # set by importlib before exec_module
            fresh = super().create_module(spec)
            super().exec_module(fresh)
            module.__dict__.update(
                (k, v) for k, v in fresh.__dict__.items() if k not in _KEEP_ON_RELOAD
            )
        module.__rusthook_library__ = self.path  # type: ignore[attr-defined]


_KEEP_ON_RELOAD = frozenset({"__name__", "__spec__", "__loader__", "__package__"})


def python_first(
    fullname: str, path: "Sequence[str] | None", target: object = None
) -> "tuple[ModuleSpec | None, list[str] | None, str | None]":
    """Asks importlib's PathFinder for ``fullname``. Returns its spec, the folders in
    which the core should look for a Rust source, and the extension module it found:
    no folders when a Python module or package (anywhere on the path) wins; the whole
    path when Python found nothing or a namespace package (a crate folder looks like
    one); the extension module's folder when it found one (a changed ``.rs`` file beside
    it is rebuilt only if that extension is rusthook's own in-place build of it)."""
    spec = PathFinder.find_spec(fullname, path, target)  # type: ignore[arg-type]
    if spec is None or _is_namespace(spec):
        return spec, sys.path if path is None else list(path), None
    if isinstance(spec.loader, ExtensionFileLoader) and spec.origin:
        return spec, [os.path.dirname(spec.origin)], spec.origin
    return spec, None, None


def _is_namespace(spec: ModuleSpec) -> bool:
    return spec.origin in (None, "namespace") and spec.submodule_search_locations is not None


_warned: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        sys.stderr.write(f"rusthook: {message}\n")


class RustCffiLoader:
    """Loads a C-ABI library (a ``// rusthook:cffi`` source) with cffi's ABI mode, as
    maturin's cffi bindings do: the module's ``ffi`` is a ``cffi.FFI`` that holds the C
    declarations rusthook generated from the Rust source, and ``lib`` is the library
    opened with it (``module.lib.add(1, 2)``).
    """

    def __init__(self, fullname: str, path: str, declarations: str) -> None:
        self.name = fullname
        self.path = path
        self.declarations = declarations

    def create_module(self, spec: ModuleSpec) -> None:
        return None  # a plain module object

    def exec_module(self, module: "ModuleType") -> None:
        try:
            import cffi
        except ImportError:
            raise _core.RusthookError(
                f"{self.name} is a C-ABI (cffi) module, and loading it needs cffi, which is "
                "not installed; install it with `pip install cffi`",
                name=self.name,
                path=self.path,
            ) from None
        with open(self.declarations, encoding="utf-8") as file:
            declarations = file.read()
        ffi = cffi.FFI()
        ffi.cdef(declarations)
        module.ffi = ffi  # type: ignore[attr-defined]
        module.lib = ffi.dlopen(self.path)  # type: ignore[attr-defined]
        module.__rusthook_declarations__ = self.declarations  # type: ignore[attr-defined]
        module.__rusthook_library__ = self.path  # type: ignore[attr-defined]

    def __repr__(self) -> str:
        return f"RustCffiLoader({self.name!r}, {self.path!r})"


def module_spec(fullname: str, library: str, declarations: "str | None") -> ModuleSpec:
    """The spec for a library the core built: a Python extension module, or a C-ABI
    library when the core returned its C declarations."""
    if declarations is None:
        return extension_spec(fullname, library)
    loader = RustCffiLoader(fullname, library, declarations)
    spec = ModuleSpec(fullname, loader, origin=library)  # type: ignore[arg-type]
    spec.has_location = True
    return spec


def extension_spec(fullname: str, origin: str) -> ModuleSpec:
    spec = ModuleSpec(fullname, RustExtensionLoader(fullname, origin), origin=origin)
    spec.has_location = True
    return spec


def install(**settings: "Unpack[BuildSettings]") -> "RustFinder | None":
    """Activates the import hook: afterwards ``import fast`` builds and loads ``fast.rs``.

    Idempotent: a second call gives the installed finder the new settings and returns
    it. Removes the hook and returns None when ``RUSTHOOK_ENABLED=0``.
    See :class:`rusthook._settings.BuildSettings` for the keywords.
    """
    if not _core.hook_enabled():
        uninstall()
        return None
    new_settings = _core.Settings(**settings)
    installed = [f for f in sys.meta_path if isinstance(f, RustFinder)]
    if installed:
        finder = installed[0]
        finder.settings = new_settings
        sys.meta_path[:] = [f for f in sys.meta_path if f is finder or f not in installed]
        return finder
    finder = RustFinder(new_settings)
    index = next(
        (i for i, f in enumerate(sys.meta_path) if f is PathFinder),
        len(sys.meta_path),
    )
    sys.meta_path.insert(index, finder)
    return finder


def uninstall() -> None:
    """Removes the import hook (modules already imported stay loaded)."""
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, RustFinder)]


def is_installed() -> bool:
    """True when the import hook is active."""
    return any(isinstance(f, RustFinder) for f in sys.meta_path)
