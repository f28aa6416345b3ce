//! The build cache's layout: one folder per interpreter ABI holding the shared cargo
//! target directory (dependencies such as pyo3 compile once per environment) and one
//! folder per module, keyed on the absolute source path.
//!
//! ```text
//! <build root>/<abi tag>/target/            shared cargo target directory
//! <build root>/<abi tag>/Cargo.lock.seed    lock file new modules start from
//! <build root>/<abi tag>/modules/<name>-<key>/
//!     record.json   build.lock   crate/ (generated crate)   <name>.<build id><EXT_SUFFIX>
//! ```

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::finder::Source;
use crate::freshness::hex;
use crate::project::Project;
use crate::settings::{PythonEnv, Settings};

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

    pub fn module(&self, source: &Source) -> ModuleCache {
        self.keyed("modules", &source.name, &source.path)
    }

    /// The cache folder of an editable maturin project: its build record and lock (the
    /// library itself is installed where maturin put it).
    pub fn project(&self, project: &Project) -> ModuleCache {
        self.keyed("projects", &project.import_name, &project.root)
    }

    /// `<abi>/<kind>/<name>-<key>`, keyed on the absolute source path.
    fn keyed(&self, kind: &str, name: &str, source_path: &Path) -> ModuleCache {
        let digest = Sha256::digest(source_path.to_string_lossy().as_bytes());
        let key = hex(&digest[..8]);
        ModuleCache {
            dir: self.abi_dir.join(kind).join(format!("{name}-{key}")),
            lib_name: format!("{name}_{key}"),
        }
    }

    /// The remembered `rustc -vV` of the current toolchain fingerprint.
    pub fn toolchain_file(&self) -> PathBuf {
        self.abi_dir.join("toolchain.json")
    }

    /// The lock file a new single-file module starts from, so that it resolves to the
    /// dependency versions already compiled in the shared target directory (and needs
    /// no network to do so).
    pub fn lockfile_seed(&self) -> PathBuf {
        self.abi_dir.join("Cargo.lock.seed")
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
    std::fs::read_dir(abi_dir.join("modules"))
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
            match crate::lock::try_acquire(&lock_path)? {
                Some(lock) => held.push(lock),
                None => return Err(Error::CacheBusy { path: lock_path }),
            }
        }
    }
    let freed = summarize(root).iter().map(|s| s.bytes).sum();
    for abi_dir in &abi_dirs {
        for name in ["modules", "projects", "target"] {
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

/// Refuses a cache folder that another user owns or that others may write to: a
/// library in it could have been swapped for someone else's code.
pub fn check_private(path: &Path) -> Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let Ok(metadata) = std::fs::metadata(path) else {
            return Ok(()); // not created yet: it will be, privately
        };
        // SAFETY: geteuid(2) has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        let reason = if metadata.uid() != me {
            Some(format!(
                "it belongs to another user (uid {})",
                metadata.uid()
            ))
        } else if metadata.mode() & 0o022 != 0 {
            Some(format!(
                "other users can write to it (mode {:o})",
                metadata.mode() & 0o777
            ))
        } else {
            None
        };
        if let Some(reason) = reason {
            return Err(Error::InsecureCache {
                path: path.to_path_buf(),
                reason,
            });
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// Creates a folder (and its parents) readable and writable by the owner only.
pub fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| {
        let unwritable = matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied
                | std::io::ErrorKind::ReadOnlyFilesystem
                | std::io::ErrorKind::NotADirectory
        );
        Error::Io {
            action: if unwritable {
                "cannot create the build folder (set RUSTHOOK_BUILD_DIR or build_dir= to a writable folder)"
            } else {
                "cannot create the build folder"
            },
            path: path.to_path_buf(),
            source,
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finder::SourceKind;

    #[test]
    fn modules_are_keyed_on_the_absolute_source_path() {
        let cache = BuildCache {
            abi_dir: PathBuf::from("/cache/cpython-311"),
            target_dir: PathBuf::from("/cache/cpython-311/target"),
        };
        let source = |path: &str| Source {
            name: "fast".into(),
            kind: SourceKind::File,
            path: PathBuf::from(path),
        };
        let a = cache.module(&source("/one/fast.rs"));
        let b = cache.module(&source("/two/fast.rs"));
        assert_ne!(a.dir, b.dir);
        assert_ne!(a.lib_name, b.lib_name);
        assert!(a.lib_name.starts_with("fast_"));
        assert_eq!(a.dir, cache.module(&source("/one/fast.rs")).dir);
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

        let building = crate::lock::try_acquire(&module.join("build.lock"))
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

    #[cfg(unix)]
    #[test]
    fn folders_others_can_write_to_are_refused() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache");
        assert!(check_private(&path).is_ok(), "a missing folder is fine");
        create_private_dir(&path).unwrap();
        assert!(check_private(&path).is_ok());
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = check_private(&path).unwrap_err().to_string();
        assert!(
            err.contains("other users can write to it (mode 777)"),
            "{err}"
        );
        assert!(err.contains("chmod 700"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn cache_folders_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a/b");
        create_private_dir(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
