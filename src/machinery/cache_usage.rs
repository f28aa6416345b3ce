//! What the build cache holds, per partition (one ABI folder) and per module, and
//! pruning it: modules whose source is gone first, then the least recently used, never
//! one whose build is running or whose library a live process has loaded.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::{Error, Result};
use crate::machinery::cache::{abi_dirs, entry_dirs, is_editable_scan, Bucket, IN_PLACE_FOLDER};
use crate::machinery::freshness::BuildRecord;
use crate::machinery::lock;
use crate::platform;

/// One module's folder in the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModuleUse {
    pub dir: PathBuf,
    /// The module's name and its source, from its build record (none when unreadable).
    pub name: Option<String>,
    pub source: Option<PathBuf>,
    pub source_exists: bool,
    pub bytes: u64,
    /// When a file of it was last read or written (day-grained where the file system
    /// updates access times lazily).
    pub last_used: SystemTime,
}

/// One partition of the cache: an ABI folder, its modules and its shared target dir.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionUse {
    pub abi_dir: PathBuf,
    pub modules: Vec<ModuleUse>,
    /// All of the partition, the modules and the target directory included.
    pub bytes: u64,
    /// The last use of any of its modules, or of its target directory: a stable-ABI
    /// partition has no modules of its own, every interpreter's builds compile there.
    pub last_used: SystemTime,
}

/// Every partition under `root`.
pub fn summarize(root: &Path) -> Vec<PartitionUse> {
    abi_dirs(root)
        .into_iter()
        .map(|abi_dir| {
            let modules: Vec<ModuleUse> = entry_dirs(&abi_dir)
                .iter()
                .map(|dir| module_use(dir))
                .collect();
            let last_used = modules
                .iter()
                .map(|m| m.last_used)
                .chain(target_last_used(&abi_dir.join("target")))
                .max()
                .unwrap_or(SystemTime::UNIX_EPOCH);
            PartitionUse {
                modules,
                bytes: folder_size(&abi_dir),
                last_used,
                abi_dir,
            }
        })
        .collect()
}

/// When cargo last wrote into a target directory: every build writes fingerprints
/// (`<profile>/.fingerprint/`) and artifacts (`<profile>/deps/`).
fn target_last_used(target: &Path) -> Option<SystemTime> {
    profile_dirs(target)
        .into_iter()
        .flat_map(|profile| [profile.join(".fingerprint"), profile.join("deps")])
        .filter_map(|dir| dir.metadata().and_then(|m| m.modified()).ok())
        .max()
}

/// `<target>/debug`, `<target>/release`, …: the folders cargo builds a profile in, and
/// `<target>/<triple>/debug`, … where a build names its target (`--target`, on macOS).
fn profile_dirs(target: &Path) -> Vec<PathBuf> {
    let children = |dir: &Path| -> Vec<PathBuf> {
        let entries = fs::read_dir(dir).into_iter().flatten().flatten();
        entries.map(|entry| entry.path()).collect()
    };
    let is_profile = |path: &PathBuf| path.join(".cargo-lock").is_file();
    let mut profiles = Vec::new();
    for child in children(target) {
        if is_profile(&child) {
            profiles.push(child);
        } else {
            profiles.extend(children(&child).into_iter().filter(is_profile));
        }
    }
    profiles
}

/// True while cargo builds in `target`: it holds a file lock on each profile's
/// `.cargo-lock` for the whole build (opened read-only here, so nothing is written).
fn cargo_is_building(target: &Path) -> bool {
    profile_dirs(target).iter().any(|profile| {
        fs::File::open(profile.join(".cargo-lock"))
            .is_ok_and(|file| matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock)))
    })
}

