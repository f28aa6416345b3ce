//! `new` and `eject`: a new importable crate, a single file or a cell as a maturin
//! project (with its stub when settings are given).

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use pyo3::prelude::*;

use super::api::path_error;
use super::detach::run_detached;
use super::errors::to_python_error;
use super::interpreter::core;
use super::settings::PySettings;
use crate::file_importer::{self, finder, scaffold, Source};

/// Writes a maturin project for the single-file module `source` into `dest`; with
/// `settings`, also its stub (`<name>.pyi` beside Cargo.toml, where maturin takes a pure
/// Rust project's stub from), from a build of `source` with those settings.
#[pyfunction]
#[pyo3(signature = (source, dest, settings=None))]
pub(super) fn eject(
    py: Python<'_>,
    source: PathBuf,
    dest: PathBuf,
    settings: Option<&PySettings>,
) -> PyResult<OsString> {
    let project = scaffold::eject_file(&source, &dest).map_err(to_python_error)?;
    if let Some(settings) = settings {
        let module = finder::source_from_path(&source).map_err(|e| path_error(py, e, &source))?;
        write_stub_into(py, &project, &module, settings)?;
    }
    Ok(project.into_os_string())
}

/// Builds `module` (with its introspection data) and writes its stub into the ejected
/// `project`, beside its Cargo.toml.
pub(super) fn write_stub_into(
    py: Python<'_>,
    project: &Path,
    module: &Source,
    settings: &PySettings,
) -> PyResult<()> {
    let python = &core(py)?.python;
    let (_, text) = run_detached(py, &module.name, &module.path, |observer| {
        file_importer::stub_of(module, &settings.0, python, observer)
    })?;
    let stub = project.join(format!("{}.pyi", module.name));
    crate::stubs::write(&stub, &text).map_err(to_python_error)?;
    Ok(())
}

/// Writes a maturin project for a notebook cell's code into `dest`; the module is
/// called `name`, or after `dest`'s folder. With `settings`, also its stub beside the
/// project's Cargo.toml, from a build of the new project itself (a cell's own build
/// makes no stub).
#[pyfunction]
#[pyo3(signature = (code, dest, name=None, settings=None))]
pub(super) fn eject_cell(
    py: Python<'_>,
    code: &str,
    dest: PathBuf,
    name: Option<&str>,
    settings: Option<&PySettings>,
) -> PyResult<OsString> {
    let project = scaffold::eject_cell(code, name, &dest).map_err(to_python_error)?;
    if let Some(settings) = settings {
        let module = Source {
            name: match name {
                Some(name) => name.to_string(),
                None => project
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            },
            kind: file_importer::SourceKind::Crate,
            path: project.clone(),
        };
        write_stub_into(py, &project, &module, settings)?;
    }
    Ok(project.into_os_string())
}

/// Creates a new importable crate `parent/name` (or file, for `name.rs`); returns its path.
#[pyfunction]
pub(super) fn new_crate(parent: PathBuf, name: &str) -> PyResult<OsString> {
    scaffold::new_crate(&parent, name)
        .map(PathBuf::into_os_string)
        .map_err(to_python_error)
}
