//! Is the last build fresh? The record of a build (a small JSON file beside the
//! artifact) holds what the build read (see `inputs` for the whole list and how each
//! part is stamped): each tracked file's size, mtime and sha256, the files whose absence it relied on, the variables
//! by a hash of their value, the build settings and the toolchain. The check only stats
//! files; it hashes a file only when its stat differs, so a touched but unchanged file
//! does not rebuild. A TOML file (a manifest, cargo's configuration) is hashed as the
//! data it holds, so an edit to a comment or the layout does not rebuild either: cargo
//! does not rebuild for one.

use std::collections::HashSet;
use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{mtime_ns, write_atomically};
use crate::machinery::inputs::{changed_variable, Content, TrackedFile, TrackedVariable};

/// Bumped when the record's meaning changes; older records are simply stale.
/// 2: variables, absent configuration files, TOML content hashes, build time.
pub const RECORD_FORMAT: u32 = 2;

/// The toolchain a build used: a cheap fingerprint and the `rustc -vV` it stands for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainId {
    pub fingerprint: String,
    pub version: String,
}

/// The record of the last successful build of one module.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildRecord {
    pub format: u32,
    pub module: String,
    pub source: PathBuf,
    /// `Settings::fingerprint` of the build.
    pub settings: String,
    pub toolchain: ToolchainId,
    /// The cargo profile of the build.
    #[serde(default)]
    pub profile: String,
    /// File name of the library in the module's cache folder (an absolute path for an
    /// editable project's installed library; empty when maturin installed it).
    pub artifact: String,
    /// For a C-ABI (cffi) library: the file name, beside it, of its C declarations.
    /// `None` for a Python extension module (records older than the cffi template too).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub declarations: Option<String>,
    /// The `.pyi` stub made from the library, beside it (builds with stubs asked for).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stub: Option<String>,
    pub files: Vec<TrackedFile>,
    /// Absolute `//d:` globs: a new file matching one makes the build stale.
    pub globs: Vec<String>,
    /// For a library built for the stable ABI: the CPython 3 minor version it needs at
    /// least (every CPython from there loads it). `None` for a version-specific build.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable_abi_floor: Option<u32>,
    /// Files the build would have read had they existed (cargo's configuration,
    /// toolchain files): one appearing makes the build stale.
    #[serde(default)]
    pub absent: Vec<PathBuf>,
    /// The environment variables the build read.
    #[serde(default)]
    pub variables: Vec<TrackedVariable>,
    /// Why what the build read could not be confirmed: such a record is never fresh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unconfirmed: Option<String>,
    /// When the build finished (seconds since the Unix epoch) and how long it took, in
    /// milliseconds: integers, so that a record read back equals the one written (a
    /// float may not survive JSON exactly, and a build is moved only while its record
    /// is unchanged).
    #[serde(default)]
    pub built_at: u64,
    #[serde(default)]
    pub build_ms: u64,
}

/// The outcome of a freshness check.
#[derive(Debug, PartialEq)]
pub enum Freshness {
    Fresh,
    /// Fresh, but some stats (or the toolchain fingerprint) moved: this updated record
    /// keeps the next check on the stat-only path.
    FreshWithNewStats(Box<BuildRecord>),
    Stale(String),
}

/// What the current environment looks like, for comparing against a record.
pub struct Expected<'a> {
    pub settings: &'a str,
    pub toolchain_fingerprint: &'a str,
    /// Called only if the fingerprint differs; `None` when rustc cannot be asked.
    pub toolchain_version: &'a dyn Fn() -> Option<String>,
    /// Reads an environment variable (the process's own, outside tests).
    pub env: &'a dyn Fn(&str) -> Option<OsString>,
    /// The names of the variables set now.
    pub env_names: &'a dyn Fn() -> Vec<String>,
}

/// The process's environment, for [`Expected`].
pub fn process_env(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// The names of the process's environment variables, for [`Expected`].
pub fn process_env_names() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .collect()
}

impl BuildRecord {
    /// Reads a record; a missing, unreadable or corrupt one is `None` (stale, never trusted).
    pub fn read(path: &Path) -> Option<BuildRecord> {
        let bytes = fs::read(path).ok()?;
        match serde_json::from_slice::<BuildRecord>(&bytes) {
            Ok(record) if record.format == RECORD_FORMAT => Some(record),
            Ok(_) => None,
            Err(error) => {
                log::debug!(target: "rusthook.freshness", "ignoring corrupt build record {}: {error}", path.display());
                None
            }
        }
    }

