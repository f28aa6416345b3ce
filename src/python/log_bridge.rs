//! Where Rust `log` records go. Importing Python's `logging` costs milliseconds (ten on
//! the benchmark machine), so until the application has imported it (and so may have
//! configured it), INFO and above are written to `sys.stderr` just as the `rusthook`
//! logger's default handler would write them, and DEBUG is dropped. Once `logging` is
//! in `sys.modules`, records go through pyo3-log to the `rusthook` logger.

use std::sync::OnceLock;

use pyo3::prelude::*;

use crate::python::interpreter::write_stderr;

struct LogBridge {
    python: OnceLock<pyo3_log::Logger>,
}

static LOG_BRIDGE: LogBridge = LogBridge {
    python: OnceLock::new(),
};

impl log::Log for LogBridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        match self.python.get() {
            Some(logger) => logger.enabled(metadata),
            None => metadata.level() <= log::Level::Info,
        }
    }

    fn log(&self, record: &log::Record<'_>) {
        match self.python.get() {
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

/// Hands records to Python logging from now on if the application has imported
/// `logging`; `rusthook._logging` gives the `rusthook` logger its default handler.
pub fn connect_logging_if_in_use(py: Python<'_>) {
    if LOG_BRIDGE.python.get().is_some() || !logging_in_use(py) {
        return;
    }
    if let Err(error) = py.import("rusthook._logging") {
        error.write_unraisable(py, None);
        return;
    }
    match pyo3_log::Logger::new(py, pyo3_log::Caching::LoggersAndLevels) {
        Ok(logger) => {
            if LOG_BRIDGE.python.set(logger).is_ok() {
                log::set_max_level(log::LevelFilter::Debug);
            }
        }
        Err(error) => error.write_unraisable(py, None),
    }
}

fn logging_in_use(py: Python<'_>) -> bool {
    py.import("sys")
        .and_then(|sys| sys.getattr("modules"))
        .and_then(|modules| modules.contains("logging"))
        .unwrap_or(false)
}
