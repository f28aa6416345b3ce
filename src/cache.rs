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
        let digest = Sha256::digest(source.path.to_string_lossy().as_bytes());
        let key = hex(&digest[..8]);
        ModuleCache {
            dir: self
                .abi_dir
                .join("modules")
                .join(format!("{}-{key}", source.name)),
            lib_name: format!("{}_{key}", source.name),
        }
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

/// Creates a folder (and its parents) readable and writable by the owner only.
pub fn create_private_dir(path: &Path) -> Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path).map_err(|source| {
        let unwritable = matches!(
            source.kind(),
            std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
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
