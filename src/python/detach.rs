//! Core work run from Python: with the GIL released, Ctrl-C checked between steps,
//! cargo's progress written to `sys.stderr`, and every error (and any panic) turned
//! into an exception.

use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::sync::Mutex;

use pyo3::exceptions::PyKeyboardInterrupt;
use pyo3::prelude::*;

use crate::error::Error;
use crate::machinery::progress::BuildObserver;
use crate::python::errors::{import_error, internal_error};
use crate::python::interpreter::write_stderr;
use crate::python::log_bridge;

/// The Python side of a running build: `sys.stderr` and pending signals.
struct PythonObserver {
    pending_signal: Mutex<Option<PyErr>>,
    stderr_is_tty: bool,
}

impl BuildObserver for PythonObserver {
    fn interrupted(&self) -> bool {
        Python::attach(|py| match py.check_signals() {
            Ok(()) => false,
            Err(error) => {
                *self
                    .pending_signal
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(error);
                true
            }
        })
    }

    fn write(&self, text: &str) {
        write_stderr(text)
    }

    fn is_terminal(&self) -> bool {
        self.stderr_is_tty
    }
}

/// Runs `work` with the GIL released; an error becomes an ImportError naming `name`
/// and `path`, Ctrl-C the pending `KeyboardInterrupt`.
pub fn run_detached<T: Send>(
    py: Python<'_>,
    name: &str,
    path: &Path,
    work: impl FnOnce(&dyn BuildObserver) -> Result<T, Error> + Send,
) -> PyResult<T> {
    log_bridge::route_records(py);
    let stderr_is_tty = py
        .import("sys")
        .and_then(|sys| sys.getattr("stderr"))
        .and_then(|stderr| stderr.call_method0("isatty"))
        .and_then(|tty| tty.is_truthy())
        .unwrap_or(false);
    let observer = PythonObserver {
        pending_signal: Mutex::new(None),
        stderr_is_tty,
    };
    let result = py.detach(|| std::panic::catch_unwind(AssertUnwindSafe(|| work(&observer))));
    match result {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(Error::Interrupted)) => Err(observer
            .pending_signal
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .unwrap_or_else(|| PyKeyboardInterrupt::new_err(()))),
        Ok(Err(error)) => Err(import_error(py, error, name, path)),
        Err(panic) => Err(internal_error(panic.as_ref(), path)),
    }
}
