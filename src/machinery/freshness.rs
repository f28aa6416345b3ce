//! Is the last build fresh? The record of a build (a small JSON file beside the
//! artifact) holds each tracked file's size, mtime and sha256, the build settings
//! and the toolchain. The check only stats files; it hashes a file only when its
//! stat differs, so a touched but unchanged file does not rebuild.

use std::collections::HashSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{hash_file, mtime_ns, write_atomically};

/// Bumped when the record's meaning changes; older records are simply stale.
pub const RECORD_FORMAT: u32 = 1;

/// One file a build read, as it was when the build started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedFile {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: String,
}

/// The toolchain a build used: a cheap fingerprint and the `rustc -vV` it stands for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolchainId {
    pub fingerprint: String,
    pub version: String,
}

/// The record of the last successful build of one module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
}

/// The outcome of a freshness check.
#[derive(Debug, PartialEq, Eq)]
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
        for (index, tracked) in self.files.iter().enumerate() {
            let metadata = match fs::metadata(&tracked.path) {
                Ok(metadata) => metadata,
                Err(_) => {
                    return Freshness::Stale(format!("{} was removed", tracked.path.display()))
                }
            };
            if metadata.len() == tracked.size && mtime_ns(&metadata) == tracked.mtime_ns {
                continue;
            }
            match hash_file(&tracked.path) {
                Ok(sha256) if sha256 == tracked.sha256 => {
                    let record = updated.get_or_insert_with(|| self.clone());
                    record.files[index].size = metadata.len();
                    record.files[index].mtime_ns = mtime_ns(&metadata);
                }
                _ => return Freshness::Stale(format!("{} changed", tracked.path.display())),
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

/// Stats and hashes one file for a record.
pub fn track(path: &Path) -> io::Result<TrackedFile> {
    let metadata = fs::metadata(path)?;
    Ok(TrackedFile {
        path: path.to_path_buf(),
        size: metadata.len(),
        mtime_ns: mtime_ns(&metadata),
        sha256: hash_file(path)?,
    })
}

/// Tracks every path once; files that vanished since the build are skipped (the next
/// check then sees them missing only if they are tracked again).
pub fn track_all(paths: impl IntoIterator<Item = PathBuf>) -> Result<Vec<TrackedFile>> {
    let mut seen = HashSet::new();
    let mut files = Vec::new();
    for path in paths {
        if !seen.insert(path.clone()) {
            continue;
        }
        match track(&path) {
            Ok(file) => files.push(file),
            Err(error) if error.kind() == io::ErrorKind::NotFound => {}
            Err(error) => return Err(Error::io("cannot read", &path)(error)),
        }
    }
    Ok(files)
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record_for(dir: &Path, files: &[&Path]) -> BuildRecord {
        fs::write(dir.join("fast.so"), "library").unwrap();
        BuildRecord {
            format: RECORD_FORMAT,
            module: "fast".into(),
            source: files[0].to_path_buf(),
            settings: "debug".into(),
            toolchain: ToolchainId {
                fingerprint: "fp".into(),
                version: "rustc 1.95.0".into(),
            },
            profile: "dev".into(),
            artifact: "fast.so".into(),
            declarations: None,
            stub: None,
            files: track_all(files.iter().map(|p| p.to_path_buf())).unwrap(),
            globs: Vec::new(),
            stable_abi_floor: None,
        }
    }

    fn expected<'a>(version: &'a dyn Fn() -> Option<String>) -> Expected<'a> {
        Expected {
            settings: "debug",
            toolchain_fingerprint: "fp",
            toolchain_version: version,
        }
    }

    fn set_mtime(path: &Path, seconds_ago: u64) {
        let file = fs::File::options().write(true).open(path).unwrap();
        let time = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
        file.set_modified(time).unwrap();
    }

    #[test]
    fn unchanged_files_are_fresh_without_hashing() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("fast.rs");
        fs::write(&source, "fn a() {}").unwrap();
        let record = record_for(dir.path(), &[&source]);
        let never = || -> Option<String> { panic!("toolchain must not be asked") };
        assert_eq!(
            record.check(&dir.path().join("fast.so"), &expected(&never)),
            Freshness::Fresh
        );
    }

    #[test]
    fn touched_but_unchanged_is_fresh_with_new_stats() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("fast.rs");
        fs::write(&source, "fn a() {}").unwrap();
        set_mtime(&source, 100);
        let record = record_for(dir.path(), &[&source]);
        set_mtime(&source, 0);
        let none = || None;
        match record.check(&dir.path().join("fast.so"), &expected(&none)) {
            Freshness::FreshWithNewStats(updated) => {
                assert_ne!(updated.files[0].mtime_ns, record.files[0].mtime_ns);
                assert_eq!(
                    updated.check(&dir.path().join("fast.so"), &expected(&none)),
                    Freshness::Fresh
                );
            }
            other => panic!("expected fresh with new stats, got {other:?}"),
        }
    }

    #[test]
    fn edits_deletions_settings_and_missing_artifact_are_stale() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("fast.rs");
        let extra = dir.path().join("extra.rs");
        fs::write(&source, "fn a() {}").unwrap();
        fs::write(&extra, "fn b() {}").unwrap();
        let record = record_for(dir.path(), &[&source, &extra]);
        let artifact = dir.path().join("fast.so");
        let none = || None;

        let release = Expected {
            settings: "release",
            ..expected(&none)
        };
        assert!(
            matches!(record.check(&artifact, &release), Freshness::Stale(r) if r.contains("settings"))
        );

        fs::write(&source, "fn a() { }").unwrap();
        assert!(
            matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("fast.rs changed"))
        );

        let record = record_for(dir.path(), &[&source, &extra]);
        fs::remove_file(&extra).unwrap();
        assert!(
            matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("removed"))
        );

        let record = record_for(dir.path(), &[&source]);
        fs::remove_file(&artifact).unwrap();
        assert!(
            matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("missing"))
        );
    }

    #[test]
    fn toolchain_is_asked_only_when_the_fingerprint_moves() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("fast.rs");
        fs::write(&source, "fn a() {}").unwrap();
        let record = record_for(dir.path(), &[&source]);
        let artifact = dir.path().join("fast.so");
        let same = || Some("rustc 1.95.0".to_string());
        let moved = Expected {
            toolchain_fingerprint: "other",
            ..expected(&same)
        };
        assert!(
            matches!(record.check(&artifact, &moved), Freshness::FreshWithNewStats(r) if r.toolchain.fingerprint == "other")
        );
        let newer = || Some("rustc 1.96.0".to_string());
        let upgraded = Expected {
            toolchain_fingerprint: "other",
            ..expected(&newer)
        };
        assert!(
            matches!(record.check(&artifact, &upgraded), Freshness::Stale(r) if r.contains("toolchain"))
        );
    }

    #[test]
    fn new_file_matching_a_glob_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("fast.rs");
        fs::write(&source, "fn a() {}").unwrap();
        let mut record = record_for(dir.path(), &[&source]);
        record.globs = vec![format!("{}/*.txt", dir.path().display())];
        let none = || None;
        let artifact = dir.path().join("fast.so");
        assert_eq!(record.check(&artifact, &expected(&none)), Freshness::Fresh);
        fs::write(dir.path().join("new.txt"), "data").unwrap();
        assert!(
            matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("new.txt is new"))
        );
    }

    #[test]
    fn corrupt_or_foreign_records_are_not_trusted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        fs::write(&path, "{ not json").unwrap();
        assert_eq!(BuildRecord::read(&path), None);
        fs::write(&path, "").unwrap();
        assert_eq!(BuildRecord::read(&path), None);
        let source = dir.path().join("fast.rs");
        fs::write(&source, "fn a() {}").unwrap();
        let mut record = record_for(dir.path(), &[&source]);
        record.write(&path).unwrap();
        assert_eq!(BuildRecord::read(&path).as_ref(), Some(&record));
        record.format = RECORD_FORMAT + 1;
        record.write(&path).unwrap();
        assert_eq!(BuildRecord::read(&path), None);
    }
}
