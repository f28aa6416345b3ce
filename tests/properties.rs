//! Property tests of the core's public API: the parts that read user-controlled text
//! never panic, whatever they are given. The number of cases per property is
//! `PROPTEST_CASES` (default 256 in `cargo test`; CONTRIBUTING.md records a long run).

use std::path::Path;

use proptest::prelude::*;

use rusthook::error::Error;
use rusthook::file_importer::preprocess::{parse_header, split_inner_attributes};
use rusthook::file_importer::single_file::{generate_crate, CrateLayout};
use rusthook::file_importer::template::find_exports;
use rusthook::machinery::freshness::{BuildRecord, Expected};
use rusthook::machinery::inputs::read_dep_info;

/// Text shaped like a single-file module: marker lines, `//:` and `//d:` lines,
/// attributes and Rust-ish fragments, mixed with arbitrary strings.
fn module_text() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("// rusthook:pyo3".to_string()),
        Just("// rustimport".to_string()),
        "// rusthook:[a-z0-9]{0,6}".prop_map(|s| s),
        "//: \\[[a-z.-]{0,12}\\]".prop_map(|s| s),
        "//: [a-z-]{1,8} = \"[0-9.]{0,5}\"".prop_map(|s| s),
        "//: [a-z]{1,5} = \\{ path = \"[./a-z]{0,10}\" \\}".prop_map(|s| s),
        "//:[ -~]{0,30}".prop_map(|s| s),
        "//d: [*./a-z\\[\\]{}]{0,12}".prop_map(|s| s),
        Just("//! docs".to_string()),
        "#!\\[[a-z(]{0,10}".prop_map(|s| s),
        Just("#[pyfunction]".to_string()),
        Just("#[pyclass]".to_string()),
        Just("#[pymodule]".to_string()),
        "fn [a-z_]{1,8}\\([a-z: 0-9]{0,10}\\) \\{ \\}".prop_map(|s| s),
        "struct [A-Z][a-z]{0,6};".prop_map(|s| s),
        any::<String>(),
    ];
    proptest::collection::vec(line, 0..24).prop_map(|lines| lines.join("\n"))
}

fn layout() -> CrateLayout<'static> {
    CrateLayout {
        module: "fast",
        lib_name: "fast_0000",
        wrapper_path: Path::new("/cache/wrapper.rs"),
        body_path: Path::new("/cache/fast.rs"),
        introspect: false,
    }
}

proptest! {
    #[test]
    fn preprocessing_never_panics(text in module_text()) {
        let path = Path::new("/src/fast.rs");
        if let Ok(header) = parse_header(path, &text) {
            let _ = generate_crate(path, &text, &header, &layout());
        }
        let _ = find_exports(&text);
    }

    #[test]
    fn inner_attribute_split_keeps_every_line(text in module_text()) {
        let (_, blanked) = split_inner_attributes(&text);
        prop_assert_eq!(blanked.matches('\n').count(), text.matches('\n').count());
    }

    #[test]
    fn manifest_errors_point_at_a_line_of_the_file(text in module_text()) {
        let path = Path::new("/src/fast.rs");
        if let Ok(header) = parse_header(path, &text) {
            if let Err(Error::ManifestLine { line, .. }) =
                generate_crate(path, &text, &header, &layout())
            {
                prop_assert!(line >= 1 && line <= text.lines().count().max(1));
            }
        }
    }

    #[test]
    fn build_records_and_dep_info_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        std::fs::write(&path, &bytes).unwrap();
        let _ = BuildRecord::read(&path);
        let _ = read_dep_info(&path);
    }

    #[test]
    fn record_shaped_json_never_panics(
        files in proptest::collection::vec(("[ -~]{0,20}", any::<u64>(), any::<i64>(), "[0-9a-f]{0,64}"), 0..4),
        format in any::<u32>(),
        artifact in "[ -~]{0,20}",
    ) {
        let files: Vec<String> = files
            .iter()
            .map(|(p, size, mtime, sha)| format!(r#"{{"path": {p:?}, "size": {size}, "mtime_ns": {mtime}, "sha256": {sha:?}}}"#))
            .collect();
        let json = format!(
            r#"{{"format": {format}, "module": "m", "source": "/s", "settings": "x", "toolchain": {{"fingerprint": "f", "version": "v"}}, "artifact": {artifact:?}, "files": [{}], "globs": ["[", "**/"]}}"#,
            files.join(",")
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("record.json");
        std::fs::write(&path, json).unwrap();
        if let Some(record) = BuildRecord::read(&path) {
            let never = || None;
            let expected = Expected {
                settings: "x",
                toolchain_fingerprint: "f",
                toolchain_version: &never,
                env: &|_| None,
                env_names: &Vec::new,
            };
            let _ = record.check(&dir.path().join(&record.artifact), &expected);
        }
    }
}
