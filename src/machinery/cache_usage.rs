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
    /// What the folder holds: a finished build, one running now, or none finished.
    pub state: ModuleState,
    pub bytes: u64,
    /// When a file of it was last read or written (day-grained where the file system
    /// updates access times lazily).
    pub last_used: SystemTime,
}

/// What a module's folder holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModuleState {
    /// A finished build and its record.
    Built,
    /// A build is running (its lock is held).
    Building,
    /// A record this version of rusthook does not read: rebuilt on the next import.
    OtherVersion,
    /// No build finished there: the first build failed or was interrupted.
    NeverFinished,
}

impl ModuleState {
    pub fn describe(self) -> &'static str {
        match self {
            ModuleState::Built => "built",
            ModuleState::Building => "building now",
            ModuleState::OtherVersion => "built by another version of rusthook",
            ModuleState::NeverFinished => "no build finished (failed or interrupted)",
        }
    }
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
    let lock_path = dir.join("build.lock");
    // Opened read-only, so looking changes nothing.
    let held = fs::File::open(&lock_path)
        .is_ok_and(|file| matches!(file.try_lock(), Err(fs::TryLockError::WouldBlock)));
    let state = if held {
        ModuleState::Building
    } else if record.is_some() {
        ModuleState::Built
    } else if dir.join("record.json").is_file() {
        ModuleState::OtherVersion
    } else {
        ModuleState::NeverFinished
    };
    // Without a record, the folder's name (`<name>-<key>`) still names the module.
    let name = record.map(|r| r.module).or_else(|| {
        let folder = dir.file_name()?.to_str()?;
        Some(folder.rsplit_once('-')?.0.to_string())
    });
    ModuleUse {
        dir: dir.to_path_buf(),
        state,
        name,
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
mod tests;
