//! The crate generated for a single-file module or a notebook cell: its Cargo.toml (see
//! `manifest`), the `#[pymodule]` wrapper when the template generates one, and the copy
//! of the user's text without its leading inner attributes when it has any.
//!
//! The user's file is never copied or edited otherwise. The generated `Cargo.toml`
//! points at it (or at a small wrapper that `include!`s it), so rustc's diagnostics name
//! the user's own file and line numbers.

use std::path::Path;

use crate::error::{Error, Result};
use crate::file_importer::manifest;
use crate::file_importer::preprocess::{split_inner_attributes, Header};
use crate::file_importer::template::{self, Exports, Template};
use crate::machinery::stable_abi;

/// The files of the crate generated for a single-file module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedCrate {
    pub manifest: String,
    /// The `#[pymodule]` wrapper, when the template generates one.
    pub wrapper: Option<String>,
    /// The user's text with its leading inner attributes blanked out, when it has any:
    /// `include!` cannot take `//!` or `#![...]`, so the wrapper carries them and
    /// includes this copy (written to `CrateLayout::body_path`) instead. Line and column
    /// numbers are unchanged, so diagnostics map back to the user's file exactly.
    pub body: Option<String>,
    /// The pyo3 version requirement of the generated Cargo.toml, if it has one: which
    /// lock-file seed the crate starts from.
    pub pyo3_version: Option<String>,
    /// The stable-ABI floor its pyo3 asks for (see `stable_abi::stable_abi_floor`):
    /// which partition compiles it.
    pub stable_abi_floor: Option<u32>,
    /// Built with pyo3's introspection data: asked for, and its pyo3 has it (the
    /// generated `#[pymodule]` is then declarative, the form introspection reads).
    pub introspectable: bool,
}

/// Where the generated crate's files go and what it is called.
pub struct CrateLayout<'a> {
    pub module: &'a str,
    /// The cargo lib name: unique per source, so that libraries of same-named modules
    /// never overwrite each other in the shared target directory.
    pub lib_name: &'a str,
    pub wrapper_path: &'a Path,
    pub body_path: &'a Path,
    /// Build it with pyo3's introspection data (stubs were asked for).
    pub introspect: bool,
}

