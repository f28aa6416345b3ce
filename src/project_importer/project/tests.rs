use super::*;

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn bindings_are_inferred_like_maturin_does() {
    let dir = tempfile::tempdir().unwrap();
    let parse = |s: &str| infer_bindings(&s.parse().unwrap(), dir.path());
    assert_eq!(parse("[dependencies]\npyo3 = \"0.30\""), Bindings::Pyo3);
    assert_eq!(
        parse("[target.'cfg(unix)'.dependencies]\npyo3-ffi = \"0.30\""),
        Bindings::Pyo3
    );
    assert_eq!(
        parse("[dependencies]\nuniffi = \"0.28\"\n[lib]\n"),
        Bindings::Uniffi
    );
    assert_eq!(parse("[[bin]]\nname = \"x\"\n"), Bindings::Bin);
    assert_eq!(parse("[lib]\ncrate-type = [\"cdylib\"]\n"), Bindings::Cffi);
    // A binary found by cargo's auto-discovery, with pyo3 embedding Python.
    write(&dir.path().join("src/main.rs"), "fn main() {}");
    assert_eq!(parse("[dependencies]\npyo3 = \"0.30\""), Bindings::Bin);
    assert_eq!(
        parse("[dependencies]\npyo3 = \"0.30\"\n[lib]\ncrate-type = [\"cdylib\"]\n"),
        Bindings::Pyo3
    );
}

const PYO3: &str = "[dependencies]\npyo3 = \"0.30\"\n[lib]\ncrate-type = [\"cdylib\"]\n";

fn cargo(name: &str, lib_name: Option<&str>) -> String {
    let lib = lib_name.map_or(String::new(), |n| format!("name = \"{n}\"\n"));
    format!("[package]\nname = \"{name}\"\nversion = \"0.1.0\"\n{PYO3}{lib}")
}

fn pyproject(name: &str, maturin: &str) -> String {
    format!("[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"{name}\"\n[tool.maturin]\n{maturin}")
}

fn read(root: &Path) -> Project {
    read_project(root, &root.join("x.dist-info")).expect("a maturin project")
}

#[test]
fn mixed_project_whose_extension_has_the_packages_name() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("pyproject.toml"), &pyproject("my-mixed", ""));
    write(
        &root.join("Cargo.toml"),
        &cargo("my-mixed", Some("my_mixed")),
    );
    write(&root.join("my_mixed/__init__.py"), "");
    write(&root.join("my_mixed/my_mixed.abi3.so"), "");
    let project = read(root);
    assert_eq!(project.module_name, "my_mixed");
    assert_eq!(project.extension_dir, Some(root.join("my_mixed")));
    assert_eq!(
        project.installed_library(&[".abi3.so".into()]),
        Some(root.join("my_mixed/my_mixed.abi3.so"))
    );
}

#[test]
fn src_layout_with_the_crate_in_rust() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("pyproject.toml"), &pyproject("src-proj", ""));
    write(
        &root.join("rust/Cargo.toml"),
        &cargo("src-proj", Some("src_proj")),
    );
    write(&root.join("src/src_proj/__init__.py"), "");
    let project = read(root);
    assert_eq!(project.manifest_path, root.join("rust/Cargo.toml"));
    assert_eq!(project.extension_dir, Some(root.join("src/src_proj")));
    // Without the package in src/, rust/Cargo.toml is not the crate maturin builds.
    fs::remove_file(root.join("src/src_proj/__init__.py")).unwrap();
    assert_eq!(read_project(root, root), None, "no Cargo.toml at the root");
    // One of python-packages in src/ counts too.
    write(
        &root.join("pyproject.toml"),
        &pyproject("src-proj", "python-packages = [\"other\"]\n"),
    );
    write(&root.join("src/other/__init__.py"), "");
    assert_eq!(read(root).manifest_path, root.join("rust/Cargo.toml"));
}

#[test]
fn workspace_member_with_a_dotted_module_name_in_a_src_layout() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("pyproject.toml"),
        &pyproject(
            "ws-mixed",
            "python-packages = [\"ws_mixed\"]\nmodule-name = \"ws_mixed.ws_mixed_py\"\nmanifest-path = \"rust/python/ws-mixed-py/Cargo.toml\"\n",
        ),
    );
    write(
        &root.join("rust/Cargo.toml"),
        "[workspace]\nmembers = [\"python/ws-mixed-py\", \"core\"]\n",
    );
    write(
        &root.join("rust/python/ws-mixed-py/Cargo.toml"),
        &cargo("ws-mixed-py", Some("ws_mixed_py")),
    );
    write(&root.join("src/ws_mixed/__init__.py"), "");
    let project = read(root);
    assert_eq!(
        project.manifest_path,
        root.join("rust/python/ws-mixed-py/Cargo.toml")
    );
    assert_eq!(project.import_name, "ws_mixed");
    assert_eq!(project.extension_name(), "ws_mixed_py");
    assert_eq!(project.extension_dir, Some(root.join("src/ws_mixed")));
}

