//! Where Rust `log` records go. Importing Python's `logging` costs milliseconds (ten on
//! the benchmark machine), so until the application has imported it, INFO and above are
//! written to `sys.stderr` as `rusthook: <message>` and DEBUG is dropped. Once it has,
//! records go through pyo3-log to the `rusthook` loggers whenever the application has
//! configured logging (handlers on the root logger, a level or handlers on `rusthook`,
//! or `rusthook.reset_logger()`): then they obey its levels, handlers and propagation
//! like any library's. Which way records go is decided again at every build.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;

use pyo3::prelude::*;

use crate::python::interpreter::write_stderr;

struct LogBridge {
    python: OnceLock<(pyo3_log::Logger, pyo3_log::ResetHandle)>,
    /// Records go to Python logging (else straight to `sys.stderr`).
    to_python: AtomicBool,
}

static LOG_BRIDGE: LogBridge = LogBridge {
    python: OnceLock::new(),
    to_python: AtomicBool::new(false),
};

impl LogBridge {
    fn python_logger(&self) -> Option<&pyo3_log::Logger> {
        if !self.to_python.load(Ordering::Relaxed) {
            return None;
        }
        self.python.get().map(|(logger, _)| logger)
    }
}

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        match self.python_logger() {
            Some(logger) => logger.enabled(metadata),
            None => metadata.level() <= log::Level::Info,
        }
    }

    fn log(&self, record: &log::Record<'_>) {
        match self.python_logger() {
            Some(logger) => logger.log(record),
            None if record.level() <= log::Level::Info => {
                write_stderr(&format!("rusthook: {}\n", record.args()))
            }
            None => {}
        }
    }

    fn flush(&self) {}
}

/// Makes the bridge the `log` crate's logger (once, when `_core` is imported).
pub fn install() {
    if log::set_logger(&LOG_BRIDGE).is_ok() {
        log::set_max_level(log::LevelFilter::Info);
    }
}

/// Decides, before a build, where its records go (see the module docs). The levels
/// pyo3-log remembers are forgotten here, so a level the application set since the
/// last build counts.
pub fn route_records(py: Python<'_>) {
    let to_python = logging_configured(py).unwrap_or_else(|error| {
        error.write_unraisable(py, None);
        false
    });
    if to_python {
        let bridge = LOG_BRIDGE.python.get().map(Ok).unwrap_or_else(|| {
            let logger = pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels)?;
            let reset = logger.reset_handle();
            Ok::<_, PyErr>(LOG_BRIDGE.python.get_or_init(|| (logger, reset)))
        });
        match bridge {
            Ok((_, reset)) => reset.reset(),
            Err(error) => {
                error.write_unraisable(py, None);
                return;
            }
        }
    }
    LOG_BRIDGE.to_python.store(to_python, Ordering::Relaxed);
    log::set_max_level(if to_python {
        log::LevelFilter::Debug
    } else {
        log::LevelFilter::Info
    });
}

/// True when the application imported `logging` and configured it for rusthook's
/// records (`rusthook._logging.configured`); `logging` is never imported here.
fn logging_configured(py: Python<'_>) -> PyResult<bool> {
    let modules = py.import("sys")?.getattr("modules")?;
    if !modules.contains("logging")? {
        return Ok(false);
    }
    py.import("rusthook._logging")?
        .call_method0("configured")?
        .is_truthy()
}
