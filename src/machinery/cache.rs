//! The build cache's layout: one folder per interpreter ABI (a partition) holding the
//! records and libraries of its modules, addressed by a bucket and a key (a name and the
//! absolute path of what it is built from), and the cargo target directory where
//! dependencies such as pyo3 compile once for every environment made from that
//! interpreter. Stable-ABI (abi3) builds compile in one partition shared by every CPython
//! that can load them (see `stable_abi`). The cache knows nothing of sources or projects.
//!
//! ```text
//! <build root>/<abi tag>/target/            cargo target directory of version-specific builds
//! <build root>/<abi tag>/Cargo.lock.seed    lock file new modules start from
//! <build root>/<abi tag>/toolchain.json     the remembered `rustc -vV`
//! <build root>/<abi tag>/<bucket>/<name>-<key>/
//!     record.json   build.lock   crate/ (generated crate)   <name>.<build id><EXT_SUFFIX>
//! <build root>/cpython-abi3-<platform>/target/, Cargo.lock.seed
//!                                           where stable-ABI builds of every CPython compile
//! <build root>/cpython-abi3-<platform>/<bucket>/<name>-<key>/
//!                                           stable-ABI modules, loaded by every CPython
//!                                           from their floor on (see `placement`)
//! <build root>/editable-<key>.json          the project index's remembered scan
//! ```
//!
//! The toolchain, profile and features share a target directory without meeting: cargo
//! keys every artifact on them. A `CARGO_TARGET_DIR` in the environment holds one
//! folder per partition (`$CARGO_TARGET_DIR/<abi tag>/`, `…/cpython-abi3-<platform>/`).

use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::fsutil::{check_private, create_private_dir, short_hash};
use crate::machinery::freshness::BuildRecord;
use crate::machinery::stable_abi::{self, Pyo3Config, StableAbiSupport};
use crate::platform;
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
    /// This interpreter's partition: module records and libraries, and its compile
    /// partition for version-specific builds.
    pub abi_dir: PathBuf,
    root: PathBuf,
    /// The base interpreter, which version-specific builds are configured for.
    interpreter: PathBuf,
    stable_abi: Option<StableAbiSupport>,
}

/// Where cargo compiles one build: a target directory and the lock-file seeds beside it,
/// with what pyo3 is told about Python there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompilePartition {
    pub dir: PathBuf,
    pub target_dir: PathBuf,
    pub pyo3: Pyo3Config,
    /// In the stable-ABI partition: the floor the library is built for (every CPython
    /// from 3.<floor> on loads it). `None` in an interpreter's own partition.
    pub stable_abi_floor: Option<u32>,
}

impl BuildCache {
    /// The cache of these settings and this interpreter. Libraries are loaded from it,
    /// so the build folder and its ABI folder must be private: a folder another user can
    /// write to (or owns) is refused.
    pub fn open(settings: &Settings, python: &PythonEnv) -> Result<BuildCache> {
        let abi_dir = settings.build_root.join(python.abi_tag());
        check_private(&settings.build_root)?;
        check_private(&abi_dir)?;
        Ok(BuildCache {
            abi_dir,
            root: settings.build_root.clone(),
            interpreter: python.base_executable.clone(),
            stable_abi: stable_abi::support(python),
        })
    }

    /// Where a crate compiles: the stable-ABI partition shared by every CPython when the
    /// crate asks for the stable ABI at a floor this interpreter meets (`floor`, from
    /// [`stable_abi::stable_abi_floor`]), else this interpreter's partition. The shared
    /// one holds what is compiled into loaded libraries, so it must be private too.
    pub fn compile_partition(&self, floor: Option<u32>) -> Result<CompilePartition> {
        let (dir, pyo3, stable_abi_floor) = match (&self.stable_abi, floor) {
            (Some(support), Some(floor)) if floor <= support.minor => {
                let dir = self.root.join(&support.partition);
                check_private(&dir)?;
                create_private_dir(&dir)?;
                (dir, Pyo3Config::StableAbi, Some(floor))
            }
            _ => (
                self.abi_dir.clone(),
                Pyo3Config::Interpreter(self.interpreter.clone()),
                None,
            ),
        };
        let target_dir = target_dir_in(&dir);
        // What compiles there is linked into libraries Python loads: a CARGO_TARGET_DIR
        // from the environment must be as private as the cache, and so must the
        // partition's folder in it.
        if let Some(shared) = cargo_target_dir() {
            check_private(&shared)?;
        }
        check_private(&target_dir)?;
        Ok(CompilePartition {
            target_dir,
            dir,
            pyo3,
            stable_abi_floor,
        })
    }

    /// Every target directory builds of this cache may use, for telling rusthook's own
    /// files from the user's.
    pub fn target_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![target_dir_in(&self.abi_dir)];
        if let Some(support) = &self.stable_abi {
            dirs.push(target_dir_in(&self.root.join(&support.partition)));
        }
        dirs
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
            format!("{}\0{variant}", platform::path_key(source_path)).as_bytes(),
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

