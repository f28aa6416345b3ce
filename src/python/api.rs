//! The explicit API's builds: a path, a notebook cell, every source below a folder, the
//! template's dependencies ahead of time.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;

use super::detach::run_detached;
use super::errors::{import_error, to_python_error};
use super::interpreter::core;
use super::settings::PySettings;
use crate::error::Error;
use crate::file_importer::template::Dialect;
use crate::file_importer::{self, cell, finder, Built, Source};

pub(super) fn run_build(py: Python<'_>, source: &Source, settings: &PySettings) -> PyResult<Built> {
    let python = &core(py)?.python;
    run_detached(py, &source.name, &source.path, |observer| {
        file_importer::ensure_built(source, &settings.0, python, observer)
    })
}

/// The module name of the `.rs` file or crate directory at `path` (an error if it is
/// not a source rusthook imports).
#[pyfunction]
pub(super) fn source_name(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    finder::source_from_path(&path)
        .map(|source| source.name)
        .map_err(|e| path_error(py, e, &path))
}

pub(super) fn path_error(py: Python<'_>, error: Error, path: &Path) -> PyErr {
    let name = path
        .file_stem()
        .map(|s| s.to_string_lossy())
        .unwrap_or_default();
    import_error(py, error, &name, path)
}

/// `(module name, library, declarations or None, in-place library or None)`.
type BuiltPaths = (String, OsString, Option<OsString>, Option<OsString>);

/// Builds the `.rs` file or crate directory at `path`. Returns `(module name, library
/// in the cache, C declarations of a cffi library or None, library beside the source
/// or None)`.
#[pyfunction]
pub(super) fn build_path(
    py: Python<'_>,
    path: PathBuf,
    settings: &PySettings,
) -> PyResult<BuiltPaths> {
    let source = finder::source_from_path(&path).map_err(|e| path_error(py, e, &path))?;
    let built = run_build(py, &source, settings)?;
    Ok((
        source.name,
        built.artifact.into_os_string(),
        built.declarations.map(PathBuf::into_os_string),
        built.in_place.map(PathBuf::into_os_string),
    ))
}

/// Builds the code of a notebook cell as the module `_rusthook_cell_<hash>` (its
/// source saved in `directory`); returns `(module name, library)`. A non-empty `salt`
/// gives the same code a new name (a forced rebuild loads under a new name).
/// `rustimport=True` (`%%rustimport`) builds it with rustimport's pyo3 version.
#[pyfunction]
#[pyo3(signature = (code, directory, settings, salt="", rustimport=false))]
pub(super) fn build_cell(
    py: Python<'_>,
    code: &str,
    directory: PathBuf,
    settings: &PySettings,
    salt: &str,
    rustimport: bool,
) -> PyResult<(String, OsString)> {
    let python = &core(py)?.python;
    let dialect = if rustimport {
        Dialect::Rustimport
    } else {
        Dialect::Rusthook
    };
    let source = cell::cell_source(code, &directory, &settings.0, python, salt, dialect)
        .map_err(|e| import_error(py, e, "<cell>", &directory))?;
    let built = run_build(py, &source, settings)?;
    Ok((source.name, built.artifact.into_os_string()))
}

/// Every importable Rust source below `root`: `[(module name, path)]`.
#[pyfunction]
pub(super) fn find_sources(py: Python<'_>, root: PathBuf) -> PyResult<Vec<(String, OsString)>> {
    let sources = py
        .detach(|| finder::find_all(&root))
        .map_err(to_python_error)?;
    Ok(sources
        .into_iter()
        .map(|s| (s.name, s.path.into_os_string()))
        .collect())
}

/// Compiles the dependencies of the pyo3 template for these settings ahead of time;
/// returns the path of the small library it built.
#[pyfunction]
pub(super) fn warm(py: Python<'_>, settings: &PySettings) -> PyResult<OsString> {
    let python = &core(py)?.python;
    let origin = settings.0.build_root.clone();
    run_detached(py, "warm", &origin, |observer| {
        file_importer::warm(&settings.0, python, observer)
    })
    .map(|built| built.artifact.into_os_string())
}
