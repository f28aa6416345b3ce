"""The Rust core (`src/python/mod.rs`). Private: use the `rusthook` package's public API."""

import os
from collections.abc import Sequence
from typing import final

__all__ = [
    "PYO3_REQUIREMENT",
    "BuildError",
    "RusthookError",
    "Settings",
    "__version__",
    "build_cell",
    "build_path",
    "cache_clear",
    "cache_prune",
    "cache_summary",
    "compiler_cache_last",
    "compiler_cache_outage",
    "eject",
    "eject_cell",
    "explain",
    "find_and_build",
    "find_source",
    "find_sources",
    "hook_enabled",
    "invalidate_caches",
    "new_crate",
    "refresh_project",
    "source_name",
    "stub_text",
    "tool_versions",
    "warm",
    "write_stub",
]

__version__: str
PYO3_REQUIREMENT: str

class RusthookError(ImportError):
    """A Rust module could not be found, built or loaded. A subclass of ImportError."""

class BuildError(RusthookError):
    """Building a Rust module failed. The compiler's diagnostics are in ``diagnostics``,
    and in the message unless they were shown on the terminal as the build ran."""

    diagnostics: str

@final
class Settings:
    """Build settings, resolved against the environment when created."""

    def __new__(
        cls,
        *,
        release: bool | None = None,
        force_rebuild: bool | None = None,
        in_place: bool | None = None,
        quiet: bool | None = None,
        lock_timeout: float | None = None,
        build_dir: str | os.PathLike[str] | None = None,
        features: Sequence[str] | None = None,
        cargo_args: Sequence[str] | None = None,
        enable_file_importer: bool | None = None,
        enable_project_importer: bool | None = None,
        stubs: bool | None = None,
    ) -> Settings: ...
    @property
    def release(self) -> bool: ...
    @property
    def force_rebuild(self) -> bool: ...
    @property
    def in_place(self) -> bool: ...
    @property
    def quiet(self) -> bool: ...
    @property
    def lock_timeout(self) -> float: ...
    @property
    def build_dir(self) -> str: ...
    @property
    def features(self) -> list[str]: ...
    @property
    def cargo_args(self) -> list[str]: ...
    @property
    def enable_file_importer(self) -> bool: ...
    @property
    def enable_project_importer(self) -> bool: ...
    @property
    def stubs(self) -> bool: ...

def find_and_build(
    fullname: str,
    search_path: list[str],
    settings: Settings,
    crate_folders: bool = True,
    extension: str | None = None,
) -> tuple[str, str | None] | None:
    """The import hook's one call: (library, C declarations of a cffi library or None)
    for a fresh build of `fullname`, building it if needed, or None when the name is not
    a Rust module. `crate_folders=False` when no folder of that name is on the path;
    `extension`: the extension module Python found (it wins unless rusthook wrote it)."""

def refresh_project(name: str, settings: Settings) -> None:
    """Rebuilds the editable maturin project `name` if its installed library is stale."""

def find_source(
    fullname: str, search_path: list[str], settings: Settings, extension: str | None = None
) -> str | None:
    """The Rust source `fullname` would be imported from, without building it."""

def source_name(path: str | os.PathLike[str]) -> str:
    """The module name of the `.rs` file or crate directory at `path`."""

def build_path(
    path: str | os.PathLike[str], settings: Settings
) -> tuple[str, str, str | None, str | None]:
    """Builds a `.rs` file or crate directory: (module name, library, C declarations of a
    cffi library, in-place library)."""

def write_stub(path: str | os.PathLike[str], settings: Settings) -> tuple[str, str, str]:
    """Builds a `.rs` file or crate directory with its introspection data and writes its
    stub beside it: (module name, stub, "written", "unchanged" or "kept")."""

def stub_text(path: str | os.PathLike[str], settings: Settings) -> tuple[str, str, str]:
    """The stub of a `.rs` file or crate directory without writing it: (module name,
    where it goes, text)."""

def explain(target: str, search_path: list[str], settings: Settings) -> str:
    """Why `target` (a path, else an import name on `search_path` or an editable project)
    is up to date or not, as JSON text; builds nothing."""

def build_cell(
    code: str,
    directory: str | os.PathLike[str],
    settings: Settings,
    salt: str = "",
    rustimport: bool = False,
) -> tuple[str, str]:
    """Builds a notebook cell's code as `_rusthook_cell_<hash>` (source saved in
    `directory`): (module name, library); `rustimport=True` with rustimport's pyo3."""

def eject(
    source: str | os.PathLike[str], dest: str | os.PathLike[str], settings: Settings | None = None
) -> str:
    """Writes a maturin project for the single-file module `source` into `dest` (with
    `settings`, also its stub, from a build of `source`)."""

def eject_cell(
    code: str,
    dest: str | os.PathLike[str],
    name: str | None = None,
    settings: Settings | None = None,
) -> str:
    """Writes a maturin project for a notebook cell's code into `dest` (with `settings`,
    also its stub, from a build of the new project)."""

def find_sources(root: str | os.PathLike[str]) -> list[tuple[str, str]]:
    """Every importable Rust source below `root`: [(module name, path)]."""

def cache_summary(
    root: str | os.PathLike[str],
) -> list[tuple[str, int, list[tuple[str | None, str | None, bool, int, float, str]]]]:
    """[(ABI folder, bytes, [(module, source, source exists, bytes, last used, state)])] for
    each partition of the build cache at `root` (state: "built", "building now", "no build
    finished (failed or interrupted)", "built by another version of rusthook")."""

def compiler_cache_last(root: str | os.PathLike[str]) -> tuple[str, str, int, int, int] | None:
    """What the compiler cache (sccache) served the last build in the build folder at
    `root`: (RUSTC_WRAPPER, module, hits, misses, errors)."""

def compiler_cache_outage(root: str | os.PathLike[str]) -> tuple[str, int, int] | None:
    """The compiler cache's failure that builds under `root` go without it for: (what
    failed, seconds ago, seconds it lasts), or None."""

def cache_prune(
    root: str | os.PathLike[str], older_than_days: float | None = None, max_bytes: int | None = None
) -> list[tuple[str, int, str]]:
    """Prunes the build cache at `root`; returns [(path, bytes, reason)] of what went."""

def cache_clear(root: str | os.PathLike[str]) -> int:
    """Deletes every build under `root`; refuses while a build holds a lock."""

def tool_versions() -> list[tuple[str, str]]:
    """[(tool, version or the error running it)] for rustc and cargo."""

def warm(settings: Settings) -> str:
    """Compiles the pyo3 template's dependencies ahead of time; returns the library built."""

def new_crate(parent: str | os.PathLike[str], name: str) -> str:
    """Creates a new importable crate `parent/name` (or file, for `name.rs`); returns its path."""

def hook_enabled() -> bool:
    """False when `RUSTHOOK_ENABLED` switches the import hook off (0, false, no, off)."""

def invalidate_caches() -> None:
    """Forgets the editable-project map, so the next import reads site-packages again."""