/// Generates Cargo.toml (and a `#[pymodule]` wrapper if needed) for `source_path`.
pub fn generate_crate(
    source_path: &Path,
    text: &str,
    header: &Header,
    layout: &CrateLayout,
) -> Result<GeneratedCrate> {
    let package_name = format!(
        "rusthook-{}",
        layout.module.trim_start_matches('_').replace('_', "-")
    );
    let mut manifest = manifest::of_single_file(source_path, header, &package_name)?;
    let introspectable = layout.introspect
        && header.template == Some(Template::Pyo3)
        && template::introspectable(stable_abi::pyo3_version(&manifest).as_deref());

    let mut body = None;
    let wrapper = match header.template {
        Some(Template::Pyo3) => {
            let exports = template::find_exports(text);
            if exports.as_ref().is_some_and(Exports::is_empty) {
                let what = if header.cell {
                    "the cell".to_string()
                } else {
                    source_path.display().to_string()
                };
                log::warn!(target: "rusthook.builder", "{what} defines no #[pyfunction] or #[pyclass] (and no #[pymodule]), so the module `{}` is empty", layout.module);
            }
            let exports = exports.unwrap_or_default();
            if header.cell && exports.has_pymodule {
                return Err(Error::CellPymodule {
                    path: source_path.to_path_buf(),
                });
            }
            (!exports.has_pymodule).then(|| {
                let (inner_attributes, blanked) = split_inner_attributes(text);
                let included = if inner_attributes.is_empty() {
                    source_path
                } else {
                    body = Some(blanked);
                    layout.body_path
                };
                template::pymodule_wrapper(
                    source_path,
                    included,
                    &inner_attributes,
                    layout.module,
                    &exports,
                    header.cell,
                    introspectable,
                )
            })
        }
        Some(Template::Cffi) | None => None,
    };
    let lib_path = if wrapper.is_some() {
        layout.wrapper_path
    } else {
        source_path
    };

    manifest::complete_single_file(&mut manifest, package_name, layout.lib_name, lib_path)?;
    let pyo3_version = stable_abi::pyo3_version(&manifest);
    let stable_abi_floor = stable_abi::stable_abi_floor(&manifest);
    let manifest = manifest::text(&manifest, source_path)?;
    Ok(GeneratedCrate {
        manifest,
        wrapper,
        body,
        pyo3_version,
        stable_abi_floor,
        introspectable,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_importer::preprocess::parse_header;
    use toml::Table;

    const FAST: &str = "// rusthook:pyo3\n//: [dependencies]\n//: itoa = \"1\"\n//d: data/*.txt\nuse pyo3::prelude::*;\n\n#[pyfunction]\nfn double(x: i64) -> i64 { x * 2 }\n\n#[pyclass]\nstruct Point { x: i64 }\n\n#[pyclass]\nenum Color { Red }\n\nfn helper() {}\n";

    fn layout() -> CrateLayout<'static> {
        CrateLayout {
            module: "fast",
            lib_name: "fast_0123abcd",
            wrapper_path: Path::new("/cache/fast/wrapper.rs"),
            body_path: Path::new("/cache/fast/fast.rs"),
            introspect: false,
        }
    }

    #[test]
    fn pyo3_template_merges_user_lines_and_generates_a_module() {
        let header = parse_header(Path::new("/src/fast.rs"), FAST).unwrap();
        let generated =
            generate_crate(Path::new("/src/fast.rs"), FAST, &header, &layout()).unwrap();
        let manifest: Table = generated.manifest.parse().unwrap();
        assert_eq!(manifest["dependencies"]["itoa"].as_str(), Some("1"));
        assert_eq!(
            manifest["dependencies"]["pyo3"]["version"].as_str(),
            Some(template::PYO3_REQUIREMENT)
        );
        assert_eq!(manifest["lib"]["name"].as_str(), Some("fast_0123abcd"));
        assert_eq!(
            manifest["lib"]["path"].as_str(),
            Some("/cache/fast/wrapper.rs")
        );
        assert!(manifest.contains_key("workspace"));
        let wrapper = generated.wrapper.unwrap();
        assert!(wrapper.contains("include!(\"/src/fast.rs\");"), "{wrapper}");
        assert!(wrapper.contains("#[pyo3(name = \"fast\")]"));
        assert!(wrapper.contains("wrap_pyfunction!(double, m)"));
        assert!(wrapper.contains("add_class::<Point>()"));
        assert!(wrapper.contains("add_class::<Color>()"));
        assert!(!wrapper.contains("helper"));
    }

    #[test]
    fn own_pymodule_builds_the_file_directly() {
        let text = "// rusthook:pyo3\nuse pyo3::prelude::*;\n#[pymodule]\nfn fast(_m: &Bound<'_, PyModule>) -> PyResult<()> { Ok(()) }\n";
        let header = parse_header(Path::new("/src/fast.rs"), text).unwrap();
        let generated =
            generate_crate(Path::new("/src/fast.rs"), text, &header, &layout()).unwrap();
        assert_eq!(generated.wrapper, None);
        let manifest: Table = generated.manifest.parse().unwrap();
        assert_eq!(manifest["lib"]["path"].as_str(), Some("/src/fast.rs"));
    }

    #[test]
    fn user_keys_win_and_relative_paths_are_resolved() {
        let text = "// rusthook:pyo3\n//: [dependencies]\n//: pyo3 = \"0.29\"\n//: helper = { path = \"../helper\" }\n//: [package]\n//: edition = \"2024\"\n";
        let header = parse_header(Path::new("/src/fast.rs"), text).unwrap();
        let generated =
            generate_crate(Path::new("/src/fast.rs"), text, &header, &layout()).unwrap();
        let manifest: Table = generated.manifest.parse().unwrap();
        assert_eq!(manifest["dependencies"]["pyo3"].as_str(), Some("0.29"));
        assert_eq!(
            manifest["dependencies"]["helper"]["path"]
                .as_str()
                .map(Path::new),
            Some(Path::new("/src/../helper"))
        );
        assert_eq!(manifest["package"]["edition"].as_str(), Some("2024"));
    }

    #[test]
    fn bare_marker_means_the_lines_are_the_whole_manifest() {
        let text = "// rustimport\n//: [dependencies]\n//: cpython = \"0.7\"\n";
        let header = parse_header(Path::new("/src/fast.rs"), text).unwrap();
        let generated =
            generate_crate(Path::new("/src/fast.rs"), text, &header, &layout()).unwrap();
        let manifest: Table = generated.manifest.parse().unwrap();
        assert!(manifest["dependencies"].get("pyo3").is_none());
        assert_eq!(manifest["dependencies"]["cpython"].as_str(), Some("0.7"));
        assert_eq!(manifest["lib"]["path"].as_str(), Some("/src/fast.rs"));
        assert_eq!(generated.wrapper, None);
    }

    #[test]
    fn malformed_toml_names_the_file_and_line() {
        let text = "// rusthook:pyo3\nuse x;\n//: [dependencies]\n//: itoa = \"1\n";
        let header = parse_header(Path::new("/src/fast.rs"), text).unwrap();
        let err = generate_crate(Path::new("/src/fast.rs"), text, &header, &layout())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/src/fast.rs:4: invalid `//:` Cargo.toml line"),
            "{err}"
        );
    }

    #[test]
    fn inner_attributes_move_to_the_wrapper_and_lines_stay_put() {
        let text = "// rusthook:pyo3\n//! Module docs.\n#![allow(\n    dead_code\n)]\nuse pyo3::prelude::*;\n//! not leading\n#[pyfunction]\nfn f() {}\n";
        let (_, blanked) = split_inner_attributes(text);
        let header = parse_header(Path::new("/src/fast.rs"), text).unwrap();
        let generated =
            generate_crate(Path::new("/src/fast.rs"), text, &header, &layout()).unwrap();
        let wrapper = generated.wrapper.unwrap();
        assert!(
            wrapper.starts_with("//! Module docs.\n#![allow("),
            "{wrapper}"
        );
        assert!(
            wrapper.contains("include!(\"/cache/fast/fast.rs\");"),
            "{wrapper}"
        );
        assert_eq!(generated.body.as_deref(), Some(blanked.as_str()));
    }

    #[test]
    fn files_without_inner_attributes_are_included_directly() {
        let header = parse_header(Path::new("/src/fast.rs"), FAST).unwrap();
        let generated =
            generate_crate(Path::new("/src/fast.rs"), FAST, &header, &layout()).unwrap();
        assert_eq!(generated.body, None);
    }
}
