use super::*;
use crate::machinery::inputs::track_all;

fn record_for(dir: &Path, files: &[&Path]) -> BuildRecord {
    fs::write(dir.join("fast.so"), "library").unwrap();
    BuildRecord {
        format: RECORD_FORMAT,
        module: "fast".into(),
        source: files[0].to_path_buf(),
        settings: "debug".into(),
        toolchain: ToolchainId {
            fingerprint: "fp".into(),
            version: "rustc 1.95.0".into(),
        },
        profile: "dev".into(),
        artifact: "fast.so".into(),
        declarations: None,
        stub: None,
        files: track_all(files.iter().map(|p| p.to_path_buf())).unwrap(),
        ..BuildRecord::default()
    }
}

fn no_env(_: &str) -> Option<OsString> {
    None
}

fn no_names() -> Vec<String> {
    Vec::new()
}

fn expected<'a>(version: &'a dyn Fn() -> Option<String>) -> Expected<'a> {
    Expected {
        settings: "debug",
        toolchain_fingerprint: "fp",
        toolchain_version: version,
        env: &no_env,
        env_names: &no_names,
    }
}

fn set_mtime(path: &Path, seconds_ago: u64) {
    let file = fs::File::options().write(true).open(path).unwrap();
    let time = std::time::SystemTime::now() - std::time::Duration::from_secs(seconds_ago);
    file.set_modified(time).unwrap();
}

#[test]
fn unchanged_files_are_fresh_without_hashing() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("fast.rs");
    fs::write(&source, "fn a() {}").unwrap();
    let record = record_for(dir.path(), &[&source]);
    let never = || -> Option<String> { panic!("toolchain must not be asked") };
    assert_eq!(
        record.check(&dir.path().join("fast.so"), &expected(&never)),
        Freshness::Fresh
    );
}

#[test]
fn touched_but_unchanged_is_fresh_with_new_stats() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("fast.rs");
    fs::write(&source, "fn a() {}").unwrap();
    set_mtime(&source, 100);
    let record = record_for(dir.path(), &[&source]);
    set_mtime(&source, 0);
    let none = || None;
    match record.check(&dir.path().join("fast.so"), &expected(&none)) {
        Freshness::FreshWithNewStats(updated) => {
            assert_ne!(updated.files[0].mtime_ns, record.files[0].mtime_ns);
            assert_eq!(
                updated.check(&dir.path().join("fast.so"), &expected(&none)),
                Freshness::Fresh
            );
        }
        other => panic!("expected fresh with new stats, got {other:?}"),
    }
}

#[test]
fn edits_deletions_settings_and_missing_artifact_are_stale() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("fast.rs");
    let extra = dir.path().join("extra.rs");
    fs::write(&source, "fn a() {}").unwrap();
    fs::write(&extra, "fn b() {}").unwrap();
    let record = record_for(dir.path(), &[&source, &extra]);
    let artifact = dir.path().join("fast.so");
    let none = || None;

    let release = Expected {
        settings: "release",
        ..expected(&none)
    };
    assert!(
        matches!(record.check(&artifact, &release), Freshness::Stale(r) if r.contains("settings"))
    );

    fs::write(&source, "fn a() { }").unwrap();
    assert!(
        matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("fast.rs changed"))
    );

    let record = record_for(dir.path(), &[&source, &extra]);
    fs::remove_file(&extra).unwrap();
    assert!(
        matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("removed"))
    );

    let record = record_for(dir.path(), &[&source]);
    fs::remove_file(&artifact).unwrap();
    assert!(
        matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("missing"))
    );
}

