"""The ``rusthook`` logger: how rusthook's own records reach Python ``logging``.

rusthook logs under ``rusthook`` and its children (``rusthook.builder``: "building fast
(debug) from ...", "built fast in 1.2 s"; ``rusthook.progress``: "compiling 12/40
crates" where no progress bar can be drawn; ``rusthook.freshness``: why a module is
fresh or not, at DEBUG). As long as the application has not configured logging, INFO
and above are written to ``sys.stderr`` as ``rusthook: <message>``. Once it has (the
root logger has handlers, e.g. after ``logging.basicConfig()``, or the ``rusthook``
logger has a level or handlers of its own), the records go through ``logging`` and obey
its levels, handlers and propagation like any library's. The compiler's own output
(cargo's lines and rustc's warnings and errors) is not a log record: it goes to
``sys.stderr`` as cargo writes it (``quiet=True`` hides it).

This module is imported by the core only once the application has imported
``logging``; rusthook itself never imports ``logging`` otherwise.
"""

from __future__ import annotations

import logging

_handed_over = False


def configured() -> bool:
    """True when rusthook's records go through ``logging`` (see the module docs)."""
    if _handed_over or logging.getLogger().handlers:
        return True
    loggers = logging.Logger.manager.loggerDict
    return any(
        isinstance(named, logging.Logger) and (named.level != logging.NOTSET or named.handlers)
        for name, named in list(loggers.items())
        if name == "rusthook" or name.startswith("rusthook.")
    )


def reset_logger() -> None:
    """Hands all of rusthook's records to ``logging`` from now on, even while logging is
    not configured (then ``logging``'s own default shows WARNING and above only)."""
    global _handed_over
    _handed_over = True
