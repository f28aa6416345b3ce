use super::*;
use crate::machinery::cache::BuildCache;
use sha2::{Digest, Sha256};
use std::ffi::OsString;

#[test]
fn dep_info_paths_with_spaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("lib.d");
    fs::write(
        &path,
        "/t/libfast.so: /src/fast.rs /src/my\\ dir/data.txt\n",
    )
    .unwrap();
    assert_eq!(
        read_dep_info(&path).unwrap(),
        [
            PathBuf::from("/src/fast.rs"),
            PathBuf::from("/src/my dir/data.txt")
        ]
    );
}

#[test]
fn files_in_the_cache_are_not_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BuildCache::for_tests(&dir.path().join("cache"));
    let user = dir.path().join("fast.rs");
    fs::write(&user, "fn a() {}").unwrap();
    let generated = cache.abi_dir.join("modules/fast-1/crate/wrapper.rs");
    fs::create_dir_all(generated.parent().unwrap()).unwrap();
    fs::write(&generated, "include!()").unwrap();
    fs::write(dir.path().join("lib.d"), "").unwrap();
    let stamps = InputStamps::before_build(std::slice::from_ref(&user), &[]).unwrap();
    let files = stamps
        .inputs_read(
            vec![user.clone(), generated],
            &CargoReads {
                dep_info: dir.path().join("lib.d"),
                local_manifests: &[],
                local_artifacts: &[],
                script_outputs: &[],
                manifest_path: &dir.path().join("Cargo.toml"),
                working_dir: dir.path(),
            },
            &cache.abi_dir,
            &cache.target_dirs(),
        )
        .unwrap();
    let paths: Vec<_> = files.files.iter().map(|f| f.path.clone()).collect();
    assert_eq!(paths, [user]);
}

#[test]
fn env_deps_and_build_script_variables_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let dep_info = dir.path().join("fast-1.d");
    fs::write(
        &dep_info,
        "/t/fast-1.d: src/lib.rs\n\nsrc/lib.rs:\n\n# env-dep:FAST_NAME=bob\n# env-dep:OTHER\n# checksum:x\n",
    )
    .unwrap();
    assert_eq!(read_env_deps(&dep_info).unwrap(), ["FAST_NAME", "OTHER"]);
    let output = dir.path().join("output");
    fs::write(
        &output,
        "cargo:rerun-if-env-changed=A\ncargo::rerun-if-env-changed=B\ncargo:rustc-cfg=x\n",
    )
    .unwrap();
    assert_eq!(read_rerun_env(&output).unwrap(), ["A", "B"]);
    fs::write(&dep_info, b"# env-dep:\xff\n").unwrap();
    assert!(read_env_deps(&dep_info).is_err());
}

#[test]
fn rustc_dep_info_is_found_beside_or_below_an_artifact() {
    let dir = tempfile::tempdir().unwrap();
    let deps = dir.path().join("deps");
    fs::create_dir_all(&deps).unwrap();
    fs::write(deps.join("fast_1.d"), "").unwrap();
    fs::write(deps.join("helper-2.d"), "").unwrap();
    let found = rustc_dep_infos(&[
        dir.path().join("libfast_1.so"),
        deps.join("libhelper-2.rlib"),
        deps.join("libhelper-2.rmeta"),
    ]);
    assert_eq!(found, [deps.join("fast_1.d"), deps.join("helper-2.d")]);
}

#[test]
fn variables_compare_by_value_unset_and_empty_differ() {
    use std::collections::HashMap;
    let recorded = |pairs: &[(&str, Option<&[u8]>)]| -> Vec<TrackedVariable> {
        pairs
            .iter()
            .map(|(name, value)| TrackedVariable {
                name: name.to_string(),
                value: value.map(|v| hex(&Sha256::digest(v))),
            })
            .collect()
    };
    let env_of = |map: HashMap<&'static str, OsString>| move |name: &str| map.get(name).cloned();
    let none = || Vec::new();
    let record = recorded(&[("RUSTFLAGS", Some(b"--cfg x")), ("FAST_NAME", None)]);
    let same = env_of(HashMap::from([("RUSTFLAGS", OsString::from("--cfg x"))]));
    assert_eq!(changed_variable(&record, &same, &none), None);
    let empty = env_of(HashMap::from([
        ("RUSTFLAGS", OsString::from("--cfg x")),
        ("FAST_NAME", OsString::from("")),
    ]));
    assert_eq!(
        changed_variable(&record, &empty, &none).unwrap(),
        "the environment variable FAST_NAME was set"
    );
    let unset = env_of(HashMap::new());
    assert_eq!(
        changed_variable(&record, &unset, &none).unwrap(),
        "the environment variable RUSTFLAGS was unset"
    );
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        let raw = OsString::from_vec(b"--cfg \xff".to_vec());
        let record = recorded(&[("RUSTFLAGS", Some(b"--cfg \xff"))]);
        let same = env_of(HashMap::from([("RUSTFLAGS", raw)]));
        assert_eq!(changed_variable(&record, &same, &none), None);
        let other = env_of(HashMap::from([(
            "RUSTFLAGS",
            OsString::from_vec(b"--cfg \xfe".to_vec()),
        )]));
        assert_eq!(
            changed_variable(&record, &other, &none).unwrap(),
            "the environment variable RUSTFLAGS changed"
        );
    }
    let family = || {
        vec![
            "CARGO_PROFILE_DEV_OPT_LEVEL".to_string(),
            "CARGO_TARGET_DIR".to_string(),
        ]
    };
    assert_eq!(
        changed_variable(&[], &unset, &family).unwrap(),
        "the environment variable CARGO_PROFILE_DEV_OPT_LEVEL was set"
    );
    let only_target_dir = || vec!["CARGO_TARGET_DIR".to_string()];
    assert_eq!(changed_variable(&[], &unset, &only_target_dir), None);
}

#[test]
fn configuration_files_present_and_absent() {
    let dir = tempfile::tempdir().unwrap();
    let project = dir.path().join("a/b");
    fs::create_dir_all(project.join(".cargo")).unwrap();
    fs::write(project.join(".cargo/config.toml"), "[build]\n").unwrap();
    fs::write(dir.path().join("rust-toolchain.toml"), "[toolchain]\n").unwrap();
    let (present, absent) = configuration_files(&project);
    assert!(present.contains(&project.join(".cargo/config.toml")));
    assert!(present.contains(&dir.path().join("rust-toolchain.toml")));
    assert!(absent.contains(&project.join(".cargo/config")));
    assert!(absent.contains(&dir.path().join("a/.cargo")));
    assert!(absent.contains(&project.join("rust-toolchain")));
}

#[test]
fn an_unreadable_dep_info_leaves_the_build_unconfirmed() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BuildCache::for_tests(&dir.path().join("cache"));
    let dep_info = dir.path().join("lib.d");
    fs::write(&dep_info, b"/t/lib.so: /src/\xff.rs\n").unwrap();
    let stamps = InputStamps::before_build(&[], &[]).unwrap();
    let inputs = stamps
        .inputs_read(
            Vec::new(),
            &CargoReads {
                dep_info: dep_info.clone(),
                local_manifests: &[],
                local_artifacts: &[],
                script_outputs: &[dir.path().join("gone/output")],
                manifest_path: &dir.path().join("Cargo.toml"),
                working_dir: dir.path(),
            },
            &cache.abi_dir,
            &cache.target_dirs(),
        )
        .unwrap();
    let reason = inputs.unconfirmed.unwrap();
    assert!(
        reason.starts_with(&format!("cannot read {} (not UTF-8)", dep_info.display())),
        "{reason}"
    );
}
