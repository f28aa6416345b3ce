"""The pytest plugin (entry point ``pytest11``), off unless asked for.

``pytest --rusthook`` (or ``rusthook = true`` in the ini file) activates the import hook
in pytest and in every pytest-xdist worker, and builds the Rust modules under
``--rusthook-paths`` (the ``rusthook_paths`` ini option; the rootdir by default) in the
controlling process before any worker starts: each module compiles once, its progress is
shown in pytest's terminal, and modules that do not build stop the run with one error
instead of failing every test that imports them.
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

    from _pytest.terminal import TerminalReporter

HELP = "activate rusthook's import hook and build the Rust modules under --rusthook-paths first"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("rusthook", "Rust modules (rusthook)")
    group.addoption("--rusthook", action="store_true", default=None, help=HELP)
    group.addoption(
        "--rusthook-paths",
        nargs="+",
        metavar="PATH",
        default=None,
        help="folders whose Rust modules are built before the tests (default: the rootdir)",
    )
    parser.addini("rusthook", HELP, type="bool", default=False)
    parser.addini(
        "rusthook_paths",
        "folders whose Rust modules are built before the tests (default: the rootdir)",
        type="paths",
        default=[],
    )


def enabled(config: pytest.Config) -> bool:
    option: bool | None = config.getoption("rusthook")
    return option if option is not None else bool(config.getini("rusthook"))


def build_paths(config: pytest.Config) -> list[str]:
    given: list[str] | None = config.getoption("rusthook_paths")
    if given:
        return [os.path.abspath(path) for path in given]
    from_ini = config.getini("rusthook_paths")
    if from_ini:
        return [os.fspath(path) for path in from_ini]
    return [os.fspath(config.rootpath)]


def pytest_configure(config: pytest.Config) -> None:
    if not enabled(config):
        return
    import rusthook

    rusthook.install()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """Builds the modules in the controlling process (a plain run, or pytest-xdist's
    controller before its workers start); workers find them fresh."""
    config = session.config
    if not enabled(config) or hasattr(config, "workerinput"):
        return
    from rusthook._api import build_each

    paths = build_paths(config)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")
    if reporter is not None:
        reporter.write_sep("-", f"rusthook: building the Rust modules under {', '.join(paths)}")
    started = time.monotonic()
    ready = 0
    failures: list[str] = []
    # Cargo's progress goes straight to the terminal, and rusthook's log lines (which
    # pytest's logging capture would otherwise hold) through the terminal reporter.
    with (
        capture.global_and_fixture_disabled() if capture else contextlib.nullcontext(),
        _log_lines_to(reporter),
    ):
        for path in paths:
            for source, _library, error in build_each(path, in_place=False):
                if error is None:
                    ready += 1
                else:
                    failures.append(f"{source}:\n{error}")
    if failures:
        total = ready + len(failures)
        summary = (
            f"{len(failures)} of the {total} Rust modules under {', '.join(paths)} did not build"
        )
        details = "\n\n".join(failures)
        if reporter is not None:
            reporter.write_sep("=", f"rusthook: {summary}", red=True)
            reporter.write_line(details)
            details = "see above"
        pytest.exit(
            f"rusthook: {summary}; no test ran ({details})",
            returncode=pytest.ExitCode.TESTS_FAILED,
        )
    if reporter is not None:
        reporter.write_line(
            f"rusthook: {ready} Rust modules ready in {time.monotonic() - started:.1f} s"
        )


@contextlib.contextmanager
def _log_lines_to(reporter: TerminalReporter | None) -> Iterator[None]:
    """The ``rusthook`` logger's INFO records as ``rusthook: …`` lines in pytest's
    terminal, for the duration of the block."""
    if reporter is None:
        yield
        return
    import logging

    terminal = reporter

    class TerminalHandler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            terminal.write_line(f"rusthook: {record.getMessage()}")

    logger = logging.getLogger("rusthook")
    handler = TerminalHandler(logging.INFO)
    saved = (logger.level, logger.propagate)
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
