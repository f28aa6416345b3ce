//! The Python exceptions of rusthook, and the one place core errors become them.

use std::path::Path;

use pyo3::exceptions::{PyImportError, PyKeyboardInterrupt, PyValueError};
use pyo3::prelude::*;

use crate::error::Error;

pyo3::create_exception!(
    rusthook,
    RusthookError,
    PyImportError,
    "A Rust module could not be found, built or loaded. A subclass of ImportError."
);
pyo3::create_exception!(
    rusthook,
    BuildError,
    RusthookError,
    "Building a Rust module failed; `diagnostics` holds the compiler's messages (also in the message unless they were shown on the terminal)."
);

/// Maps a core error to its exception: `BuildError` when the source (or what the
/// compiler made of it) is at fault, `RusthookError` for everything around the build.
pub fn to_python_error(error: Error) -> PyErr {
    let message = error.to_string();
    match error {
        Error::Build { diagnostics, .. } => {
            let exception = BuildError::new_err(message);
            // Always here, whether or not the message repeats them.
            Python::attach(|py| {
                let _ = exception.value(py).setattr("diagnostics", diagnostics);
            });
            exception
        }
        Error::BadArtifact { .. }
        | Error::ManifestLine { .. }
        | Error::UnknownTemplate { .. }
        | Error::Pyo3Conflict { .. }
        | Error::NotUtf8 { .. }
        | Error::InvalidModuleName { .. }
        | Error::CDeclaration { .. }
        | Error::Unparsable { .. }
        | Error::NoCFunctions { .. }
        | Error::CellPymodule { .. } => BuildError::new_err(message),
        Error::EjectTemplate { .. }
        | Error::NotAnExtension { .. }
        | Error::NoStub { .. }
        | Error::NotASource { .. }
        | Error::ToolMissing { .. }
        | Error::LockTimeout { .. }
        | Error::ProjectNotInstalled { .. }
        | Error::InPlaceUnconfirmed { .. }
        | Error::ProjectOptionUnsupported { .. }
        | Error::ProjectMetadataChanged { .. }
        | Error::DiskFull { .. }
        | Error::ReadOnlyBuildFolder { .. }
        | Error::InsecureCache { .. }
        | Error::BuildFolderNotOurs { .. }
        | Error::CacheBusy { .. }
        | Error::AlreadyExists { .. }
        | Error::Io { .. } => RusthookError::new_err(message),
        Error::InvalidSetting { .. } => PyValueError::new_err(message),
        Error::Interrupted => PyKeyboardInterrupt::new_err(()),
    }
}

/// An import error that also carries ImportError's `name` and `path`.
pub fn import_error(py: Python<'_>, error: Error, name: &str, path: &Path) -> PyErr {
    let exception = to_python_error(error);
    let value = exception.value(py);
    let _ = value.setattr("name", name);
    let _ = value.setattr("path", path.to_string_lossy().as_ref());
    exception
}

/// A panic caught at the boundary: never let one cross into Python.
pub fn internal_error(panic: &(dyn std::any::Any + Send), path: &Path) -> PyErr {
    let detail = panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    RusthookError::new_err(format!(
        "internal error in rusthook while building {}: {detail}; please report it",
        path.display()
    ))
}
