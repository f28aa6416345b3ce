"""Import Rust from Python.

Put ``fast.rs`` (first line ``// rusthook:pyo3``) next to your script, then::

    import rusthook
    rusthook.install()
    import fast          # built when fast.rs changed, loaded instantly when it did not

The explicit API (:func:`imp`, :func:`imp_from_path`, :func:`build`,
:func:`build_filepath`, :func:`build_all`) takes the same keyword settings as
:func:`install`.
"""

from rusthook._core import BuildError, RusthookError, Settings, __version__
from rusthook._hook import RustExtensionLoader, RustFinder, install, is_installed, uninstall

# The explicit API loads on first use: activation at interpreter start (`site install`)
# imports this package, and must stay cheap.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from rusthook._api import build, build_all, build_filepath, imp, imp_from_path

_API = frozenset({"build", "build_all", "build_filepath", "imp", "imp_from_path"})


def __getattr__(name: str) -> object:
    if name in _API:
        from rusthook import _api

        return getattr(_api, name)
    raise AttributeError(f"module 'rusthook' has no attribute {name!r}")


def reset_logger() -> None:
    """Removes rusthook's own handler and level from the ``rusthook`` logger, so the
    application's logging configuration applies to it."""
    from rusthook._logging import reset_logger as reset

    reset()


__all__ = [
    "BuildError",
    "RustExtensionLoader",
    "RustFinder",
    "RusthookError",
    "Settings",
    "__version__",
    "build",
    "build_all",
    "build_filepath",
    "imp",
    "imp_from_path",
    "install",
    "is_installed",
    "reset_logger",
    "uninstall",
]
