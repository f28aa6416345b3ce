//! `_core.explain`: what `python -m rusthook explain` prints, as JSON text (the decision
//! is the core's, in `crate::explain`).

use std::path::PathBuf;

use pyo3::prelude::*;
use pyo3::types::PyList;

use super::errors::to_python_error;
use super::interpreter::{core, search_path_entries, site_dirs};
use super::settings::PySettings;
use crate::error::Error;
use crate::explain::{explain_project, explain_source, Explanation};
use crate::file_importer::finder;
use crate::stub_subject::StubSubject;

/// Explains `target`: the path of a `.rs` file, crate folder or editable project, else
/// an import name looked up on `search_path` (then among editable projects). Returns
/// the explanation as JSON.
#[pyfunction]
pub fn explain(
    py: Python<'_>,
    target: &str,
    search_path: &Bound<'_, PyList>,
    settings: &PySettings,
) -> PyResult<String> {
    let core = core(py)?;
    let settings = &settings.0;
    let path = PathBuf::from(target);
    let explanation: crate::error::Result<Explanation> = if path.exists() {
        // A source at the path, else the editable project installed from that folder.
        match StubSubject::at(&path, || site_dirs(py)) {
            Ok(StubSubject::Source(source)) => explain_source(&source, settings, &core.python),
            Ok(StubSubject::Project(project)) => explain_project(&project, settings, &core.python),
            Err(error) => Err(error),
        }
    } else {
        let entries = search_path_entries(search_path);
        if let Some(source) = finder::find(target, &entries, true) {
            explain_source(&source, settings, &core.python)
        } else if let Some(project) = core.projects.lookup(
            target,
            || site_dirs(py),
            Some(settings.build_root.as_path()),
        ) {
            explain_project(&project, settings, &core.python)
        } else {
            Err(Error::NotASource {
                path,
                reason:
                    "no such file, and no Rust module or editable project of that name on sys.path"
                        .to_string(),
            })
        }
    };
    let explanation = explanation.map_err(to_python_error)?;
    serde_json::to_string(&explanation).map_err(|error| {
        to_python_error(Error::Io {
            action: "cannot encode the explanation of",
            path: PathBuf::from(target),
            source: error.into(),
        })
    })
}
