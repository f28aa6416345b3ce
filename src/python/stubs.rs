//! The `stubs` command: a stub written, or its text read, for a source or an editable
//! project (which of the two a path is, is the core's `StubSubject`).

use std::ffi::OsString;
use std::path::PathBuf;

use pyo3::prelude::*;

use super::api::path_error;
use super::detach::run_detached;
use super::interpreter::{core, site_dirs};
use super::settings::PySettings;
use crate::stub_subject::StubSubject;

/// Builds the `.rs` file or crate directory (or editable project root) at `path` with
/// its introspection data and writes its stub where it goes. Returns `(module name, stub,
/// what writing did: "written", "unchanged" or "kept" for a stub rusthook did not
/// write)`.
#[pyfunction]
pub(super) fn write_stub(
    py: Python<'_>,
    path: PathBuf,
    settings: &PySettings,
) -> PyResult<(String, OsString, &'static str)> {
    let subject = StubSubject::at(&path, || site_dirs(py)).map_err(|e| path_error(py, e, &path))?;
    let python = &core(py)?.python;
    let (stub, written) = run_detached(py, subject.name(), subject.path(), |observer| {
        subject.place_stub(&settings.0, python, observer)
    })?;
    Ok((
        subject.name().to_string(),
        stub.into_os_string(),
        written.as_str(),
    ))
}

/// The stub of the `.rs` file or crate directory (or editable project root) at `path`
/// (built with its introspection data if needed), without writing it: `(module name,
/// where it goes, text)`.
#[pyfunction]
pub(super) fn stub_text(
    py: Python<'_>,
    path: PathBuf,
    settings: &PySettings,
) -> PyResult<(String, OsString, String)> {
    let python = &core(py)?.python;
    let subject = StubSubject::at(&path, || site_dirs(py)).map_err(|e| path_error(py, e, &path))?;
    let (dest, text) = run_detached(py, subject.name(), subject.path(), |observer| {
        subject.stub_text(&settings.0, python, observer)
    })?;
    Ok((subject.name().to_string(), dest.into_os_string(), text))
}
