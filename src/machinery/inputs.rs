//! What a build reads, in one place. A record is only as good as this list: whatever
//! cargo would rebuild for must be here, or an import could load a library built from
//! other inputs. The list, and where each part comes from:
//!
//! - **files**: the primary inputs (the source, the crate's Cargo.toml and marker
//!   files, `//d:` globs), every file in cargo's dep-info (each local package's sources,
//!   `include_str!`/`include_bytes!` files, `#[path]` modules, build scripts'
//!   `rerun-if-changed` paths: cargo adds those to its dep-info), the manifests of the
//!   local packages compiled, the lock file;
//! - **cargo configuration**: `.cargo/config.toml` and `.cargo/config` in the folder
//!   cargo runs in and every folder above, and in `CARGO_HOME`; `rust-toolchain` and
//!   `rust-toolchain.toml` in the same folders (rustup's proxy reads them): tracked when
//!   present, and their absence recorded, so one appearing makes the build stale;
//! - **environment variables**, by a hash of their value (unset and empty differ; the
//!   bytes are compared, so a value that is not UTF-8 is tracked too): the ones cargo and
//!   rustc read ([`NAMED_VARIABLES`], every variable of the [`VARIABLE_FAMILIES`]), the
//!   `# env-dep:` lines of rustc's dep-info of each local crate (`env!`,
//!   `option_env!`), and every build script's `rerun-if-env-changed`;
//! - the settings fingerprint (profile, features, cargo arguments, rusthook's version,
//!   which is the template's, and the Python ABI) and the toolchain live in the record
//!   itself (`freshness`).
//!
//! Stamped before cargo runs where they are known then (an edit made while cargo runs
//! must make the build stale, not be recorded as built), completed afterwards: a file
//! by its size, mtime and sha256 ([`TrackedFile`]; a TOML file by the data it holds, a
//! folder by its listing), a variable by a hash of its value ([`TrackedVariable`]).
//! Files inside the build cache are rusthook's own, never inputs. The record that keeps
//! the stamps, and the check against them, are `freshness`'s.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil::{hash_file, hex, mtime_ns};
use crate::machinery::cargo::CargoOutput;
use crate::platform;

mod dep_info;
pub use dep_info::{read_dep_info, read_env_deps, read_rerun_env, rustc_dep_infos};

mod variables;
pub use variables::{
    changed_variable, describe_variables, value_hash, variables_read, TrackedVariable,
    NAMED_VARIABLES, VARIABLE_FAMILIES,
};

/// One file a build read, as it was when the build started.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedFile {
    pub path: PathBuf,
    pub size: u64,
    pub mtime_ns: i64,
    pub sha256: String,
    /// How `sha256` was taken.
    #[serde(default, skip_serializing_if = "Content::is_bytes")]
    pub content: Content,
}

/// What a tracked file's hash covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Content {
    /// Its bytes.
    #[default]
    Bytes,
    /// The TOML data it holds (comments and layout left out); its bytes when it is not
    /// valid TOML.
    Toml,
    /// A folder (a build script's `rerun-if-changed` may name one): the names, sizes and
    /// mtimes of everything in it, as cargo compares them; checked on every import.
    Folder,
}

impl Content {
    fn is_bytes(&self) -> bool {
        *self == Content::Bytes
    }

    /// How a file is hashed: TOML for manifests and cargo's configuration.
    pub fn of(path: &Path, metadata: &fs::Metadata) -> Content {
        if metadata.is_dir() {
            return Content::Folder;
        }
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        let in_cargo_dir = path
            .parent()
            .and_then(Path::file_name)
            .is_some_and(|dir| dir == ".cargo");
        match name {
            "Cargo.toml" | "pyproject.toml" | "rust-toolchain.toml" => Content::Toml,
            "config" | "config.toml" if in_cargo_dir => Content::Toml,
            _ => Content::Bytes,
        }
    }

    /// The hash of `path` this way.
    pub fn hash(self, path: &Path) -> io::Result<String> {
        match self {
            Content::Bytes => hash_file(path),
            Content::Toml => {
                let bytes = fs::read(path)?;
                let data = std::str::from_utf8(&bytes)
                    .ok()
                    .and_then(|text| text.parse::<toml::Table>().ok());
                Ok(match data {
                    Some(table) => format!("toml:{}", sha256_hex(table.to_string().as_bytes())),
                    None => sha256_hex(&bytes),
                })
            }
            Content::Folder => {
                let mut listing = String::new();
                list_folder(path, path, &mut listing)?;
                Ok(sha256_hex(listing.as_bytes()))
            }
        }
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(bytes))
}