fn module_use(dir: &Path) -> ModuleUse {
    let record = BuildRecord::read(&dir.join("record.json"));
    let mut bytes = 0;
    let mut last_used = SystemTime::UNIX_EPOCH;
    for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
        let Some(metadata) = entry.metadata().ok().filter(|m| m.is_file()) else {
            continue;
        };
        bytes += metadata.len();
        last_used = last_used.max(metadata.modified().unwrap_or(last_used));
        // Loading a library reads it; the record is read by every look at the cache
        // (this one included), so its access time says nothing.
        if entry.file_name() != "record.json" {
            last_used = last_used.max(metadata.accessed().unwrap_or(last_used));
        }
    }
    let source = record.as_ref().map(|r| r.source.clone());
    ModuleUse {
        dir: dir.to_path_buf(),
        name: record.map(|r| r.module),
        source_exists: source.as_deref().is_some_and(Path::exists),
        source,
        bytes,
        last_used,
    }
}

fn folder_size(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

/// Deletes every build under `root` (only what rusthook made). Refuses, changing
/// nothing, while any module's build lock is held. Returns the bytes freed. A module's
/// files go while its lock is held; the lock file and its folder only once the lock is
/// released (Windows cannot delete a file that is open).
pub fn clear(root: &Path) -> Result<u64> {
    let abi_dirs = abi_dirs(root);
    let mut held = Vec::new();
    let mut module_dirs = Vec::new();
    for abi_dir in &abi_dirs {
        for module_dir in entry_dirs(abi_dir) {
            let lock_path = module_dir.join("build.lock");
            match lock::try_acquire(&lock_path)? {
                Some(lock) => held.push(lock),
                None => return Err(Error::CacheBusy { path: lock_path }),
            }
            module_dirs.push(module_dir);
        }
    }
    let freed = summarize(root).iter().map(|p| p.bytes).sum();
    for module_dir in &module_dirs {
        for entry in fs::read_dir(module_dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if entry.file_name() == "build.lock" {
                continue;
            }
            let removed = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                fs::remove_dir_all(&path)
            } else {
                fs::remove_file(&path)
            };
            removed.map_err(Error::io("cannot remove", &path))?;
        }
    }
    drop(held);
    for abi_dir in &abi_dirs {
        let folders = Bucket::ALL.map(Bucket::folder);
        for name in folders.iter().chain(&["target", IN_PLACE_FOLDER]) {
            let path = abi_dir.join(name);
            if path.exists() {
                remove(&path)?;
            }
        }
        let seed = abi_dir.join("Cargo.lock.seed");
        if seed.exists() {
            fs::remove_file(&seed).map_err(Error::io("cannot remove", &seed))?;
        }
        let _ = fs::remove_dir(abi_dir); // only if now empty
    }
    for entry in fs::read_dir(root).into_iter().flatten().flatten() {
        if entry.file_name().to_str().is_some_and(is_editable_scan) {
            let path = entry.path();
            fs::remove_file(&path).map_err(Error::io("cannot remove", &path))?;
        }
    }
    Ok(freed)
}

/// What `cache prune` may remove.
#[derive(Debug, Clone, Default)]
pub struct PruneRequest {
    /// Remove modules not used for this long.
    pub older_than: Option<Duration>,
    /// Remove the least recently used modules, then whole partitions, until the cache
    /// is no larger than this.
    pub max_bytes: Option<u64>,
}

/// One thing `prune` removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Removed {
    pub path: PathBuf,
    pub bytes: u64,
    pub reason: &'static str,
}

