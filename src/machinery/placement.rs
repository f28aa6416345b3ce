//! Where a module's build lives: in its interpreter's partition, or, for a library built
//! for the stable ABI, in the stable-ABI partition every CPython shares, so that one
//! build serves every interpreter from its floor on (3.13 loads what 3.11 built).
//!
//! Which one a build is, only the build knows (it depends on the manifest, which an
//! import's freshness check does not read). So the record says it: an interpreter looks
//! for its module's record in its own partition, then in the shared one (usable when the
//! library's floor is met); a first build goes to the shared one when the interpreter can
//! load stable-ABI libraries. A build that turns out to be of the other kind is moved
//! where it belongs ([`Places::settle`]), so each build has one record in one place.

use std::path::Path;

use crate::error::{Error, Result};
use crate::fsutil::{check_private, create_private_dir, link_or_copy};
use crate::machinery::cache::{Bucket, BuildCache, ModuleCache};
use crate::machinery::freshness::BuildRecord;
use crate::machinery::{install, lock, stable_abi};
use crate::settings::PythonEnv;

/// The file suffix of stable-ABI libraries; in the fingerprint of shared builds in
/// place of the interpreter's own suffix.
pub const STABLE_ABI_SUFFIX: &str = ".abi3.so";

/// One place a module's build may live: its cache folder and the settings fingerprint
/// of builds there.
pub struct Place {
    pub module: ModuleCache,
    pub fingerprint: String,
    /// True for the stable-ABI partition.
    pub shared: bool,
}

/// The places of one module: its interpreter's, and the shared stable-ABI one when this
/// interpreter can load stable-ABI libraries (with the interpreter's minor version).
pub struct Places {
    own: Place,
    shared: Option<(Place, u32)>,
}

impl Places {
    /// `own_fingerprint` and `shared_fingerprint` are the settings fingerprint with the
    /// interpreter's suffix and with [`STABLE_ABI_SUFFIX`].
    pub fn new(
        cache: &BuildCache,
        bucket: Bucket,
        name: &str,
        source_path: &Path,
        own_fingerprint: String,
        shared_fingerprint: String,
    ) -> Places {
        let own = Place {
            module: cache.entry(bucket, name, source_path, &own_fingerprint),
            fingerprint: own_fingerprint,
            shared: false,
        };
        let shared = cache
            .stable_abi_entry(bucket, name, source_path, &shared_fingerprint)
            .map(|(module, minor)| {
                let place = Place {
                    module,
                    fingerprint: shared_fingerprint,
                    shared: true,
                };
                (place, minor)
            });
        Places { own, shared }
    }

    /// Where to check this module's build and build it: the interpreter's partition if
    /// it holds a record, else the shared one unless it holds a library this
    /// interpreter cannot load (or the interpreter loads none from there). Returns the
    /// record read there too.
    pub fn choose(self) -> (Place, Option<BuildRecord>) {
        let own_record = self.own.module.read_record();
        let Some((shared, minor)) = self.shared else {
            return (self.own, own_record);
        };
        if own_record.is_some() {
            return (self.own, own_record);
        }
        match shared.module.read_record() {
            Some(record) if record.stable_abi_floor.is_some_and(|floor| floor <= minor) => {
                (shared, Some(record))
            }
            Some(_) => (self.own, None),
            None => (shared, None),
        }
    }
}

/// Why `record`, found in the place whose builds have `fingerprint`, cannot be loaded
/// by this interpreter (then it counts as stale): a stable-ABI library whose floor it
/// does not meet, or a version-specific one where the stable-ABI builds are (left by
/// another interpreter's build that has not yet moved it to that interpreter's own).
pub fn why_unloadable(
    record: &BuildRecord,
    fingerprint: &str,
    python: &PythonEnv,
) -> Option<String> {
    match record.stable_abi_floor {
        Some(floor) => {
            let minor = stable_abi::support(python).map(|support| support.minor);
            minor
                .is_none_or(|minor| minor < floor)
                .then(|| format!("it was built for the stable ABI of CPython 3.{floor} and later"))
        }
        None => fingerprint
            .ends_with(STABLE_ABI_SUFFIX)
            .then(|| "it is another interpreter's version-specific build".to_string()),
    }
}

