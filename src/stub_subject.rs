//! What a stub is asked of (`python -m rusthook stubs PATH`, `stubs --diff`): a `.rs`
//! file or marked crate, whose stub the file importer makes, else the root of an editable
//! maturin project installed in this environment, whose stub the project importer makes.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file_importer::{self, finder, Source};
use crate::machinery::progress::BuildObserver;
use crate::project_importer::{self, index, Project, ProjectStub, StubRequest};
use crate::settings::{PythonEnv, Settings};
use crate::stubs;

/// A path a stub is asked of.
pub enum StubSubject {
    Source(Source),
    // Boxed: a project is several times a source's size (on Windows more so).
    Project(Box<Project>),
}

impl StubSubject {
    /// The source at `path`, else the editable project installed from the folder `path`
    /// (found in `site_dirs`, read only when `path` is not a source); else the error
    /// saying why `path` is not a source.
    pub fn at(path: &Path, site_dirs: impl FnOnce() -> Vec<PathBuf>) -> Result<StubSubject> {
        match finder::source_from_path(path) {
            Ok(source) => Ok(StubSubject::Source(source)),
            Err(error) => editable_project_at(path, &site_dirs())
                .map(|project| StubSubject::Project(Box::new(project)))
                .ok_or(error),
        }
    }

    /// The module name.
    pub fn name(&self) -> &str {
        match self {
            StubSubject::Source(source) => &source.name,
            StubSubject::Project(project) => &project.import_name,
        }
    }

    /// The source file or folder (what a build's messages name).
    pub fn path(&self) -> &Path {
        match self {
            StubSubject::Source(source) => &source.path,
            StubSubject::Project(project) => &project.root,
        }
    }

    /// Builds it with its introspection data and writes its stub where it goes; returns
    /// the stub's path and what writing did.
    pub fn place_stub(
        &self,
        settings: &Settings,
        python: &PythonEnv,
        observer: &dyn BuildObserver,
    ) -> Result<(PathBuf, stubs::Written)> {
        match self {
            StubSubject::Source(source) => {
                file_importer::place_stub_of(source, settings, python, observer)
            }
            StubSubject::Project(project) => {
                match project_stub(project, settings, python, observer, StubRequest::Report)? {
                    Some(ProjectStub::Placed(stub, written)) => Ok((stub, written)),
                    _ => Err(no_project_stub(project)),
                }
            }
        }
    }

    /// Its stub (built with its introspection data if needed), without writing it:
    /// where it goes, and its text.
    pub fn stub_text(
        &self,
        settings: &Settings,
        python: &PythonEnv,
        observer: &dyn BuildObserver,
    ) -> Result<(PathBuf, String)> {
        match self {
            StubSubject::Source(source) => {
                file_importer::stub_of(source, settings, python, observer)
            }
            StubSubject::Project(project) => {
                match project_stub(project, settings, python, observer, StubRequest::Read)? {
                    Some(ProjectStub::Text(dest, text)) => Ok((dest, text)),
                    _ => Err(no_project_stub(project)),
                }
            }
        }
    }
}

fn project_stub(
    project: &Project,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
    request: StubRequest,
) -> Result<Option<ProjectStub>> {
    let settings = Settings {
        stubs: true,
        ..settings.clone()
    };
    project_importer::ensure_project_built(project, &settings, python, observer, request)
}

/// Why a project gets no stub: it is not a pyo3 project.
fn no_project_stub(project: &Project) -> Error {
    Error::NoStub {
        path: project.root.clone(),
        kind: format!(
            "a maturin project with {} bindings (maturin generates what Python sees of it; only pyo3 projects get stubs from rusthook)",
            project.bindings.name()
        ),
    }
}

/// The editable maturin project installed from the folder `path`.
fn editable_project_at(path: &Path, site_dirs: &[PathBuf]) -> Option<Project> {
    let root = std::fs::canonicalize(path).ok()?;
    index::discover(site_dirs, None)
        .into_values()
        .find(|project| std::fs::canonicalize(&project.root).is_ok_and(|r| r == root))
}
