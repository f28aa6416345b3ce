//! `python -m rusthook explain`: whether a module (a file, a crate, a cell's source or an
//! editable project) is up to date, and if not exactly which input changed; where its
//! library is, in which partition of the cache, when it was built and how long it took.
//! It reads what an import reads and decides as an import decides (`check_record`), and
//! builds nothing.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Result;
use crate::file_importer::compile::module_entry;
use crate::file_importer::in_place::{self, InPlace};
use crate::file_importer::{Source, SourceKind};
use crate::machinery::check_record;
use crate::machinery::freshness::{BuildRecord, Freshness};
use crate::project_importer::rebuild::project_entry;
use crate::project_importer::Project;
use crate::settings::{PythonEnv, Settings};

/// What `explain` says of one module.
#[derive(Debug, Serialize)]
pub struct Explanation {
    pub module: String,
    /// `file`, `crate`, `cell` or `project`.
    pub kind: &'static str,
    pub source: PathBuf,
    /// An import now would build nothing.
    pub fresh: bool,
    /// Why an import now would build (`None` when fresh).
    pub reason: Option<String>,
    /// The library an import loads (or loaded last, when stale).
    pub library: Option<PathBuf>,
    /// The module's build record.
    pub record: PathBuf,
    /// The cache partition (per interpreter ABI) holding the record.
    pub partition: String,
    /// When the last build finished (seconds since the Unix epoch) and how long it took.
    pub built_at: Option<u64>,
    pub build_seconds: Option<f64>,
    /// What the last build read: how many files, the variables by name, how many places
    /// were watched for a configuration file to appear.
    pub files: usize,
    pub variables: Vec<String>,
    pub watched_absent: usize,
    /// The library beside the source, when there is one.
    pub in_place: Option<InPlaceExplanation>,
}

/// What the library beside a source is.
#[derive(Debug, Serialize)]
pub struct InPlaceExplanation {
    pub library: PathBuf,
    /// `rusthook` (its stamp vouches for it), `foreign` (no stamp) or `unconfirmed`.
    pub owner: &'static str,
    pub fresh: bool,
    pub reason: Option<String>,
}

/// Explains a file, crate or cell source.
pub fn explain_source(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
) -> Result<Explanation> {
    let (cache, module, fingerprint, _) = module_entry(source, settings, python)?;
    let record = module.read_record();
    let kind = match source.kind {
        SourceKind::File => "file",
        SourceKind::Crate => "crate",
        SourceKind::Cell(_) => "cell",
    };
    let library = record
        .as_ref()
        .map(|record| module.artifact_path(&record.artifact));
    let mut explanation = explain_record(
        &source.name,
        kind,
        &source.path,
        record.as_ref(),
        library,
        &fingerprint,
        module.record_path(),
        &cache.abi_dir,
    );
    let folder = source.path.parent().unwrap_or(Path::new("/"));
    let beside = folder.join(format!("{}{}", source.name, python.ext_suffix()));
    if beside.is_file() {
        let (owner, fresh, reason) = match in_place::read_stamp(&beside, folder) {
            InPlace::Foreign => ("foreign", false, Some("rusthook did not build it (no stamp beside it): Python imports it, rusthook leaves it alone".to_string())),
            InPlace::Unconfirmed(reason) => ("unconfirmed", false, Some(reason)),
            InPlace::Own(record) => match check_record(&record, &beside, &record.settings) {
                Freshness::Fresh | Freshness::FreshWithNewStats(_) => ("rusthook", true, None),
                Freshness::Stale(reason) => ("rusthook", false, Some(reason)),
            },
        };
        // An import loads rusthook's own fresh in-place build without the cache.
        if owner == "rusthook" && fresh {
            explanation.fresh = true;
            explanation.reason = None;
            explanation.library = Some(beside.clone());
        }
        explanation.in_place = Some(InPlaceExplanation {
            library: beside,
            owner,
            fresh,
            reason,
        });
    }
    Ok(explanation)
}

/// Explains an editable project.
pub fn explain_project(
    project: &Project,
    settings: &Settings,
    python: &PythonEnv,
) -> Result<Explanation> {
    let entry = project_entry(project, settings, python)?;
    let library = entry
        .last
        .as_ref()
        .filter(|record| !record.artifact.is_empty())
        .map(|record| PathBuf::from(&record.artifact));
    Ok(explain_record(
        &project.import_name,
        "project",
        &project.root,
        entry.last.as_ref(),
        library,
        &entry.fingerprint,
        entry.module.record_path(),
        &entry.cache.abi_dir,
    ))
}

#[allow(clippy::too_many_arguments)]
fn explain_record(
    module: &str,
    kind: &'static str,
    source: &Path,
    record: Option<&BuildRecord>,
    library: Option<PathBuf>,
    fingerprint: &str,
    record_path: PathBuf,
    abi_dir: &Path,
) -> Explanation {
    let verdict = match (record, &library) {
        (None, _) => Freshness::Stale(format!(
            "it was never built with these settings (no build record at {})",
            record_path.display()
        )),
        (Some(record), library) => check_record(
            record,
            library.as_deref().unwrap_or(Path::new("")),
            fingerprint,
        ),
    };
    let reason = match verdict {
        Freshness::Fresh | Freshness::FreshWithNewStats(_) => None,
        Freshness::Stale(reason) => Some(reason),
    };
    Explanation {
        module: module.to_string(),
        kind,
        source: source.to_path_buf(),
        fresh: reason.is_none(),
        reason,
        library,
        record: record_path,
        partition: abi_dir
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default(),
        built_at: record.map(|r| r.built_at).filter(|at| *at > 0),
        build_seconds: record
            .filter(|r| r.build_ms > 0)
            .map(|r| r.build_ms as f64 / 1000.0),
        files: record.map_or(0, |r| r.files.len()),
        variables: record.map_or_else(Vec::new, |r| {
            r.variables.iter().map(|v| v.name.clone()).collect()
        }),
        watched_absent: record.map_or(0, |r| r.absent.len()),
        in_place: None,
    }
}