/// Removes, in this order: modules whose source no longer exists; modules unused for
/// longer than `older_than`; then, while the cache is larger than `max_bytes`, the least
/// recently used modules and, once a partition has none left, the partition itself.
/// Skips any module whose build lock is held or whose library a live process has
/// loaded (and the partition holding it).
pub fn prune(root: &Path, request: &PruneRequest) -> Result<Vec<Removed>> {
    let loaded = platform::loaded_files(root);
    let now = SystemTime::now();
    let mut removed = Vec::new();
    let mut partitions = summarize(root);
    let mut total: u64 = partitions.iter().map(|p| p.bytes).sum();

    let mut candidates: Vec<(usize, ModuleUse)> = partitions
        .iter()
        .enumerate()
        .flat_map(|(index, p)| p.modules.iter().map(move |m| (index, m.clone())))
        .collect();
    // Gone sources first, then oldest first.
    candidates.sort_by_key(|(_, m)| (m.source_exists, m.last_used));
    for (index, module) in candidates {
        let unused_for = now.duration_since(module.last_used).unwrap_or_default();
        let reason = if module.source.is_some() && !module.source_exists {
            "its source no longer exists"
        } else if request.older_than.is_some_and(|limit| unused_for > limit) {
            "not used for longer than --older-than"
        } else if request.max_bytes.is_some_and(|max| total > max) {
            "least recently used, over --max-size"
        } else {
            continue;
        };
        if is_in_use(&module.dir, loaded.as_ref())? {
            continue;
        }
        // Windows cannot delete a loaded library, and tells only now.
        let removed_whole = platform::remove_dir_unless_loaded(&module.dir)
            .map_err(Error::io("cannot remove", &module.dir))?;
        if !removed_whole {
            continue;
        }
        total = total.saturating_sub(module.bytes);
        partitions[index].modules.retain(|m| m.dir != module.dir);
        removed.push(Removed {
            path: module.dir,
            bytes: module.bytes,
            reason,
        });
    }
    if let Some(max) = request.max_bytes {
        // Oldest partition first.
        partitions.sort_by_key(|p| p.last_used);
        for partition in partitions {
            if total <= max {
                break;
            }
            let target = partition.abi_dir.join("target");
            if !partition.modules.is_empty() || !target.exists() || cargo_is_building(&target) {
                continue;
            }
            let bytes = folder_size(&partition.abi_dir);
            remove(&partition.abi_dir)?;
            total = total.saturating_sub(bytes);
            removed.push(Removed {
                path: partition.abi_dir,
                bytes,
                reason: "a partition with no modules left, over --max-size",
            });
        }
    }
    Ok(removed)
}

/// True when a build of the module is running, or a live process has loaded a file of
/// it (`None`: what is loaded cannot be known here, so any library may be).
fn is_in_use(dir: &Path, loaded: Option<&HashSet<PathBuf>>) -> Result<bool> {
    let may_be_loaded = match loaded {
        Some(loaded) => loaded.iter().any(|file| file.starts_with(dir)),
        None => true,
    };
    if may_be_loaded {
        return Ok(true);
    }
    Ok(lock::try_acquire(&dir.join("build.lock"))?.is_none())
}

