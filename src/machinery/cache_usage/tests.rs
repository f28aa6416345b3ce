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
        ..BuildRecord::default()
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