/// After a build at `built_at`: where the build belongs, if not there. A stable-ABI
/// library this interpreter can load belongs in the shared partition; anything else in
/// the interpreter's own.
pub fn belongs_elsewhere(places: Places, built_at: &Place, record: &BuildRecord) -> Option<Place> {
    let shared_build = matches!(
        (&places.shared, record.stable_abi_floor),
        (Some((_, minor)), Some(floor)) if floor <= *minor
    );
    match (built_at.shared, shared_build) {
        (false, true) => places.shared.map(|(place, _)| place),
        (true, false) => Some(places.own),
        _ => None,
    }
}

/// Moves the build `record` describes from `from` to `to`: its files are linked into
/// `to`'s folder and its record written there (with `to`'s fingerprint) before the one
/// at `from` is removed, so an importer finds it in one place or the other. The files
/// at `from` stay (a process that read the record a moment ago may be loading them);
/// the next build there removes them. Returns where the build is: `to`, or `from` when
/// either was rebuilt or is being built right now.
pub fn settle<'a>(
    from: &'a Place,
    to: &'a Place,
    record: BuildRecord,
    timeout: std::time::Duration,
) -> Result<(&'a Place, BuildRecord)> {
    let (_from_lock, _) =
        lock::acquire(&from.module.lock_path(), &record.module, timeout, &|| false)?;
    if from.module.read_record().as_ref() != Some(&record) {
        return Ok((from, record));
    }
    check_private(&to.module.dir)?;
    create_private_dir(&to.module.dir)?;
    let Some(_to_lock) = lock::try_acquire(&to.module.lock_path())? else {
        return Ok((from, record));
    };
    let names: Vec<String> = record
        .artifact_names()
        .into_iter()
        .map(String::from)
        .collect();
    for name in &names {
        let (source, destination) = (
            from.module.artifact_path(name),
            to.module.artifact_path(name),
        );
        if !destination.is_file() {
            link_or_copy(&source, &destination).map_err(Error::io(
                "cannot install the built library as",
                &destination,
            ))?;
        }
    }
    let moved = BuildRecord {
        settings: to.fingerprint.clone(),
        ..record
    };
    moved.write(&to.module.record_path())?;
    let keep: Vec<&str> = names.iter().map(String::as_str).collect();
    install::remove_old_artifacts(&to.module, &keep);
    std::fs::remove_file(from.module.record_path())
        .map_err(Error::io("cannot remove", &from.module.record_path()))?;
    log::debug!(target: "rusthook.builder", "{} moved to {}", moved.module, to.module.dir.display());
    Ok((to, moved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machinery::freshness::{ToolchainId, RECORD_FORMAT};
    use std::path::PathBuf;
    use std::time::Duration;

    const OWN: &str = "dev | .cpython-311-x86_64-linux-gnu.so";
    const SHARED: &str = "dev | .abi3.so";

    fn places(root: &Path) -> Places {
        let cache = BuildCache::for_tests(root);
        let source = root.join("fast.rs");
        Places::new(
            &cache,
            Bucket::Modules,
            "fast",
            &source,
            OWN.into(),
            SHARED.into(),
        )
    }

    fn record(root: &Path, floor: Option<u32>, settings: &str) -> BuildRecord {
        BuildRecord {
            format: RECORD_FORMAT,
            module: "fast".into(),
            source: root.join("fast.rs"),
            settings: settings.into(),
            toolchain: ToolchainId {
                fingerprint: "f".into(),
                version: "v".into(),
            },
            profile: "dev".into(),
            artifact: "fast.1.so".into(),
            declarations: None,
            stub: None,
            stable_abi_floor: floor,
            ..BuildRecord::default()
        }
    }

    fn write(place: &Place, record: &BuildRecord) {
        create_private_dir(&place.module.dir).unwrap();
        std::fs::write(place.module.artifact_path(&record.artifact), "library").unwrap();
        record.write(&place.module.record_path()).unwrap();
    }

    fn python(suffix: &str) -> PythonEnv {
        PythonEnv {
            executable: PathBuf::from("/usr/bin/python3"),
            base_executable: PathBuf::from("/usr/bin/python3"),
            prefix: PathBuf::from("/usr"),
            base_prefix: PathBuf::from("/usr"),
            extension_suffixes: vec![suffix.into(), ".abi3.so".into(), ".so".into()],
        }
    }

    #[test]
    fn a_first_build_goes_to_the_shared_partition_and_is_found_there() {
        let root = tempfile::tempdir().unwrap();
        let (place, last) = places(root.path()).choose();
        assert!(place.shared && last.is_none());
        assert!(place
            .module
            .dir
            .starts_with(root.path().join("cpython-abi3-x86_64-linux-gnu")));
        write(&place, &record(root.path(), Some(9), SHARED));
        let (found, last) = places(root.path()).choose();
        assert!(found.shared && last.is_some());
    }

    #[test]
    fn a_floor_above_this_interpreter_keeps_it_in_its_own_partition() {
        let root = tempfile::tempdir().unwrap();
        let (shared, _) = places(root.path()).choose();
        write(&shared, &record(root.path(), Some(12), SHARED));
        let (place, last) = places(root.path()).choose();
        assert!(!place.shared && last.is_none());
        let py311 = python(".cpython-311-x86_64-linux-gnu.so");
        let py312 = python(".cpython-312-x86_64-linux-gnu.so");
        let too_new = record(root.path(), Some(12), SHARED);
        assert_eq!(
            why_unloadable(&too_new, SHARED, &py311).as_deref(),
            Some("it was built for the stable ABI of CPython 3.12 and later")
        );
        assert_eq!(why_unloadable(&too_new, SHARED, &py312), None);
        let specific = record(root.path(), None, SHARED);
        assert_eq!(
            why_unloadable(&specific, SHARED, &py311).as_deref(),
            Some("it is another interpreter's version-specific build")
        );
        assert_eq!(why_unloadable(&specific, OWN, &py311), None);
    }

    #[test]
    fn a_build_of_the_other_kind_moves_where_it_belongs() {
        let root = tempfile::tempdir().unwrap();
        // A version-specific build made where stable-ABI builds are: moved to its own.
        let (shared, _) = places(root.path()).choose();
        let built = record(root.path(), None, SHARED);
        write(&shared, &built);
        let to = belongs_elsewhere(places(root.path()), &shared, &built).expect("moves");
        assert!(!to.shared);
        let (at, moved) = settle(&shared, &to, built, Duration::from_secs(5)).unwrap();
        assert!(!at.shared);
        assert_eq!(moved.settings, OWN);
        assert!(shared.module.read_record().is_none());
        assert!(to.module.artifact_path("fast.1.so").is_file());
        let (place, last) = places(root.path()).choose();
        assert!(!place.shared && last == Some(moved.clone()));

        // Rebuilt for the stable ABI there: moved back to the shared partition.
        let abi3 = BuildRecord {
            stable_abi_floor: Some(9),
            ..moved
        };
        write(&to, &abi3);
        let back = belongs_elsewhere(places(root.path()), &to, &abi3).expect("moves");
        assert!(back.shared);
        let (at, _) = settle(&to, &back, abi3.clone(), Duration::from_secs(5)).unwrap();
        assert!(at.shared);
        assert!(belongs_elsewhere(places(root.path()), &back, &abi3).is_none());
        let (place, last) = places(root.path()).choose();
        assert!(place.shared && last.is_some());
    }
}