/// Every entry below `dir`: its path, size and mtime, one line each, sorted.
fn list_folder(root: &Path, dir: &Path, out: &mut String) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let metadata = entry.metadata()?;
        let relative = path.strip_prefix(root).unwrap_or(&path);
        out.push_str(&format!(
            "{}\t{}\t{}\n",
            relative.display(),
            metadata.len(),
            mtime_ns(&metadata)
        ));
        if metadata.is_dir() {
            list_folder(root, &path, out)?;
        }
    }
    Ok(())
}

/// Stats and hashes one file for a record.
pub fn track(path: &Path) -> io::Result<TrackedFile> {
    let metadata = fs::metadata(path)?;
    let content = Content::of(path, &metadata);
    Ok(TrackedFile {
        path: path.to_path_buf(),
        size: metadata.len(),
        mtime_ns: mtime_ns(&metadata),
        sha256: content.hash(path)?,
        content,
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

/// Everything a build read, for its record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildInputs {
    pub files: Vec<TrackedFile>,
    /// Files cargo or rustup would read if they existed (configuration, toolchain files).
    pub absent: Vec<PathBuf>,
    pub variables: Vec<TrackedVariable>,
    /// Why what the build read cannot be confirmed (an unreadable dep-info): such a
    /// record is never fresh.
    pub unconfirmed: Option<String>,
}

/// What cargo reported reading, besides the primary inputs.
pub struct CargoReads<'a> {
    /// Cargo's dep-info of the library (`target/<profile>/lib<name>.d`).
    pub dep_info: PathBuf,
    /// Cargo.toml of every local package compiled.
    pub local_manifests: &'a [PathBuf],
    /// The files of each local package's artifacts (rustc's dep-info is beside them).
    pub local_artifacts: &'a [PathBuf],
    /// Every build script's `output` file.
    pub script_outputs: &'a [PathBuf],
    /// The manifest cargo built (its lock file is found from it).
    pub manifest_path: &'a Path,
    /// The folder cargo ran in (where its configuration search starts).
    pub working_dir: &'a Path,
}

impl<'a> CargoReads<'a> {
    /// What `output` reports of a build of `manifest_path`, run in `working_dir`.
    pub fn of(output: &'a CargoOutput, manifest_path: &'a Path, working_dir: &'a Path) -> Self {
        CargoReads {
            dep_info: output.library.with_extension("d"),
            local_manifests: &output.local_manifests,
            local_artifacts: &output.local_artifacts,
            script_outputs: &output.script_outputs,
            manifest_path,
            working_dir,
        }
    }
}

/// Stamps of the inputs known before a build.
pub struct InputStamps(HashMap<PathBuf, TrackedFile>);

impl InputStamps {
    /// Stamps `primary` and every file the previous build read (`previous`: its record's
    /// files).
    pub fn before_build(primary: &[PathBuf], previous: &[TrackedFile]) -> Result<InputStamps> {
        let known = primary
            .iter()
            .cloned()
            .chain(previous.iter().map(|f| f.path.clone()));
        Ok(InputStamps(
            track_all(known)?
                .into_iter()
                .map(|file| (file.path.clone(), file))
                .collect(),
        ))
    }

    /// What the build read: the primary inputs, what cargo reported, cargo's
    /// configuration and the variables. Stamped before the build where they were known
    /// then. Files inside the build cache (`abi_dir`, the partition of the module, and
    /// the cargo `target_dirs` of the cache) are rusthook's own.
    pub fn inputs_read(
        &self,
        primary: Vec<PathBuf>,
        reads: &CargoReads,
        abi_dir: &Path,
        target_dirs: &[PathBuf],
    ) -> Result<BuildInputs> {
        let mut unconfirmed = None;
        let mut read = primary;
        match read_dep_info(&reads.dep_info) {
            Ok(files) => read.extend(files),
            Err(error) => {
                unconfirmed.get_or_insert(unreadable(&reads.dep_info, &error));
            }
        }
        read.extend(reads.local_manifests.iter().cloned());
        read.extend(find_lockfile(reads.manifest_path));
        let (config, absent) = configuration_files(reads.working_dir);
        read.extend(config);

        let mut variable_names: Vec<String> = Vec::new();
        for dep_info in rustc_dep_infos(reads.local_artifacts) {
            match read_env_deps(&dep_info) {
                Ok(names) => variable_names.extend(names),
                Err(error) => {
                    unconfirmed.get_or_insert(unreadable(&dep_info, &error));
                }
            }
        }
        for output in reads.script_outputs {
            match read_rerun_env(output) {
                Ok(names) => variable_names.extend(names),
                Err(error) => {
                    unconfirmed.get_or_insert(unreadable(output, &error));
                }
            }
        }
        if let Some(reason) = &unconfirmed {
            log::warn!(target: "rusthook.freshness", "{reason}; the next import builds again");
        }
        Ok(BuildInputs {
            files: self.stamp_outside_cache(read, abi_dir, target_dirs)?,
            absent,
            variables: variables_read(variable_names),
            unconfirmed,
        })
    }

    /// Only the files: for builds cargo reports nothing of (`maturin develop`).
    pub fn files_read(
        &self,
        primary: Vec<PathBuf>,
        dep_info: &Path,
        working_dir: &Path,
        abi_dir: &Path,
        target_dirs: &[PathBuf],
    ) -> Result<BuildInputs> {
        let mut read = primary;
        let mut unconfirmed = None;
        match read_dep_info(dep_info) {
            Ok(files) => read.extend(files),
            Err(error) => unconfirmed = Some(unreadable(dep_info, &error)),
        }
        let (config, absent) = configuration_files(working_dir);
        read.extend(config);
        Ok(BuildInputs {
            files: self.stamp_outside_cache(read, abi_dir, target_dirs)?,
            absent,
            variables: variables_read(Vec::new()),
            unconfirmed,
        })
    }

    fn stamp_outside_cache(
        &self,
        read: Vec<PathBuf>,
        abi_dir: &Path,
        target_dirs: &[PathBuf],
    ) -> Result<Vec<TrackedFile>> {
        // A path through a symlink in the cache (a single file's view of its folder) is
        // the user's file.
        let real_abi_dir = platform::canonicalize(abi_dir).unwrap_or(abi_dir.to_path_buf());
        let in_cache = |p: &Path| {
            p.starts_with(abi_dir)
                || p.starts_with(&real_abi_dir)
                || target_dirs.iter().any(|dir| p.starts_with(dir))
        };
        let read = read.into_iter().map(|p| {
            if p.starts_with(abi_dir) {
                platform::canonicalize(&p).unwrap_or(p)
            } else {
                p
            }
        });
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        let mut not_stamped = Vec::new();
        for path in read {
            if in_cache(&path) || !seen.insert(path.clone()) {
                continue;
            }
            match self.0.get(&path) {
                Some(file) => files.push(file.clone()),
                None => not_stamped.push(path),
            }
        }
        files.extend(track_all(not_stamped)?);
        Ok(files)
    }
}

fn unreadable(path: &Path, error: &io::Error) -> String {
    format!(
        "cannot read {} ({error}), so what the build read is not known",
        path.display()
    )
}

/// The configuration files cargo reads for a build run in `working_dir` (and rustup's
/// toolchain files): `(present, absent)`. An absent `.cargo` folder stands for both of
/// its files, so that an up-to-date check costs one `stat` per folder for it.
pub fn configuration_files(working_dir: &Path) -> (Vec<PathBuf>, Vec<PathBuf>) {
    let mut present = Vec::new();
    let mut absent = Vec::new();
    let mut cargo_dirs: Vec<PathBuf> = working_dir
        .ancestors()
        .map(|dir| dir.join(".cargo"))
        .collect();
    let cargo_home = std::env::var_os("CARGO_HOME")
        .filter(|home| !home.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".cargo")));
    if let Some(home) = cargo_home {
        if !cargo_dirs.contains(&home) {
            cargo_dirs.push(home);
        }
    }
    for dir in cargo_dirs {
        if !dir.is_dir() {
            absent.push(dir);
            continue;
        }
        for name in ["config", "config.toml"] {
            let path = dir.join(name);
            if path.is_file() {
                present.push(path);
            } else {
                absent.push(path);
            }
        }
    }
    for dir in working_dir.ancestors() {
        for name in ["rust-toolchain", "rust-toolchain.toml"] {
            let path = dir.join(name);
            if path.is_file() {
                present.push(path);
            } else {
                absent.push(path);
            }
        }
    }
    (present, absent)
}

/// The Cargo.lock a build of `manifest` uses: beside it or in a workspace root above.
pub fn find_lockfile(manifest: &Path) -> Option<PathBuf> {
    manifest
        .ancestors()
        .skip(1)
        .take(8)
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.is_file())
}

#[cfg(test)]
mod tests;