    /// [`BuildCache::entry`] in the stable-ABI partition every CPython shares, with this
    /// interpreter's minor version; `None` when it cannot load stable-ABI libraries.
    pub fn stable_abi_entry(
        &self,
        bucket: Bucket,
        name: &str,
        source_path: &Path,
        variant: &str,
    ) -> Option<(ModuleCache, u32)> {
        let support = self.stable_abi.as_ref()?;
        let shared = BuildCache {
            abi_dir: self.root.join(&support.partition),
            root: self.root.clone(),
            interpreter: self.interpreter.clone(),
            stable_abi: None,
        };
        Some((
            shared.entry(bucket, name, source_path, variant),
            support.minor,
        ))
    }

    /// The remembered `rustc -vV` of the current toolchain fingerprint.
    pub fn toolchain_file(&self) -> PathBuf {
        self.abi_dir.join("toolchain.json")
    }

    /// A cache under `root` for CPython 3.11 on Linux, without checks.
    #[cfg(test)]
    pub(crate) fn for_tests(root: &Path) -> BuildCache {
        BuildCache {
            abi_dir: root.join("cpython-311-x86_64-linux-gnu"),
            root: root.to_path_buf(),
            interpreter: PathBuf::from("/usr/bin/python3.11"),
            stable_abi: Some(StableAbiSupport {
                partition: "cpython-abi3-x86_64-linux-gnu".into(),
                minor: 11,
            }),
        }
    }
}

impl CompilePartition {
    /// The lock file a new module starts from, so that it resolves to the dependency
    /// versions already compiled in this partition's target directory (and needs no
    /// network to do so). `variant` names a seed of its own (one per pyo3 series).
    pub fn lockfile_seed(&self, variant: Option<&str>) -> PathBuf {
        match variant {
            None => self.dir.join("Cargo.lock.seed"),
            Some(variant) => self.dir.join(format!("Cargo.lock.{variant}.seed")),
        }
    }
}

/// `<partition>/target`, unless `CARGO_TARGET_DIR` says "put every build here": then
/// `$CARGO_TARGET_DIR/<partition name>`. Each partition compiles pyo3 configured for
/// its own Python (an interpreter, or the stable ABI), and the module crates of one
/// source have one name in every partition: in one folder they would overwrite each
/// other's artifacts and rebuild each other at every turn.
fn target_dir_in(partition: &Path) -> PathBuf {
    target_dir_under(partition, cargo_target_dir().as_deref())
}

fn target_dir_under(partition: &Path, cargo_target_dir: Option<&Path>) -> PathBuf {
    match (cargo_target_dir, partition.file_name()) {
        (Some(shared), Some(name)) => shared.join(name),
        _ => partition.join("target"),
    }
}

/// `CARGO_TARGET_DIR`, when it is set (relative to the working directory, as cargo reads it).
fn cargo_target_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(std::env::var_os("CARGO_TARGET_DIR").filter(|v| !v.is_empty())?);
    Some(std::path::absolute(&dir).unwrap_or(dir))
}

/// Where earlier versions remembered their in-place builds (now each carries its own
/// stamp beside it, see `file_importer::in_place`): cleared with the rest.
pub(crate) const IN_PLACE_FOLDER: &str = "in-place";

/// The cache folder of one module.
#[derive(Debug, Clone)]
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
        let cache = BuildCache::for_tests(Path::new("/cache"));
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

    #[test]
    fn stable_abi_builds_compile_in_the_partition_every_cpython_shares() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BuildCache::for_tests(dir.path());
        let shared = cache.compile_partition(Some(9)).unwrap();
        assert_eq!(shared.dir, dir.path().join("cpython-abi3-x86_64-linux-gnu"));
        assert_eq!(shared.target_dir, shared.dir.join("target"));
        assert_eq!(shared.pyo3, Pyo3Config::StableAbi);
        // Version-specific, or a floor above this interpreter: its own partition.
        for floor in [None, Some(12)] {
            let own = cache.compile_partition(floor).unwrap();
            assert_eq!(own.dir, cache.abi_dir);
            assert_eq!(
                own.pyo3,
                Pyo3Config::Interpreter(PathBuf::from("/usr/bin/python3.11"))
            );
        }
        assert_ne!(
            shared.lockfile_seed(None),
            cache.compile_partition(None).unwrap().lockfile_seed(None)
        );
    }

    #[test]
    fn each_partition_compiles_in_a_folder_of_its_own_in_cargo_target_dir() {
        let shared = Path::new("/work/target");
        let cache = BuildCache::for_tests(Path::new("/cache"));
        let stable = Path::new("/cache/cpython-abi3-x86_64-linux-gnu");
        assert_eq!(
            target_dir_under(stable, Some(shared)),
            shared.join("cpython-abi3-x86_64-linux-gnu")
        );
        assert_eq!(
            target_dir_under(&cache.abi_dir, Some(shared)),
            shared.join("cpython-311-x86_64-linux-gnu")
        );
        assert_eq!(target_dir_under(stable, None), stable.join("target"));
    }
}
