//! The build cache's layout: one folder per interpreter ABI holding the shared cargo
//! target directory (dependencies such as pyo3 compile once per environment) and one
//! folder per module, addressed by a bucket and a key (a name and the absolute path of
//! what it is built from). The cache knows nothing of sources or projects.
//!
//! ```text
//! <build root>/<abi tag>/target/            shared cargo target directory
//! <build root>/<abi tag>/Cargo.lock.seed    lock file new modules start from
//! <build root>/<abi tag>/toolchain.json     the remembered `rustc -vV`
//! <build root>/<abi tag>/<bucket>/<name>-<key>/
//!     record.json   build.lock   crate/ (generated crate)   <name>.<build id><EXT_SUFFIX>
//! <build root>/editable-<key>.json          the project index's remembered scan
//! ```

use std::path::{Path, PathBuf};

use crate::build::freshness::BuildRecord;
use crate::error::{Error, Result};
use crate::fsutil::short_hash;
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
    const ALL: [Bucket; 2] = [Bucket::Modules, Bucket::Projects];

    fn folder(self) -> &'static str {
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
    pub fn new(settings: &Settings, python: &PythonEnv) -> BuildCache {
        let abi_dir = settings.build_root.join(python.abi_tag());
        // CARGO_TARGET_DIR means "put every build here"; honour it as cargo does.
        let target_dir = std::env::var_os("CARGO_TARGET_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| abi_dir.join("target"));
        BuildCache {
            abi_dir,
            target_dir,
        }
    }

    /// `<abi>/<bucket>/<name>-<key>`: the folder of the module `name` built from
    /// `source_path` (absolute), so same-named modules from different places never meet.
    pub fn entry(&self, bucket: Bucket, name: &str, source_path: &Path) -> ModuleCache {
        let key = short_hash(source_path.to_string_lossy().as_bytes(), 16);
        ModuleCache {
            dir: self
                .abi_dir
                .join(bucket.folder())
                .join(format!("{name}-{key}")),
            lib_name: format!("{name}_{key}"),
        }
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

/// What one ABI folder of the cache holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AbiSummary {
    pub abi_dir: PathBuf,
    pub modules: usize,
    pub bytes: u64,
}

/// The ABI folders under a build root: the ones rusthook made (they hold `modules/`,
/// `target/` or the lock-file seed). Anything else in the folder is not ours.
fn abi_dirs(root: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(root) else {
        return Vec::new();
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.join("modules").is_dir()
                || p.join("target").is_dir()
                || p.join("Cargo.lock.seed").is_file()
        })
        .collect();
    dirs.sort();
    dirs
}

fn module_dirs(abi_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(abi_dir.join(Bucket::Modules.folder()))
        .map(|entries| {
            entries
                .flatten()
                .map(|e| e.path())
                .filter(|p| p.is_dir())
                .collect()
        })
        .unwrap_or_default()
}

/// Size and module count of each ABI folder under `root`.
pub fn summarize(root: &Path) -> Vec<AbiSummary> {
    abi_dirs(root)
        .into_iter()
        .map(|abi_dir| {
            let bytes = walkdir::WalkDir::new(&abi_dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.metadata().ok())
                .filter(|m| m.is_file())
                .map(|m| m.len())
                .sum();
            AbiSummary {
                modules: module_dirs(&abi_dir).len(),
                abi_dir,
                bytes,
            }
        })
        .collect()
}

/// `<root>/editable-<key>.json`: the project importer's remembered scan of one set of
/// site-packages folders (see `project::EditableScan`).
pub fn editable_scan_path(root: &Path, key: &str) -> PathBuf {
    root.join(format!("editable-{key}.json"))
}

fn is_editable_scan(file_name: &str) -> bool {
    file_name.starts_with("editable-") && file_name.ends_with(".json")
}

