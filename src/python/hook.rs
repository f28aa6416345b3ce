//! What the import hook calls on every import: find a Rust source (and build it), refresh
//! an editable project, and whether the hook is on.

use std::ffi::OsString;
use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::api::run_build;
use super::detach::run_detached;
use super::errors::{import_error, to_python_error};
use super::interpreter::{core, search_path_entries, site_dirs};
use super::settings::PySettings;
use crate::file_importer::{self, finder, InPlaceUse, Source};
use crate::project_importer;

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
pub(super) fn find_and_build(
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
    let Some((source, in_place)) = find(py, fullname, search_path, crate_folders, extension)?
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
pub(super) fn refresh_project(py: Python<'_>, name: &str, settings: &PySettings) -> PyResult<()> {
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
pub(super) fn find_source(
    py: Python<'_>,
    fullname: &str,
    search_path: &Bound<'_, PyList>,
    settings: &PySettings,
    extension: Option<PathBuf>,
) -> PyResult<Option<OsString>> {
    // Where a source is does not depend on the settings (kept for a call like find_and_build).
    let _ = settings;
    let source = find(py, fullname, search_path, true, extension)?;
    Ok(source.map(|(source, _)| source.path.into_os_string()))
}

/// The Rust source of `fullname` on `search_path`, and what becomes of the `extension`
/// module beside it (its stamp decides, see `file_importer::in_place`); none beside an
/// extension that rusthook did not build from it.
pub(super) fn find(
    py: Python<'_>,
    fullname: &str,
    search_path: &Bound<'_, PyList>,
    crate_folders: bool,
    extension: Option<PathBuf>,
) -> PyResult<Option<(Source, Option<InPlaceUse>)>> {
    let name = fullname.rsplit('.').next().unwrap_or(fullname);
    let entries = search_path_entries(search_path);
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

/// False when `RUSTHOOK_ENABLED` switches the import hook off (a value that is neither
/// a yes nor a no is a ValueError).
#[pyfunction]
pub(super) fn hook_enabled() -> PyResult<bool> {
    crate::settings::hook_enabled(|name| std::env::var(name).ok()).map_err(to_python_error)
}

/// Forgets the editable-project map, so the next import reads site-packages again
/// (called by `importlib.invalidate_caches()`).
#[pyfunction]
pub(super) fn invalidate_caches(py: Python<'_>) -> PyResult<()> {
    core(py)?.projects.invalidate();
    Ok(())
}