fn remove(path: &Path) -> Result<()> {
    fs::remove_dir_all(path).map_err(Error::io("cannot remove", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fsutil::create_private_dir;
    use crate::machinery::freshness::{ToolchainId, RECORD_FORMAT};

    fn module(root: &Path, name: &str, source: &Path, bytes: usize, days_ago: u64) -> PathBuf {
        let dir = root
            .join("cpython-311/modules")
            .join(format!("{name}-0123"));
        create_private_dir(&dir).unwrap();
        let record = BuildRecord {
            format: RECORD_FORMAT,
            module: name.into(),
            source: source.to_path_buf(),
            settings: "s".into(),
            toolchain: ToolchainId {
                fingerprint: "f".into(),
                version: "v".into(),
            },
            profile: "dev".into(),
            artifact: format!("{name}.so"),
            declarations: None,
            stub: None,
            files: Vec::new(),
            globs: Vec::new(),
        };
        record.write(&dir.join("record.json")).unwrap();
        fs::write(dir.join(format!("{name}.so")), vec![0u8; bytes]).unwrap();
        let then = SystemTime::now() - Duration::from_secs(days_ago * 86_400);
        for file in fs::read_dir(&dir).unwrap().flatten() {
            let file = fs::File::options().write(true).open(file.path()).unwrap();
            file.set_times(fs::FileTimes::new().set_accessed(then).set_modified(then))
                .unwrap();
        }
        dir
    }

    #[test]
    fn gone_sources_first_then_the_oldest_and_never_a_building_module() {
        let root = tempfile::tempdir().unwrap();
        let sources = tempfile::tempdir().unwrap();
        let live = sources.path().join("live.rs");
        fs::write(&live, "").unwrap();
        let gone = module(root.path(), "gone", &sources.path().join("gone.rs"), 10, 1);
        let old = module(root.path(), "old", &live, 100, 40);
        let recent = module(root.path(), "recent", &live, 1000, 0);
        create_private_dir(&root.path().join("cpython-311/target")).unwrap();
        fs::write(
            root.path().join("cpython-311/target/libpyo3.rlib"),
            [0u8; 50],
        )
        .unwrap();

        let summary = summarize(root.path());
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].modules.len(), 3);

        let removed = prune(root.path(), &PruneRequest::default()).unwrap();
        assert_eq!(removed.len(), 1);
        assert_eq!(removed[0].path, gone);
        assert_eq!(removed[0].reason, "its source no longer exists");

        let month = PruneRequest {
            older_than: Some(Duration::from_secs(30 * 86_400)),
            ..Default::default()
        };
        let removed = prune(root.path(), &month).unwrap();
        assert_eq!(removed.iter().map(|r| &r.path).collect::<Vec<_>>(), [&old]);

        let building = lock::try_acquire(&recent.join("build.lock"))
            .unwrap()
            .unwrap();
        let tiny = PruneRequest {
            max_bytes: Some(1),
            ..Default::default()
        };
        assert!(
            prune(root.path(), &tiny).unwrap().is_empty(),
            "a build is running"
        );
        drop(building);
        let removed = prune(root.path(), &tiny).unwrap();
        assert_eq!(removed.len(), 2, "the module, then its empty partition");
        assert_eq!(removed[0].path, recent);
        assert_eq!(removed[1].path, root.path().join("cpython-311"));
        assert!(summarize(root.path()).is_empty());
    }

    #[test]
    fn profiles_are_found_with_and_without_a_target_triple() {
        let target = tempfile::tempdir().unwrap();
        for profile in [
            "debug",
            "aarch64-apple-darwin/debug",
            "aarch64-apple-darwin/release",
        ] {
            create_private_dir(&target.path().join(profile)).unwrap();
            fs::write(target.path().join(profile).join(".cargo-lock"), "").unwrap();
        }
        create_private_dir(&target.path().join("tmp")).unwrap();
        let mut found = profile_dirs(target.path());
        found.sort();
        let expected = [
            "aarch64-apple-darwin/debug",
            "aarch64-apple-darwin/release",
            "debug",
        ]
        .map(|profile| target.path().join(profile));
        assert_eq!(found, expected);
    }

    #[test]
    fn a_shared_partition_goes_by_its_target_dirs_age_and_never_while_cargo_builds() {
        let root = tempfile::tempdir().unwrap();
        let profile = root
            .path()
            .join("cpython-abi3-x86_64-linux-gnu/target/debug");
        create_private_dir(&profile.join("deps")).unwrap();
        create_private_dir(&profile.join(".fingerprint")).unwrap();
        fs::write(profile.join("deps/libpyo3.rlib"), [0u8; 500]).unwrap();
        let cargo_lock = profile.join(".cargo-lock");
        fs::write(&cargo_lock, "").unwrap();

        let summary = summarize(root.path());
        assert_eq!(summary.len(), 1);
        assert!(summary[0].modules.is_empty());
        let age = SystemTime::now()
            .duration_since(summary[0].last_used)
            .unwrap();
        assert!(
            age < Duration::from_secs(60),
            "its last use is cargo's: {age:?}"
        );

        let tiny = PruneRequest {
            max_bytes: Some(1),
            ..Default::default()
        };
        let building = fs::File::open(&cargo_lock).unwrap();
        building.lock().unwrap(); // as cargo holds it for a whole build
        assert!(
            prune(root.path(), &tiny).unwrap().is_empty(),
            "cargo is building"
        );
        drop(building);
        let removed = prune(root.path(), &tiny).unwrap();
        assert_eq!(
            removed.iter().map(|r| &r.path).collect::<Vec<_>>(),
            [&root.path().join("cpython-abi3-x86_64-linux-gnu")]
        );
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
        let scan = crate::machinery::cache::editable_scan_path(root.path(), "0123456789abcdef");
        std::fs::write(&scan, "{}").unwrap();

        let summary = summarize(root.path());
        assert_eq!(summary.len(), 1);
        assert_eq!(summary[0].modules.len(), 1);
        assert!(summary[0].bytes >= 1000);

        let building = crate::machinery::lock::try_acquire(&module.join("build.lock"))
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
