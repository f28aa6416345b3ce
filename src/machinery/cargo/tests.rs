use super::*;

fn args_for(target: Target, extra_args: &[String]) -> Vec<String> {
    let build = CargoBuild {
        module: "fast",
        origin: Path::new("/src/fast.rs"),
        manifest_path: Path::new("/cache/crate/Cargo.toml"),
        target_dir: Path::new("/cache/target"),
        working_dir: Path::new("/src"),
        build_root: Path::new("/cache"),
        pyo3: &Pyo3Config::StableAbi,
        profile: "dev",
        features: &[],
        extra_args,
        rustc_args: &[],
        diagnostics_aliases: Vec::new(),
    };
    let command = cargo_command("cargo", &build, target);
    let args = command.get_args().map(|a| a.to_string_lossy().into_owned());
    args.collect()
}

#[test]
fn macos_builds_target_the_interpreters_architecture_and_resolve_python_at_load() {
    let mac = Target {
        os: platform::Os::MacOs,
        arch: "aarch64",
    };
    let args = args_for(mac, &[]);
    let tail = [
        "--",
        "-C",
        "link-arg=-undefined",
        "-C",
        "link-arg=dynamic_lookup",
    ];
    assert!(args.ends_with(&tail.map(String::from)), "{args:?}");
    let at = args.iter().position(|a| a == "--target").unwrap();
    assert_eq!(args[at + 1], "aarch64-apple-darwin");
    // The user's own rustc arguments and target are kept.
    let own = ["--target".to_string(), "x86_64-apple-darwin".to_string()];
    let args = args_for(
        mac,
        &[
            own[0].clone(),
            own[1].clone(),
            "--".into(),
            "-Copt-level=1".into(),
        ],
    );
    assert_eq!(args.iter().filter(|a| *a == "--target").count(), 1);
    assert_eq!(args.iter().filter(|a| *a == "--").count(), 1);
    assert!(
        args.ends_with(
            &[
                "-Copt-level=1",
                "-C",
                "link-arg=-undefined",
                "-C",
                "link-arg=dynamic_lookup"
            ]
            .map(String::from)
        ),
        "{args:?}"
    );
    let linux = Target {
        os: platform::Os::Linux,
        arch: "x86_64",
    };
    let args = args_for(linux, &[]);
    assert!(
        !args.iter().any(|a| a == "--" || a == "--target"),
        "{args:?}"
    );
    assert_eq!(args[..3], ["rustc", "--lib", "--crate-type"]);
}

#[test]
fn progress_bar_updates_are_parsed() {
    assert_eq!(
        parse_progress_bar("    Building [=====>      ] 12/28: pyo3, libc(build)   "),
        Some((12, 28))
    );
    assert_eq!(
        parse_progress_bar("    Building [   ] 0/3: a"),
        Some((0, 3))
    );
    assert_eq!(parse_progress_bar("   Compiling pyo3 v0.30.1"), None);
    assert_eq!(parse_progress_bar("error: Building [x] failed"), None);
}

#[test]
fn a_linker_killed_by_sigbus_is_out_of_space_only_when_the_disk_is_nearly_full() {
    let dir = tempfile::tempdir().unwrap();
    let crash = "= note: collect2: fatal error: ld terminated with signal 7 [Bus error]";
    let plenty = available_space(dir.path()).unwrap() >= 64 << 20;
    assert_eq!(linker_out_of_space(crash, dir.path()).is_none(), plenty);
    assert_eq!(
        linker_out_of_space("error[E0308]: mismatched types", dir.path()),
        None
    );
}

#[test]
fn package_names_from_package_ids() {
    assert_eq!(
        package_name("path+file:///src/dir#my-crate@0.1.0").as_deref(),
        Some("my-crate")
    );
    assert_eq!(
        package_name("path+file:///src/my-crate#0.1.0").as_deref(),
        Some("my-crate")
    );
    assert_eq!(
        package_name("registry+https://example.invalid/index#itoa@1.0.15").as_deref(),
        Some("itoa")
    );
    assert_eq!(package_name("no fragment"), None);
}

#[test]
fn redrawn_statuses_are_told_from_lines() {
    let line = |text: &str, redrawn: bool| StderrLine {
        text: text.to_string(),
        redrawn,
    };
    assert_eq!(
        split_stderr_chunk(
            "  Downloaded itoa v1.0.15\n  Downloading 2 crates    \r",
            true
        ),
        [
            line("  Downloaded itoa v1.0.15", false),
            line("  Downloading 2 crates    ", true)
        ]
    );
    // cargo clearing its bar: blanks between two `\r`.
    assert_eq!(split_stderr_chunk("          \r", true), []);
    assert_eq!(
        split_stderr_chunk("error: x\n", false),
        [line("error: x", false)]
    );
    assert_eq!(
        split_stderr_chunk("warning: y\n\r", true),
        [line("warning: y", false)]
    );
}

#[test]
fn status_lines_are_not_diagnostics() {
    assert!(is_status_line("   Compiling pyo3 v0.30.1"));
    assert!(is_status_line(
        "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.41s"
    ));
    assert!(is_status_line(
        "    Blocking waiting for file lock on build directory"
    ));
    assert!(!is_status_line("error[E0308]: mismatched types"));
    assert!(!is_status_line(" --> /src/fast.rs:6:18"));
    assert!(!is_status_line("6 |     let y: i64 = \"oops\";"));
}
