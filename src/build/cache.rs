//! The build cache's layout: one folder per interpreter ABI holding the shared cargo
//! target directory (dependencies such as pyo3 compile once per interpreter, for every
//! environment made from it) and one
//! folder per module, addressed by a bucket and a key (a name and the absolute path of
//! what it is built from). The cache knows nothing of sources or projects.
//!
//! ```text
//! <build root>/<abi tag>/target/            shared cargo target directory
//! <build root>/<abi tag>/Cargo.lock.seed    lock file new modules start from
//! <build root>/<abi tag>/toolchain.json     the remembered `rustc -vV`
//! <build root>/<abi tag>/<bucket>/<name>-<key>/
//!     record.json   build.lock   crate/ (generated crate)   <name>.<build id><EXT_SUFFIX>
//! <build root>/<abi tag>/in-place/<name>-<key>.json   what was last written beside a source
//! <build root>/editable-<key>.json          the project index's remembered scan
//! ```

use std::path::{Path, PathBuf};

use crate::build::freshness::BuildRecord;
use crate::error::Result;
use crate::fsutil::{check_private, short_hash};
use crate::settings::{PythonEnv, Settings};

/// The kinds of entry the cache holds, each in a folder of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bucket {
    /// Single files, crates and notebook cells: the generated crate and the library.
    Modules,
    /// Editable maturin projects: only the record and the lock (maturin's install
    /// location holds the library).
    Projects,
}

impl Bucket {
    pub(crate) const ALL: [Bucket; 2] = [Bucket::Modules, Bucket::Projects];

    pub(crate) fn folder(self) -> &'static str {
        match self {
            Bucket::Modules => "modules",
            Bucket::Projects => "projects",
        }
    }
}

pub struct BuildCache {
    pub abi_dir: PathBuf,
    pub target_dir: PathBuf,
}

impl BuildCache {
    /// The cache of these settings and this interpreter. Libraries are loaded from it,
    /// so the build folder and its ABI folder must be private: a folder another user can
    /// write to (or owns) is refused.
    pub fn open(settings: &Settings, python: &PythonEnv) -> Result<BuildCache> {
        let abi_dir = settings.build_root.join(python.abi_tag());
        check_private(&settings.build_root)?;
        check_private(&abi_dir)?;
        // CARGO_TARGET_DIR means "put every build here"; honour it as cargo does.
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| abi_dir.join("target"));
        Ok(BuildCache {
            abi_dir,
            target_dir,
        })
    }

    /// `<abi>/<bucket>/<name>-<key>`: the folder of the module `name` built from
    /// `source_path` (absolute) with the settings `variant` (their fingerprint), so
    /// same-named modules from different places never meet, and a debug and a release
    /// build of one module are both kept.
    pub fn entry(
        &self,
        bucket: Bucket,
        name: &str,
        source_path: &Path,
        variant: &str,
    ) -> ModuleCache {
        let key = short_hash(
            format!("{}\0{variant}", source_path.to_string_lossy()).as_bytes(),
            16,
        );
        ModuleCache {
            dir: self
                .abi_dir
                .join(bucket.folder())
                .join(format!("{name}-{key}")),
            lib_name: format!("{name}_{key}"),
        }
    }

    /// What rusthook last wrote beside the source of `name` at `source_path` (an in-place
    /// build), whatever the settings: only that file may be replaced by a rebuild.
    pub fn in_place_stamp(&self, name: &str, source_path: &Path) -> PathBuf {
        let key = short_hash(source_path.to_string_lossy().as_bytes(), 16);
        self.abi_dir
            .join(IN_PLACE_FOLDER)
            .join(format!("{name}-{key}.json"))
    }

    /// The remembered `rustc -vV` of the current toolchain fingerprint.
    pub fn toolchain_file(&self) -> PathBuf {
        self.abi_dir.join("toolchain.json")
    }

    /// The lock file a new single-file module starts from, so that it resolves to the
    /// dependency versions already compiled in the shared target directory (and needs
    /// no network to do so). `variant` names a seed of its own (one per pyo3 series).
    pub fn lockfile_seed(&self, variant: Option<&str>) -> PathBuf {
        match variant {
            None => self.abi_dir.join("Cargo.lock.seed"),
            Some(variant) => self.abi_dir.join(format!("Cargo.lock.{variant}.seed")),
        }
    }
}

pub(crate) const IN_PLACE_FOLDER: &str = "in-place";

/// The cache folder of one module.
pub struct ModuleCache {
    pub dir: PathBuf,
    /// The cargo lib name of a generated crate: unique per source path.
    pub lib_name: String,
}

impl ModuleCache {
    pub fn record_path(&self) -> PathBuf {
        self.dir.join("record.json")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.dir.join("build.lock")
    }

    pub fn crate_dir(&self) -> PathBuf {
        self.dir.join("crate")
    }

    pub fn artifact_path(&self, file_name: &str) -> PathBuf {
        self.dir.join(file_name)
    }

    /// The record of the last build, if there is a readable one.
    pub fn read_record(&self) -> Option<BuildRecord> {
        BuildRecord::read(&self.record_path())
    }
}

/// The ABI folders (partitions) under a build root: the ones rusthook made (they hold
/// a bucket, `target/` or the lock-file seed). Anything else in the folder is not ours.
pub(crate) fn abi_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            Bucket::ALL.iter().any(|b| p.join(b.folder()).is_dir())
                || p.join("target").is_dir()
                || p.join("Cargo.lock.seed").is_file()
        })
        .collect();
    dirs.sort();
    dirs
}

/// The module and project folders of one partition.
pub(crate) fn entry_dirs(abi_dir: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = Bucket::ALL
        .iter()
        .filter_map(|bucket| std::fs::read_dir(abi_dir.join(bucket.folder())).ok())
        .flat_map(|entries| entries.flatten().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

/// `<root>/editable-<key>.json`: the project importer's remembered scan of one set of
/// site-packages folders (see `project::EditableScan`).
pub fn editable_scan_path(root: &Path, key: &str) -> PathBuf {
    root.join(format!("editable-{key}.json"))
}

/// `editable-<key>.json`, a file [`editable_scan_path`] names.
pub(crate) fn is_editable_scan(file_name: &str) -> bool {
    file_name.starts_with("editable-") && file_name.ends_with(".json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_on_bucket_name_and_absolute_source_path() {
        let cache = BuildCache {
            abi_dir: PathBuf::from("/cache/cpython-311"),
            target_dir: PathBuf::from("/cache/cpython-311/target"),
        };
        let entry = |path: &str| cache.entry(Bucket::Modules, "fast", Path::new(path), "debug");
        let (a, b) = (entry("/one/fast.rs"), entry("/two/fast.rs"));
        assert_ne!(a.dir, b.dir);
        assert_ne!(a.lib_name, b.lib_name);
        assert!(a.lib_name.starts_with("fast_"));
        assert_eq!(a.dir, entry("/one/fast.rs").dir);
        let release = cache.entry(
            Bucket::Modules,
            "fast",
            Path::new("/one/fast.rs"),
            "release",
        );
        assert_ne!(a.dir, release.dir);
        let project = cache.entry(Bucket::Projects, "fast", Path::new("/one/fast.rs"), "debug");
        assert_ne!(a.dir, project.dir);
    }
}