#[test]
fn python_source_and_nested_module_names() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("pyproject.toml"),
        &pyproject(
            "deep",
            "python-source = \"python\"\nmodule-name = \"deep.inner._native\"\n",
        ),
    );
    write(&root.join("Cargo.toml"), &cargo("deep", None));
    write(&root.join("python/deep/__init__.py"), "");
    let project = read(root);
    assert_eq!(project.extension_dir, Some(root.join("python/deep/inner")));
    assert_eq!(project.extension_name(), "_native");
    assert_eq!(project.python_dir, root.join("python"));
}

#[test]
fn out_dir_includes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(
        &root.join("pyproject.toml"),
        &pyproject(
            "gen",
            "include = [\"README.md\", { path = \"*.txt\", format = \"sdist\" }, { path = \"gen_*.py\", from = \"out-dir\", to = \"gen/\" }, { path = \"x\", from = \"out-dir\", to = \"gen/x\", crate_name = \"dep\" }]\n",
        ),
    );
    write(&root.join("Cargo.toml"), &cargo("gen", None));
    assert_eq!(
        read(root).out_dir_includes,
        [
            OutDirInclude {
                path: "gen_*.py".into(),
                to: "gen/".into(),
                crate_name: None
            },
            OutDirInclude {
                path: "x".into(),
                to: "gen/x".into(),
                crate_name: Some("dep".into())
            }
        ]
    );
}

#[test]
fn pure_layouts() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("pyproject.toml"), &pyproject("pure", ""));
    write(&root.join("Cargo.toml"), &cargo("pure", None));
    assert_eq!(read(root).extension_dir, None, "no package folder");
    // A folder named like the module that is a crate, not a package.
    write(&root.join("pure/Cargo.toml"), "");
    assert_eq!(read(root).extension_dir, None, "a crate folder");
    write(&root.join("pure/__init__.py"), "");
    assert_eq!(read(root).extension_dir, Some(root.join("pure")));
}

#[test]
fn a_crate_without_pyproject_toml_is_maturin_develops() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("Cargo.toml"), &cargo("bare-crate", None));
    let project = read(root);
    assert_eq!(project.module_name, "bare_crate");
    assert_eq!(project.manifest_path, root.join("Cargo.toml"));
    write(&root.join("setup.py"), "");
    assert_eq!(read_project(root, root), None, "a setuptools-rust project");
}

#[test]
fn module_name_precedence_is_maturins() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    write(&root.join("pyproject.toml"), &pyproject("py-name", ""));
    write(
        &root.join("Cargo.toml"),
        &cargo("crate-name", Some("lib_name")),
    );
    assert_eq!(read(root).module_name, "lib_name");
    write(&root.join("Cargo.toml"), &cargo("crate-name", None));
    assert_eq!(read(root).module_name, "py_name");
    write(
        &root.join("pyproject.toml"),
        "[build-system]\nbuild-backend = \"maturin\"\n",
    );
    assert_eq!(read(root).module_name, "crate_name");
    write(
        &root.join("pyproject.toml"),
        &pyproject("py-name", "module-name = \"explicit._ext\"\n"),
    );
    assert_eq!(read(root).module_name, "explicit._ext");
}

#[test]
fn options_that_change_a_build_become_cargo_arguments() {
    let table: Table = "all-features = false\nno-default-features = true\nlocked = true\nconfig = [\"profile.dev.opt-level=1\"]\nunstable-flags = [\"build-std\"]\nrustc-args = [\"--cfg\", \"fast\"]\ntarget = \"x86_64-unknown-linux-gnu\"\n".parse().unwrap();
    let options = BuildOptions::read(&table);
    assert_eq!(
        options.cargo_args,
        [
            "--no-default-features",
            "--locked",
            "--config",
            "profile.dev.opt-level=1",
            "-Z",
            "build-std",
            "--target",
            "x86_64-unknown-linux-gnu"
        ]
    );
    assert_eq!(options.rustc_args, ["--cfg", "fast"]);
    assert_eq!(
        options.describe(),
        "--no-default-features --locked --config profile.dev.opt-level=1 -Z build-std --target x86_64-unknown-linux-gnu -- --cfg fast"
    );
}
