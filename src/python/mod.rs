//! The `#[pymodule]` boundary, `rusthook._core` (compiled with the `python` feature that
//! maturin turns on). Only conversions between Python and the core live here: every
//! decision is the core's.

mod detach;
mod errors;
mod interpreter;
mod log_bridge;
mod settings;

use std::ffi::OsString;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::build::cache;
use crate::file_importer::template::Dialect;
use crate::file_importer::{self, cell, finder, scaffold, Built, Source, SourceKind};
use crate::project_importer;
use detach::run_detached;
use errors::{import_error, to_python_error, BuildError, RusthookError};
use interpreter::{core, site_dirs};
use settings::PySettings;

fn run_build(py: Python<'_>, source: &Source, settings: &PySettings) -> PyResult<Built> {
    let python = &core(py)?.python;
    run_detached(py, &source.name, &source.path, |observer| {
        file_importer::ensure_built(source, &settings.0, python, observer)
    })
}

/// The hot path of the import hook: finds the Rust source of `fullname` on
/// `search_path` and returns `(library, declarations)` for a fresh build, building it
/// if needed. `declarations` is `None` for a Python extension module, else the file
/// of C declarations of a cffi library. `None` when the name is not a Rust module
/// (two stats per path entry, one with `crate_folders=False`). The caller has asked
/// importlib's PathFinder first: see `finder`.
#[pyfunction]
#[pyo3(signature = (fullname, search_path, settings, crate_folders=true))]
fn find_and_build(
    py: Python<'_>,
    fullname: &str,
    search_path: &Bound<'_, PyList>,
    settings: &PySettings,
    crate_folders: bool,
) -> PyResult<Option<(OsString, Option<OsString>)>> {
    if !settings.0.file_importer {
        return Ok(None);
    }
    let Some(source) = find(fullname, search_path, crate_folders) else {
        return Ok(None);
    };
    run_build(py, &source, settings).map(|built| {
        Some((
            built.artifact.into_os_string(),
            built.declarations.map(PathBuf::into_os_string),
        ))
    })
}

/// If `name` (a top-level module) is an editable maturin project whose installed
/// library is stale, rebuilds it; the standard finders then import it. Costs a hash
/// lookup for any other name.
#[pyfunction]
fn refresh_project(py: Python<'_>, name: &str, settings: &PySettings) -> PyResult<()> {
    let settings = &settings.0;
    if !settings.project_importer {
        return Ok(());
    }
    let core = core(py)?;
    let remember_in = Some(settings.build_root.as_path());
    let Some(project) = core.projects.lookup(name, || site_dirs(py), remember_in) else {
        return Ok(());
    };
    run_detached(py, &project.import_name, &project.root, |observer| {
        project_importer::ensure_project_built(&project, settings, &core.python, observer)
    })
}

/// The Rust source `fullname` would be imported from, without building it (the
/// caller has asked importlib's PathFinder first, as for `find_and_build`).
#[pyfunction]
fn find_source(fullname: &str, search_path: &Bound<'_, PyList>) -> Option<OsString> {
    find(fullname, search_path, true).map(|source| source.path.into_os_string())
}

fn find(fullname: &str, search_path: &Bound<'_, PyList>, crate_folders: bool) -> Option<Source> {
    let name = fullname.rsplit('.').next().unwrap_or(fullname);
    // importlib skips entries that are not str; so does rusthook.
    let entries: Vec<PathBuf> = search_path
        .iter()
        .filter_map(|entry| {
            let entry = entry.cast_into::<PyString>().ok()?;
            Some(PathBuf::from(entry.to_cow().ok()?.as_ref()))
        })
        .collect();
    finder::find(name, &entries, crate_folders)
}

/// `(module name, library, declarations or None, in-place library or None)`.
type BuiltPaths = (String, OsString, Option<OsString>, Option<OsString>);

