"""The keyword settings shared by install() and the explicit API."""

from __future__ import annotations

import sys
from typing import TypedDict

if sys.version_info >= (3, 11):
    from typing import NotRequired
else:  # pragma: no cover - typing only
    from typing_extensions import NotRequired


class BuildSettings(TypedDict):
    """Keyword settings; each left out falls back to its environment variable or default.

    - ``release``: optimised build (default False, or ``RUSTHOOK_RELEASE=1``).
    - ``force_rebuild``: build even when fresh (default False, or ``RUSTHOOK_FORCE_REBUILD=1``).
    - ``in_place``: also write ``name.<EXT_SUFFIX>`` beside the source, so it imports
      without rusthook (default False).
    - ``quiet``: hide cargo's progress and warnings; errors still raise (default False).
    - ``lock_timeout``: seconds to wait for another process building the same module
      (default ``RUSTHOOK_LOCK_TIMEOUT``, else 300).
    - ``build_dir``: build cache root (default ``RUSTHOOK_BUILD_DIR``, else the user cache
      dir, ``~/.cache/rusthook``, shared by every environment).
    - ``features``: cargo features to enable.
    - ``cargo_args``: extra arguments for cargo.
    - ``enable_file_importer``: import ``.rs`` files and marked crates (default True).
    - ``enable_project_importer``: rebuild stale editable maturin projects before they
      are imported (default True).
    - ``stubs``: write a ``name.pyi`` stub beside each module's source whenever it is
      built (default False, or ``RUSTHOOK_STUBS=1``); in-place builds always write one.
    """

    release: NotRequired[bool | None]
    force_rebuild: NotRequired[bool | None]
    in_place: NotRequired[bool | None]
    quiet: NotRequired[bool | None]
    lock_timeout: NotRequired[float | None]
    build_dir: NotRequired[str | None]
    features: NotRequired[list[str] | None]
    cargo_args: NotRequired[list[str] | None]
    enable_file_importer: NotRequired[bool | None]
    enable_project_importer: NotRequired[bool | None]
    stubs: NotRequired[bool | None]
