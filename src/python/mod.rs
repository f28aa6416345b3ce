//! The `#[pymodule]` boundary, `rusthook._core` (compiled with the `python` feature that
//! maturin turns on). Only conversions between Python and the core live here: every
//! decision is the core's.

mod detach;
mod errors;
mod explain;
mod interpreter;
mod log_bridge;
mod settings;

use std::ffi::OsString;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::file_importer::template::Dialect;
use crate::file_importer::{self, cell, finder, scaffold, Built, InPlaceUse, Source};
use crate::machinery::cache_usage;
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
/// importlib's PathFinder first: see `finder`. `extension` is the extension module
/// PathFinder found in `search_path`: the source beside it is built only if that
/// extension is rusthook's own in-place build of it.
#[pyfunction]
#[pyo3(signature = (fullname, search_path, settings, crate_folders=true, extension=None))]
fn find_and_build(
    py: Python<'_>,
    fullname: &str,
    search_path: &Bound<'_, PyList>,
    settings: &PySettings,
    crate_folders: bool,
    extension: Option<PathBuf>,
) -> PyResult<Option<(OsString, Option<OsString>)>> {
    if !settings.0.file_importer {
        return Ok(None);
    }
    let Some((source, in_place)) = find(
        py,
        fullname,
        search_path,
        crate_folders,
        extension,
        settings,
    )?
    else {
        return Ok(None);
    };
    let rebuilt_settings;
    let settings = match in_place {
        Some(InPlaceUse::Load(library)) => return Ok(Some((library.into_os_string(), None))),
        // rusthook's own in-place build, stale: written again where it was.
        Some(InPlaceUse::Rebuild) => {
            rebuilt_settings = PySettings(crate::settings::Settings {
                in_place: true,
                ..settings.0.clone()
            });
            &rebuilt_settings
        }
        Some(InPlaceUse::Foreign) | None => settings,
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
        let request = project_importer::StubRequest::Place;
        project_importer::ensure_project_built(&project, settings, &core.python, observer, request)
    })
    .map(|_| ())
}

/// The Rust source `fullname` would be imported from, without building it (the
/// caller has asked importlib's PathFinder first, as for `find_and_build`).
#[pyfunction]
#[pyo3(signature = (fullname, search_path, settings, extension=None))]
fn find_source(
    py: Python<'_>,
    fullname: &str,
    search_path: &Bound<'_, PyList>,
    settings: &PySettings,
    extension: Option<PathBuf>,
) -> PyResult<Option<OsString>> {
    let source = find(py, fullname, search_path, true, extension, settings)?;
    Ok(source.map(|(source, _)| source.path.into_os_string()))
}

/// The Rust source of `fullname` on `search_path`, and what becomes of the `extension`
/// module beside it; none beside an extension that rusthook did not build from it.
fn find(
    py: Python<'_>,
    fullname: &str,
    search_path: &Bound<'_, PyList>,
    crate_folders: bool,
    extension: Option<PathBuf>,
    _settings: &PySettings,
) -> PyResult<Option<(Source, Option<InPlaceUse>)>> {
    let name = fullname.rsplit('.').next().unwrap_or(fullname);
    // importlib skips entries that are not str; so does rusthook.
    let entries: Vec<PathBuf> = search_path
        .iter()
        .filter_map(|entry| {
            let entry = entry.cast_into::<PyString>().ok()?;
            Some(PathBuf::from(entry.to_cow().ok()?.as_ref()))
        })
        .collect();
    let Some(source) = finder::find(name, &entries, crate_folders) else {
        return Ok(None);
    };
    let Some(extension) = extension else {
        return Ok(Some((source, None)));
    };
    match file_importer::in_place_use(&source, &extension) {
        Ok(InPlaceUse::Foreign) => Ok(None),
        Ok(use_) => Ok(Some((source, Some(use_)))),
        Err(error) => Err(import_error(py, error, &source.name, &source.path)),
    }
}

/// The module name of the `.rs` file or crate directory at `path` (an error if it is
/// not a source rusthook imports).
#[pyfunction]
fn source_name(py: Python<'_>, path: PathBuf) -> PyResult<String> {
    finder::source_from_path(&path)
        .map(|source| source.name)
        .map_err(|e| path_error(py, e, &path))
}

