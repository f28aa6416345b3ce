//! Lock-file seeds: a generated crate's Cargo.lock starts from the lock file of the last
//! module built with the same pyo3 series, so that it resolves to the dependency versions
//! already compiled (and needs no network). A marked crate with a Cargo.lock of its own
//! starts from that one instead.

use std::fs;
use std::path::{Path, PathBuf};

use crate::file_importer::template;
use crate::fsutil::write_atomically;
use crate::machinery::cache::{CompilePartition, ModuleCache};

/// Which lock-file seed a crate with this pyo3 requirement starts from: one per pyo3
/// series (and one for crates without pyo3, such as C-ABI libraries), so that a module
/// of another pyo3 version never makes the next module resolve pyo3 anew (and compile
/// it again). `None` is the seed of the template's own pyo3.
pub fn seed_variant(pyo3_version: Option<&str>) -> Option<String> {
    match pyo3_version {
        None => Some("no-pyo3".to_string()),
        Some(version) if template::same_series(version, template::PYO3_REQUIREMENT) => None,
        Some(version) => {
            let series: String = template::series(version)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            Some(format!("pyo3-{series}"))
        }
    }
}

/// Starts `lock` (a generated crate's Cargo.lock) from the seed of its pyo3 series when
/// it has none yet; returns that seed's path.
pub fn start_from_seed(
    lock: &Path,
    compile: &CompilePartition,
    pyo3_version: Option<&str>,
) -> PathBuf {
    let seed = compile.lockfile_seed(seed_variant(pyo3_version).as_deref());
    if !lock.exists() && seed.is_file() {
        let _ = fs::copy(&seed, lock);
    }
    seed
}

/// Starts the cache's lock file of a marked crate from the user's Cargo.lock (again
/// whenever that one changes; in between, cargo's additions such as the template's pyo3
/// stay), else from the lock-file seed of the crate's pyo3 version.
pub fn start_from_users_lock(
    user_lock: &Path,
    lock: &Path,
    module: &ModuleCache,
    compile: &CompilePartition,
    pyo3_version: Option<&str>,
) {
    let copied_from = module.dir.join("user-Cargo.lock");
    match fs::read(user_lock) {
        Ok(bytes) => {
            let unchanged = fs::read(&copied_from).is_ok_and(|copied| copied == bytes);
            if !unchanged || !lock.is_file() {
                let written = write_atomically(lock, &bytes)
                    .and_then(|()| write_atomically(&copied_from, &bytes));
                if let Err(error) = written {
                    log::debug!(target: "rusthook.builder", "could not copy {}: {error}", user_lock.display());
                }
            }
        }
        Err(_) => {
            start_from_seed(lock, compile, pyo3_version);
        }
    }
}

/// Keeps the module's Cargo.lock as the seed for the next new module.
pub fn keep_as_seed(seed: &Path, module: &ModuleCache) {
    let copied = fs::read(module.crate_dir().join("Cargo.lock"))
        .and_then(|lockfile| write_atomically(seed, &lockfile));
    if let Err(error) = copied {
        log::debug!(target: "rusthook.builder", "could not update {}: {error}", seed.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_kept_per_pyo3_series() {
        assert_eq!(seed_variant(None).as_deref(), Some("no-pyo3"));
        assert_eq!(seed_variant(Some("0.30")), None);
        assert_eq!(seed_variant(Some("^0.30.1")), None);
        assert_eq!(seed_variant(Some("0.23.4")).as_deref(), Some("pyo3-0.23"));
    }
}