/// Builds the `.rs` file or crate directory at `path`. Returns `(module name, library
/// in the cache, C declarations of a cffi library or None, library beside the source
/// or None)`.
#[pyfunction]
fn build_path(py: Python<'_>, path: PathBuf, settings: &PySettings) -> PyResult<BuiltPaths> {
    let source = finder::source_from_path(&path).map_err(|e| {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy())
            .unwrap_or_default();
        import_error(py, e, &name, &path)
    })?;
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
fn build_cell(
    py: Python<'_>,
    code: &str,
    directory: PathBuf,
    settings: &PySettings,
    salt: &str,
    rustimport: bool,
) -> PyResult<(String, OsString)> {
    let python = &core(py)?.python;
    let s = &settings.0;
    let fingerprint = s.fingerprint(s.cargo_profile(), &s.features, python);
    let (dialect, salt) = if rustimport {
        (Dialect::Rustimport, format!("rustimport{salt}"))
    } else {
        (Dialect::Rusthook, salt.to_string())
    };
    let name = cell::module_name(code, &fingerprint, &python.executable, &salt);
    let path = cell::write_source(&directory, &name, code)
        .map_err(|e| import_error(py, e, &name, &directory))?;
    let source = Source {
        name,
        kind: SourceKind::Cell(dialect),
        path,
    };
    let built = run_build(py, &source, settings)?;
    Ok((source.name, built.artifact.into_os_string()))
}

/// Writes a maturin project for the single-file module `source` into `dest`.
#[pyfunction]
fn eject(source: PathBuf, dest: PathBuf) -> PyResult<OsString> {
    scaffold::eject_file(&source, &dest)
        .map(PathBuf::into_os_string)
        .map_err(to_python_error)
}

/// Writes a maturin project for a notebook cell's code into `dest`; the module is
/// called `name`, or after `dest`'s folder.
#[pyfunction]
#[pyo3(signature = (code, dest, name=None))]
fn eject_cell(code: &str, dest: PathBuf, name: Option<&str>) -> PyResult<OsString> {
    scaffold::eject_cell(code, name, &dest)
        .map(PathBuf::into_os_string)
        .map_err(to_python_error)
}

/// Every importable Rust source below `root`: `[(module name, path)]`.
#[pyfunction]
fn find_sources(py: Python<'_>, root: PathBuf) -> PyResult<Vec<(String, OsString)>> {
    let sources = py
        .detach(|| finder::find_all(&root))
        .map_err(to_python_error)?;
    Ok(sources
        .into_iter()
        .map(|s| (s.name, s.path.into_os_string()))
        .collect())
}

/// `[(ABI folder, modules, bytes)]` for each ABI folder of the build cache at `root`.
#[pyfunction]
fn cache_summary(py: Python<'_>, root: PathBuf) -> Vec<(OsString, usize, u64)> {
    py.detach(|| cache::summarize(&root))
        .into_iter()
        .map(|s| (s.abi_dir.into_os_string(), s.modules, s.bytes))
        .collect()
}

/// Deletes every build under `root`; refuses while a build holds a lock. Returns bytes freed.
#[pyfunction]
fn cache_clear(py: Python<'_>, root: PathBuf) -> PyResult<u64> {
    py.detach(|| cache::clear(&root)).map_err(to_python_error)
}

/// `[(tool, version or the error running it)]` for rustc and cargo.
#[pyfunction]
fn tool_versions(py: Python<'_>) -> Vec<(String, String)> {
    py.detach(crate::build::toolchain::tool_versions)
}

/// Creates a new importable crate `parent/name` (or file, for `name.rs`); returns its path.
#[pyfunction]
fn new_crate(parent: PathBuf, name: &str) -> PyResult<OsString> {
    scaffold::new_crate(&parent, name)
        .map(PathBuf::into_os_string)
        .map_err(to_python_error)
}

/// False when `RUSTHOOK_ENABLED` switches the import hook off.
#[pyfunction]
fn hook_enabled() -> bool {
    crate::settings::hook_enabled(|name| std::env::var(name).ok())
}

/// Forgets the editable-project map, so the next import reads site-packages again
/// (called by `importlib.invalidate_caches()`).
#[pyfunction]
fn invalidate_caches(py: Python<'_>) -> PyResult<()> {
    core(py)?.projects.invalidate();
    Ok(())
}

#[pymodule]
mod _core {
    #[pymodule_export]
    use super::{
        build_cell, build_path, cache_clear, cache_summary, eject, eject_cell, find_and_build,
        find_source, find_sources, hook_enabled, invalidate_caches, new_crate, refresh_project,
        tool_versions, PySettings,
    };

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        m.add("RusthookError", py.get_type::<super::RusthookError>())?;
        m.add("BuildError", py.get_type::<super::BuildError>())?;
        m.add("__version__", env!("CARGO_PKG_VERSION"))?;
        m.add(
            "PYO3_REQUIREMENT",
            crate::file_importer::template::PYO3_REQUIREMENT,
        )?;
        super::log_bridge::install();
        super::core(py)?;
        Ok(())
    }
}
