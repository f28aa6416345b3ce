use super::*;

#[test]
fn exports_are_found_at_top_level() {
    let text = "use pyo3::prelude::*;\n#[pyfunction]\nfn double(x: i64) -> i64 { x * 2 }\n#[pyclass]\nstruct Point { x: i64 }\n#[pyclass]\nenum Color { Red }\nfn helper() {}\n";
    let exports = find_exports(text).unwrap();
    assert_eq!(exports.functions, ["double"]);
    assert_eq!(exports.classes, ["Point", "Color"]);
    assert!(!exports.has_pymodule);
    let own = "#[pymodule]\nmod fast { }\n";
    assert!(find_exports(own).unwrap().has_pymodule);
    let own_fn = "#[pyo3::pymodule]\nfn fast(m: &Bound<PyModule>) -> PyResult<()> { Ok(()) }\n";
    assert!(find_exports(own_fn).unwrap().has_pymodule);
    assert_eq!(find_exports("fn broken( {"), None);
}

#[test]
fn pyo3_versions_follow_the_dialect_and_the_graph() {
    let version = |dialect: Dialect, graph: Option<&str>| {
        let table = dialect.pyo3_dependency(graph);
        (
            table["version"].as_str().unwrap().to_string(),
            table["features"].as_array().unwrap()[0]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    assert_eq!(
        version(Dialect::Rusthook, None),
        ("0.30".into(), "abi3-py39".into())
    );
    assert_eq!(
        version(Dialect::Rustimport, None),
        ("0.23.4".into(), "extension-module".into())
    );
    // The graph's series wins; within the dialect's own series its features stay.
    assert_eq!(
        version(Dialect::Rusthook, Some("0.23.4")),
        ("0.23.4".into(), "extension-module".into())
    );
    assert_eq!(
        version(Dialect::Rusthook, Some("^0.30.1")),
        ("0.30".into(), "abi3-py39".into())
    );
    assert_eq!(
        version(Dialect::Rustimport, Some("0.30")),
        ("0.30".into(), "extension-module".into())
    );
    assert_eq!(
        version(Dialect::Rustimport, Some("=0.23.5")),
        ("0.23.4".into(), "extension-module".into())
    );
    assert!(same_series("1.2", "^1.0.4"));
    assert!(!same_series("0.22", "0.23"));
    assert_eq!(Dialect::of_marker("rustimport"), Dialect::Rustimport);
    assert_eq!(Dialect::of_marker("rusthook"), Dialect::Rusthook);
}

#[test]
fn implicit_option_defaults_end_with_pyo3_0_24() {
    assert!(implicit_option_defaults(Some("0.23.4")));
    assert!(implicit_option_defaults(Some("^0.20")));
    assert!(!implicit_option_defaults(Some("0.24")));
    assert!(!implicit_option_defaults(None));
    assert!(!implicit_option_defaults(Some("1.0")));
}

#[test]
fn template_names() {
    let path = Path::new("x.rs");
    assert_eq!(Template::named("pyo3", path, 1).unwrap(), Template::Pyo3);
    assert_eq!(Template::named("cffi", path, 1).unwrap(), Template::Cffi);
    let err = Template::named("pyo2", path, 3).unwrap_err().to_string();
    assert!(err.starts_with("x.rs:3: unknown template `pyo2`"), "{err}");
    assert!(err.contains("known templates: pyo3, cffi"), "{err}");
    assert!(Template::Pyo3.builds_extension_module());
    assert!(!Template::Cffi.builds_extension_module());
    assert_eq!(Template::named("PyO3", path, 1).ok(), Some(Template::Pyo3));
    assert!(Template::named("pyo4", path, 1).is_err());
    let default = Dialect::Rusthook.pyo3_dependency(None);
    assert!(Template::Cffi
        .base_manifest("x", default.clone())
        .is_empty());
    let pyo3 = Template::Pyo3.base_manifest("rusthook-fast", default);
    assert_eq!(pyo3["package"]["name"].as_str(), Some("rusthook-fast"));
    assert_eq!(
        pyo3["dependencies"]["pyo3"]["version"].as_str(),
        Some(PYO3_REQUIREMENT)
    );
}