#[test]
fn toolchain_is_asked_only_when_the_fingerprint_moves() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("fast.rs");
    fs::write(&source, "fn a() {}").unwrap();
    let record = record_for(dir.path(), &[&source]);
    let artifact = dir.path().join("fast.so");
    let same = || Some("rustc 1.95.0".to_string());
    let moved = Expected {
        toolchain_fingerprint: "other",
        ..expected(&same)
    };
    assert!(
        matches!(record.check(&artifact, &moved), Freshness::FreshWithNewStats(r) if r.toolchain.fingerprint == "other")
    );
    let newer = || Some("rustc 1.96.0".to_string());
    let upgraded = Expected {
        toolchain_fingerprint: "other",
        ..expected(&newer)
    };
    assert!(
        matches!(record.check(&artifact, &upgraded), Freshness::Stale(r) if r.contains("toolchain"))
    );
}

#[test]
fn new_file_matching_a_glob_is_stale() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("fast.rs");
    fs::write(&source, "fn a() {}").unwrap();
    let mut record = record_for(dir.path(), &[&source]);
    record.globs = vec![format!("{}/*.txt", dir.path().display())];
    let none = || None;
    let artifact = dir.path().join("fast.so");
    assert_eq!(record.check(&artifact, &expected(&none)), Freshness::Fresh);
    fs::write(dir.path().join("new.txt"), "data").unwrap();
    assert!(
        matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.contains("new.txt is new"))
    );
}

#[test]
fn corrupt_or_foreign_records_are_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("record.json");
    fs::write(&path, "{ not json").unwrap();
    assert_eq!(BuildRecord::read(&path), None);
    fs::write(&path, "").unwrap();
    assert_eq!(BuildRecord::read(&path), None);
    let source = dir.path().join("fast.rs");
    fs::write(&source, "fn a() {}").unwrap();
    let mut record = record_for(dir.path(), &[&source]);
    record.write(&path).unwrap();
    assert_eq!(BuildRecord::read(&path).as_ref(), Some(&record));
    record.format = RECORD_FORMAT + 1;
    record.write(&path).unwrap();
    assert_eq!(BuildRecord::read(&path), None);
}

#[test]
fn toml_is_compared_as_data_and_absent_files_must_stay_absent() {
    let dir = tempfile::tempdir().unwrap();
    let config_dir = dir.path().join(".cargo");
    fs::create_dir_all(&config_dir).unwrap();
    let config = config_dir.join("config.toml");
    fs::write(&config, "[build]\nrustflags = [\"--cfg\", \"x\"]\n").unwrap();
    set_mtime(&config, 100);
    let source = dir.path().join("fast.rs");
    fs::write(&source, "fn a() {}").unwrap();
    let mut record = record_for(dir.path(), &[&source, &config]);
    assert_eq!(record.files[1].content, Content::Toml);
    let artifact = dir.path().join("fast.so");
    let none = || None;
    fs::write(
        &config,
        "# a comment\n[build]\nrustflags = [ \"--cfg\", \"x\" ]\n",
    )
    .unwrap();
    assert!(matches!(
        record.check(&artifact, &expected(&none)),
        Freshness::FreshWithNewStats(_)
    ));
    fs::write(&config, "[build]\nrustflags = [\"--cfg\", \"y\"]\n").unwrap();
    assert!(
        matches!(record.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.ends_with("config.toml changed"))
    );
    fs::write(&config, "[build\n").unwrap();
    match record.check(&artifact, &expected(&none)) {
        Freshness::Stale(reason) => assert_eq!(
            reason,
            format!(
                "{} changed (and is not valid TOML now: cargo will say where)",
                config.display()
            )
        ),
        other => panic!("{other:?}"),
    }
    let record_absent = BuildRecord {
        absent: vec![dir.path().join("rust-toolchain.toml")],
        ..record_for(dir.path(), &[&source])
    };
    assert_eq!(
        record_absent.check(&artifact, &expected(&none)),
        Freshness::Fresh
    );
    fs::write(dir.path().join("rust-toolchain.toml"), "").unwrap();
    assert!(
        matches!(record_absent.check(&artifact, &expected(&none)), Freshness::Stale(r) if r.ends_with("rust-toolchain.toml appeared"))
    );
    record.unconfirmed = Some("cannot read x.d".into());
    assert_eq!(
        record.check(&artifact, &expected(&none)),
        Freshness::Stale("cannot read x.d".into())
    );
}
