"""Import Rust from Python.

Put ``fast.rs`` (first line ``// rusthook:pyo3``) next to your script, then::

    import rusthook
    rusthook.install()
    import fast          # built when fast.rs changed, loaded instantly when it did not

The explicit API (:func:`imp`, :func:`imp_from_path`, :func:`build`,
:func:`build_filepath`, :func:`build_all`) takes the same keyword settings as
:func:`install`. In IPython or Jupyter, ``%load_ext rusthook`` gives the ``%%rust`` cell
magic.
"""

from rusthook._core import BuildError, RusthookError, Settings, __version__
from rusthook._hook import (
    RustCffiLoader,
    RustExtensionLoader,
    RustFinder,
    install,
    is_installed,
    uninstall,
)

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


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext rusthook``: registers the ``%%rust`` cell magic (alias ``%%rusthook``).
    IPython is imported only here: ``import rusthook`` stays cheap."""
    from rusthook._magic import load_ipython_extension as load

    load(ipython)  # type: ignore[arg-type]


def reset_logger() -> None:
    """Hands all of rusthook's log records to ``logging`` from now on. Without it they
    go to ``logging`` once the application has configured logging (handlers on the root
    logger, or a level or handlers on the ``rusthook`` logger), and until then INFO and
    above are written to ``sys.stderr`` as ``rusthook: <message>``."""
    from rusthook._logging import reset_logger as reset

    reset()


__all__ = [
    "BuildError",
    "RustCffiLoader",
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
    "load_ipython_extension",
    "reset_logger",
    "uninstall",
]
