"""The ``rusthook`` logger. Rust log records reach it through pyo3-log (targets such as
``rusthook.builder``). INFO lines ("building fast (debug) ...", "built fast in 1.2 s")
show on stderr by default; :func:`reset_logger` hands control back to the application's
own logging configuration."""

from __future__ import annotations

import logging
import sys


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of each record (as logging's own
    last-resort handler does): notebooks and output capture replace it after rusthook
    is imported, and a build's lines belong in the cell's output."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


logger = logging.getLogger("rusthook")
_handler = _StderrHandler()
_handler.setFormatter(logging.Formatter("rusthook: %(message)s"))


def _set_default_logger() -> None:
    logger.setLevel(logging.INFO)
    logger.addHandler(_handler)
    logger.propagate = False


def reset_logger() -> None:
    """Removes rusthook's own handler and level so the root logger's configuration applies."""
    logger.removeHandler(_handler)
    logger.setLevel(logging.NOTSET)
    logger.propagate = True


_set_default_logger()