    /// The file names, in the module's cache folder, of what this build installed.
    pub fn artifact_names(&self) -> Vec<&str> {
        let mut names = vec![self.artifact.as_str()];
        names.extend(self.declarations.as_deref());
        names.extend(self.stub.as_deref());
        names
    }

    /// Writes the record atomically: readers see the old record or the new one, never half.
    pub fn write(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| Error::Io {
            action: "cannot encode",
            path: path.to_path_buf(),
            source: e.into(),
        })?;
        write_atomically(path, &json).map_err(Error::io("cannot write", path))
    }

    /// Compares the record with the files on disk and the current settings and toolchain.
    pub fn check(&self, artifact_path: &Path, expected: &Expected) -> Freshness {
        if let Some(reason) = &self.unconfirmed {
            return Freshness::Stale(reason.clone());
        }
        if self.settings != expected.settings {
            return Freshness::Stale(format!(
                "build settings changed ({} -> {})",
                self.settings, expected.settings
            ));
        }
        if !self.artifact.is_empty() && !artifact_path.is_file() {
            return Freshness::Stale(format!("{} is missing", artifact_path.display()));
        }
        if let Some(declarations) = &self.declarations {
            let path = artifact_path.with_file_name(declarations);
            if !path.is_file() {
                return Freshness::Stale(format!("{} is missing", path.display()));
            }
        }
        let mut updated: Option<BuildRecord> = None;
        if self.toolchain.fingerprint != expected.toolchain_fingerprint {
            match (expected.toolchain_version)() {
                Some(version) if version != self.toolchain.version => {
                    return Freshness::Stale(format!(
                        "the Rust toolchain changed ({} -> {})",
                        first_line(&self.toolchain.version),
                        first_line(&version)
                    ));
                }
                Some(_) => {
                    let record = updated.get_or_insert_with(|| self.clone());
                    record.toolchain.fingerprint = expected.toolchain_fingerprint.to_string();
                }
                // No rustc to ask: nothing can be rebuilt, so keep the last build.
                None => {}
            }
        }
        if let Some(reason) = changed_variable(&self.variables, expected.env, expected.env_names) {
            return Freshness::Stale(reason);
        }
        for (index, tracked) in self.files.iter().enumerate() {
            let metadata = match fs::metadata(&tracked.path) {
                Ok(metadata) => metadata,
                Err(_) => {
                    return Freshness::Stale(format!("{} was removed", tracked.path.display()))
                }
            };
            if tracked.content != Content::Folder
                && metadata.len() == tracked.size
                && mtime_ns(&metadata) == tracked.mtime_ns
            {
                continue;
            }
            match tracked.content.hash(&tracked.path) {
                Ok(sha256) if sha256 == tracked.sha256 => {
                    if tracked.content != Content::Folder {
                        let record = updated.get_or_insert_with(|| self.clone());
                        record.files[index].size = metadata.len();
                        record.files[index].mtime_ns = mtime_ns(&metadata);
                    }
                }
                Ok(_) if tracked.content == Content::Toml && !is_toml(&tracked.path) => {
                    return Freshness::Stale(format!(
                        "{} changed (and is not valid TOML now: cargo will say where)",
                        tracked.path.display()
                    ))
                }
                _ => return Freshness::Stale(format!("{} changed", tracked.path.display())),
            }
        }
        for path in &self.absent {
            if fs::symlink_metadata(path).is_ok() {
                return Freshness::Stale(format!("{} appeared", path.display()));
            }
        }
        if !self.globs.is_empty() {
            let known: HashSet<&Path> = self.files.iter().map(|f| f.path.as_path()).collect();
            for pattern in &self.globs {
                for path in glob::glob(pattern).into_iter().flatten().flatten() {
                    if path.is_file() && !known.contains(path.as_path()) {
                        return Freshness::Stale(format!(
                            "{} is new (matches `//d:` {pattern})",
                            path.display()
                        ));
                    }
                }
            }
        }
        match updated {
            Some(record) => Freshness::FreshWithNewStats(Box::new(record)),
            None => Freshness::Fresh,
        }
    }
}

fn is_toml(path: &Path) -> bool {
    fs::read_to_string(path).is_ok_and(|text| text.parse::<toml::Table>().is_ok())
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests;