/// Deletes every build under `root` (only what rusthook made). Refuses, changing
/// nothing, while any module's build lock is held. Returns the bytes freed.
pub fn clear(root: &Path) -> Result<u64> {
    let abi_dirs = abi_dirs(root);
    let mut held = Vec::new();
    for abi_dir in &abi_dirs {
        for module_dir in module_dirs(abi_dir) {
            let lock_path = module_dir.join("build.lock");
            match crate::build::lock::try_acquire(&lock_path)? {
                Some(lock) => held.push(lock),
                None => return Err(Error::CacheBusy { path: lock_path }),
            }
        }
    }
    let freed = summarize(root).iter().map(|s| s.bytes).sum();
    for abi_dir in &abi_dirs {
        let folders = Bucket::ALL.map(Bucket::folder);
        for name in folders.iter().chain(&["target"]) {
            let path = abi_dir.join(name);
            if path.exists() {
                std::fs::remove_dir_all(&path).map_err(Error::io("cannot remove", &path))?;
            }
        }
        let seed = abi_dir.join("Cargo.lock.seed");
        if seed.exists() {
            std::fs::remove_file(&seed).map_err(Error::io("cannot remove", &seed))?;
        }
        let _ = std::fs::remove_dir(abi_dir); // only if now empty
    }
    for entry in std::fs::read_dir(root).into_iter().flatten().flatten() {
        if entry.file_name().to_str().is_some_and(is_editable_scan) {
            let path = entry.path();
            std::fs::remove_file(&path).map_err(Error::io("cannot remove", &path))?;
        }
    }
    drop(held);
    Ok(freed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::create_private_dir;

    #[test]
    fn entries_are_keyed_on_bucket_name_and_absolute_source_path() {
        let cache = BuildCache {
            abi_dir: PathBuf::from("/cache/cpython-311"),
            target_dir: PathBuf::from("/cache/cpython-311/target"),
        };
        let entry = |path: &str| cache.entry(Bucket::Modules, "fast", Path::new(path));
        let (a, b) = (entry("/one/fast.rs"), entry("/two/fast.rs"));
        assert_ne!(a.dir, b.dir);
        assert_ne!(a.lib_name, b.lib_name);
        assert!(a.lib_name.starts_with("fast_"));
        assert_eq!(a.dir, entry("/one/fast.rs").dir);
        let project = cache.entry(Bucket::Projects, "fast", Path::new("/one/fast.rs"));
        assert_ne!(a.dir, project.dir);
    }

    #[test]
    fn clear_removes_only_rusthooks_folders_and_refuses_while_building() {
        let root = tempfile::tempdir().unwrap();
        let module = root.path().join("cpython-311/modules/fast-0123");
        create_private_dir(&module).unwrap();
        std::fs::write(module.join("fast.so"), vec![0u8; 1000]).unwrap();
        create_private_dir(&root.path().join("cpython-311/target/debug")).unwrap();
        std::fs::write(root.path().join("unrelated.txt"), "keep me").unwrap();
        std::fs::create_dir(root.path().join("other-folder")).unwrap();
        let scan = editable_scan_path(root.path(), "0123456789abcdef");
        std::fs::write(&scan, "{}").unwrap();

        let summary = summarize(root.path());
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].modules, 1);
        assert!(summary[0].bytes >= 1000);

        let building = crate::build::lock::try_acquire(&module.join("build.lock"))
            .unwrap()
            .unwrap();
        let err = clear(root.path()).unwrap_err();
        assert!(matches!(err, Error::CacheBusy { .. }), "{err}");
        assert!(
            module.join("fast.so").exists(),
            "a refused clear changes nothing"
        );
        drop(building);

        assert!(clear(root.path()).unwrap() >= 1000);
        assert!(!root.path().join("cpython-311").exists());
        assert!(root.path().join("unrelated.txt").exists());
        assert!(root.path().join("other-folder").exists());
        assert!(!scan.exists());
        assert!(summarize(root.path()).is_empty());
    }
}