fn path_error(py: Python<'_>, error: crate::error::Error, path: &std::path::Path) -> PyErr {
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
fn build_path(py: Python<'_>, path: PathBuf, settings: &PySettings) -> PyResult<BuiltPaths> {
    let source = finder::source_from_path(&path).map_err(|e| path_error(py, e, &path))?;
    let built = run_build(py, &source, settings)?;
    Ok((
        source.name,
        built.artifact.into_os_string(),
        built.declarations.map(PathBuf::into_os_string),
        built.in_place.map(PathBuf::into_os_string),
    ))
}

/// Builds the `.rs` file or crate directory at `path` with its introspection data and
/// writes its stub beside it. Returns `(module name, stub, what writing did:
/// "written", "unchanged" or "kept" for a stub rusthook did not write)`.
#[pyfunction]
fn write_stub(
    py: Python<'_>,
    path: PathBuf,
    settings: &PySettings,
) -> PyResult<(String, OsString, &'static str)> {
    let settings = PySettings(crate::settings::Settings {
        stubs: true,
        ..settings.0.clone()
    });
    let source = match finder::source_from_path(&path) {
        Ok(source) => source,
        Err(error) => {
            // Not a `.rs` file or marked crate: maybe an editable maturin project's root.
            let Some(project) = editable_project_at(py, &path) else {
                return Err(path_error(py, error, &path));
            };
            let python = &core(py)?.python;
            let request = project_importer::StubRequest::Report;
            let placed = run_detached(py, &project.import_name, &project.root, |observer| {
                project_importer::ensure_project_built(
                    &project,
                    &settings.0,
                    python,
                    observer,
                    request,
                )
            })?;
            let Some(project_importer::ProjectStub::Placed(stub, written)) = placed else {
                return Err(to_python_error(no_project_stub(&project)));
            };
            return Ok((project.import_name, stub.into_os_string(), written.as_str()));
        }
    };
    let python = &core(py)?.python;
    let (stub, written) = run_detached(py, &source.name, &source.path, |observer| {
        file_importer::place_stub_of(&source, &settings.0, python, observer)
    })?;
    Ok((source.name, stub.into_os_string(), written.as_str()))
}

/// Why a project gets no stub: it is not a pyo3 project.
fn no_project_stub(project: &project_importer::Project) -> crate::error::Error {
    crate::error::Error::NoStub {
        path: project.root.clone(),
        kind: format!(
            "a maturin project with {} bindings (maturin generates what Python sees of it; only pyo3 projects get stubs from rusthook)",
            project.bindings.name()
        ),
    }
}

/// The editable maturin project installed in this environment from the folder `path`.
pub(crate) fn editable_project_at(
    py: Python<'_>,
    path: &std::path::Path,
) -> Option<project_importer::Project> {
    let root = std::fs::canonicalize(path).ok()?;
    project_importer::index::discover(&site_dirs(py), None)
        .into_values()
        .find(|project| std::fs::canonicalize(&project.root).is_ok_and(|r| r == root))
}

/// The stub of the `.rs` file or crate directory at `path` (built with its
/// introspection data if needed), without writing it: `(module name, where it goes,
/// text)`.
#[pyfunction]
fn stub_text(
    py: Python<'_>,
    path: PathBuf,
    settings: &PySettings,
) -> PyResult<(String, OsString, String)> {
    let python = &core(py)?.python;
    let source = match finder::source_from_path(&path) {
        Ok(source) => source,
        Err(error) => {
            let Some(project) = editable_project_at(py, &path) else {
                return Err(path_error(py, error, &path));
            };
            let settings = crate::settings::Settings {
                stubs: true,
                ..settings.0.clone()
            };
            let request = project_importer::StubRequest::Read;
            let made = run_detached(py, &project.import_name, &project.root, |observer| {
                project_importer::ensure_project_built(
                    &project, &settings, python, observer, request,
                )
            })?;
            let Some(project_importer::ProjectStub::Text(dest, text)) = made else {
                return Err(to_python_error(no_project_stub(&project)));
            };
            return Ok((project.import_name, dest.into_os_string(), text));
        }
    };
    let (dest, text) = run_detached(py, &source.name, &source.path, |observer| {
        file_importer::stub_of(&source, &settings.0, python, observer)
    })?;
    Ok((source.name, dest.into_os_string(), text))
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

/// Writes a maturin project for the single-file module `source` into `dest`; with
/// `settings`, also its stub (`<name>.pyi` beside Cargo.toml, where maturin takes a pure
/// Rust project's stub from), from a build of `source` with those settings.
#[pyfunction]
#[pyo3(signature = (source, dest, settings=None))]
fn eject(
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
fn write_stub_into(
    py: Python<'_>,
    project: &std::path::Path,
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
fn eject_cell(
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

/// One module of the cache: `(name, source, source exists, bytes, last used as Unix
/// seconds, state)`.
type ModuleRow = (
    Option<String>,
    Option<OsString>,
    bool,
    u64,
    f64,
    &'static str,
);

/// `[(ABI folder, bytes, [module])]` for each partition of the build cache at `root`.
#[pyfunction]
fn cache_summary(py: Python<'_>, root: PathBuf) -> Vec<(OsString, u64, Vec<ModuleRow>)> {
    let unix = |time: std::time::SystemTime| {
        time.duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    py.detach(|| cache_usage::summarize(&root))
        .into_iter()
        .map(|partition| {
            let modules = partition
                .modules
                .into_iter()
                .map(|m| {
                    let source = m.source.map(PathBuf::into_os_string);
                    let state = m.state.describe();
                    (
                        m.name,
                        source,
                        m.source_exists,
                        m.bytes,
                        unix(m.last_used),
                        state,
                    )
                })
                .collect();
            (partition.abi_dir.into_os_string(), partition.bytes, modules)
        })
        .collect()
}

/// Deletes every build under `root`; refuses while a build holds a lock. Returns bytes freed.
#[pyfunction]
fn cache_clear(py: Python<'_>, root: PathBuf) -> PyResult<u64> {
    py.detach(|| cache_usage::clear(&root))
        .map_err(to_python_error)
}

/// Prunes the build cache at `root` (see `cache_usage::prune`); returns `[(path, bytes,
/// reason)]` of what was removed.
#[pyfunction]
#[pyo3(signature = (root, older_than_days=None, max_bytes=None))]
fn cache_prune(
    py: Python<'_>,
    root: PathBuf,
    older_than_days: Option<f64>,
    max_bytes: Option<u64>,
) -> PyResult<Vec<(OsString, u64, &'static str)>> {
    let older_than = older_than_days
        .map(|days| {
            std::time::Duration::try_from_secs_f64(days * 86_400.0).map_err(|_| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "--older-than takes a number of days, not {days}"
                ))
            })
        })
        .transpose()?;
    let request = cache_usage::PruneRequest {
        older_than,
        max_bytes,
    };
    let removed = py
        .detach(|| cache_usage::prune(&root, &request))
        .map_err(to_python_error)?;
    Ok(removed
        .into_iter()
        .map(|r| (r.path.into_os_string(), r.bytes, r.reason))
        .collect())
}

/// `[(tool, version or the error running it)]` for rustc and cargo.
#[pyfunction]
fn tool_versions(py: Python<'_>) -> Vec<(String, String)> {
    py.detach(crate::machinery::toolchain::tool_versions)
}

/// Compiles the dependencies of the pyo3 template for these settings ahead of time;
/// returns the path of the small library it built.
#[pyfunction]
fn warm(py: Python<'_>, settings: &PySettings) -> PyResult<OsString> {
    let python = &core(py)?.python;
    let origin = settings.0.build_root.clone();
    run_detached(py, "warm", &origin, |observer| {
        file_importer::warm(&settings.0, python, observer)
    })
    .map(|built| built.artifact.into_os_string())
}

/// Creates a new importable crate `parent/name` (or file, for `name.rs`); returns its path.
#[pyfunction]
fn new_crate(parent: PathBuf, name: &str) -> PyResult<OsString> {
    scaffold::new_crate(&parent, name)
        .map(PathBuf::into_os_string)
        .map_err(to_python_error)
}

/// False when `RUSTHOOK_ENABLED` switches the import hook off (a value that is neither
/// a yes nor a no is a ValueError).
#[pyfunction]
fn hook_enabled() -> PyResult<bool> {
    crate::settings::hook_enabled(|name| std::env::var(name).ok()).map_err(to_python_error)
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
    use super::explain::explain;
    #[pymodule_export]
    use super::{
        build_cell, build_path, cache_clear, cache_prune, cache_summary, eject, eject_cell,
        find_and_build, find_source, find_sources, hook_enabled, invalidate_caches, new_crate,
        refresh_project, source_name, stub_text, tool_versions, warm, write_stub, PySettings,
    };

    use pyo3::prelude::*;

    #[pymodule_init]
    fn init(m: &Bound<'_, PyModule>) -> PyResult<()> {
        let py = m.py();
        m.add("RusthookError", py.get_type::<super::RusthookError>())?;
        let build_error = py.get_type::<super::BuildError>();
        // The compiler's diagnostics of a failed build (set on each instance).
        build_error.setattr("diagnostics", "")?;
        m.add("BuildError", build_error)?;
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
