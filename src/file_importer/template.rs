//! The templates a marker names (`// rusthook:pyo3`, `// rusthook:cffi`), and everything
//! each one decides: the Cargo.toml a source starts from, the `#[pymodule]` generated for
//! a file that has none, and the files `new` and `eject` write.

use std::path::Path;

use toml::{Table, Value};

use crate::error::{Error, Result};

/// The pyo3 version the `pyo3` template gives a `// rusthook:pyo3` source (with `abi3-py39`).
pub const PYO3_REQUIREMENT: &str = "0.30";

/// The pyo3 version rustimport's own template gives a source (rustimport 1.7.1 pins
/// `0.23.4` with `extension-module`, no abi3): a `// rustimport:pyo3` source that asks
/// for no version gets it, so code written under rustimport compiles and behaves as it
/// did there.
pub const RUSTIMPORT_PYO3_REQUIREMENT: &str = "0.23.4";

/// The maturin version ejected projects build with (as rusthook itself does).
pub const MATURIN_REQUIREMENT: &str = "maturin>=1.9.4,<2";

/// A template: the starting point of the generated Cargo.toml and crate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// cdylib with pyo3 (abi3 where possible); generates a `#[pymodule]` when the file has none.
    Pyo3,
    /// A plain C-ABI cdylib (no pyo3), loaded with cffi: its `#[no_mangle] extern "C"`
    /// functions are declared to cffi from the source.
    Cffi,
}

/// Which tool's marker a source carries (`// rusthook:pyo3` or `// rustimport:pyo3`, a
/// `.rusthook` or `.rustimport` file): the pyo3 template's default version follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Rusthook,
    Rustimport,
}

impl Dialect {
    /// The dialect of a marker word (`rusthook`, `rustimport`).
    pub fn of_marker(word: &str) -> Dialect {
        if word == "rustimport" {
            Dialect::Rustimport
        } else {
            Dialect::Rusthook
        }
    }

    /// The pyo3 dependency the template gives a source of this dialect. `from_graph` is
    /// the version the user's dependency graph asks for (a path dependency's pyo3), if
    /// any: two pyo3 versions cannot be linked into one library (`links = "python"`), so
    /// that one wins. Within the dialect's own series the dialect's features are kept
    /// (the shared target directory then compiles pyo3 once); another series gets only
    /// what makes it an extension module, and the graph's own features.
    pub fn pyo3_dependency(self, from_graph: Option<&str>) -> Table {
        let default = match self {
            Dialect::Rusthook => PYO3_REQUIREMENT,
            Dialect::Rustimport => RUSTIMPORT_PYO3_REQUIREMENT,
        };
        let (version, feature) = match from_graph {
            Some(version) if !same_series(version, default) => (version, "extension-module"),
            _ => match self {
                Dialect::Rusthook => (PYO3_REQUIREMENT, "abi3-py39"),
                Dialect::Rustimport => (RUSTIMPORT_PYO3_REQUIREMENT, "extension-module"),
            },
        };
        let mut pyo3 = Table::new();
        pyo3.insert("version".into(), Value::from(version));
        pyo3.insert("features".into(), Value::Array(vec![Value::from(feature)]));
        pyo3
    }
}

/// True when two version requirements name the same semver-compatible series
/// (`0.23.4` and `^0.23` do; `0.23` and `0.30` do not).
pub fn same_series(a: &str, b: &str) -> bool {
    series(a) == series(b)
}

/// The semver-compatible series a version requirement names: `^0.23.4` -> `0.23`,
/// `1.2` -> `1`.
pub fn series(requirement: &str) -> String {
    let version = requirement
        .trim()
        .trim_start_matches(['^', '=', '~', '>', '<', ' '])
        .split(',')
        .next()
        .unwrap_or("")
        .trim();
    let parts: Vec<&str> = version.split('.').collect();
    let significant = parts
        .iter()
        .position(|part| *part != "0")
        .map_or(parts.len(), |index| index + 1);
    parts[..significant.min(parts.len())].join(".")
}

impl Template {
    pub const ALL: [(&'static str, Template); 2] =
        [("pyo3", Template::Pyo3), ("cffi", Template::Cffi)];

    /// The template called `name` (in any case, as rustimport reads it), or an error at
    /// `path:line` (where the name was read) listing the known ones.
    pub fn named(name: &str, path: &Path, line: usize) -> Result<Template> {
        Template::ALL
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, template)| *template)
            .ok_or_else(|| Error::UnknownTemplate {
                path: path.to_path_buf(),
                line,
                template: name.to_string(),
                known: Template::ALL.map(|(known, _)| known).join(", "),
            })
    }

    /// True when the library is a Python extension module (it exports `PyInit_<name>`
    /// and can be written beside its source); a cffi library is loaded with cffi.
    pub fn builds_extension_module(self) -> bool {
        match self {
            Template::Pyo3 => true,
            Template::Cffi => false,
        }
    }

    /// The Cargo.toml this template starts from; the user's `//:` lines (or a crate's own
    /// Cargo.toml) are merged over it. `pyo3` is the dependency a pyo3 template adds
    /// ([`Dialect::pyo3_dependency`]).
    pub fn base_manifest(self, package_name: &str, pyo3: Table) -> Table {
        match self {
            Template::Pyo3 => pyo3_manifest(package_name, pyo3),
            Template::Cffi => Table::new(),
        }
    }
}

/// The profile settings the pyo3 template adds: dependencies (pyo3 and the rest) are
/// compiled without debug info in debug builds. Their debug info is most of the
/// first build's code generation and linking (about 7% of its CPU time, on its critical
/// path) and rarely looked at; the module's own code keeps full debug info. The user's
/// keys win (`//: [profile.dev.package."*"]` / `//: debug = true` brings it back).
pub fn dependency_profile() -> Table {
    let mut all_dependencies = Table::new();
    all_dependencies.insert("debug".into(), Value::Boolean(false));
    let mut package = Table::new();
    package.insert("*".into(), Value::Table(all_dependencies));
    let mut dev = Table::new();
    dev.insert("package".into(), Value::Table(package));
    let mut profile = Table::new();
    profile.insert("dev".into(), Value::Table(dev));
    profile
}

fn pyo3_manifest(package_name: &str, pyo3: Table) -> Table {
    let mut package = Table::new();
    package.insert("name".into(), Value::from(package_name));
    package.insert("version".into(), Value::from("0.1.0"));
    package.insert("edition".into(), Value::from("2021"));
    let mut dependencies = Table::new();
    dependencies.insert("pyo3".into(), Value::Table(pyo3));
    let mut manifest = Table::new();
    manifest.insert("package".into(), Value::Table(package));
    manifest.insert("dependencies".into(), Value::Table(dependencies));
    manifest.insert("profile".into(), Value::Table(dependency_profile()));
    manifest
}

/// Whether a source depending on this pyo3 requirement (`None`: the template's own) can
/// be built with pyo3's introspection data that `pyo3-introspection` reads: the 0.30
/// series, whose data format the reader knows.
pub fn introspectable(pyo3_requirement: Option<&str>) -> bool {
    crate::stubs::introspectable(pyo3_requirement.unwrap_or(PYO3_REQUIREMENT))
}

/// Whether this pyo3 requirement (`None`: the template's own) gives trailing `Option`
/// parameters an implicit default of `None`, as pyo3 did before 0.24.
pub fn implicit_option_defaults(pyo3_requirement: Option<&str>) -> bool {
    let series = series(pyo3_requirement.unwrap_or(PYO3_REQUIREMENT));
    let mut parts = series.split('.');
    match (parts.next(), parts.next().map(str::parse::<u32>)) {
        (Some("0"), Some(Ok(minor))) => minor < 24,
        _ => false,
    }
}

/// The Python-visible items of a file, found by parsing it: what the generated
/// `#[pymodule]` registers.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Exports {
    pub functions: Vec<String>,
    pub classes: Vec<String>,
    pub has_pymodule: bool,
}

impl Exports {
    /// Nothing for Python: no function, no class, no module of its own.
    pub fn is_empty(&self) -> bool {
        self.functions.is_empty() && self.classes.is_empty() && !self.has_pymodule
    }
}

/// Top-level `#[pyfunction]`s, `#[pyclass]`es and whether there is a `#[pymodule]`
/// anywhere pyo3 takes one (see `stubs::declares_pymodule`). `None` when the
/// file does not parse: rustc will then report the syntax error against the file itself.
pub fn find_exports(text: &str) -> Option<Exports> {
    let file = syn::parse_file(text).ok()?;
    let has_attr = |attrs: &[syn::Attribute], name: &str| {
        attrs
            .iter()
            .any(|a| a.path().segments.last().is_some_and(|s| s.ident == name))
    };
    let mut exports = Exports::default();
    for item in &file.items {
        match item {
            syn::Item::Fn(f) if has_attr(&f.attrs, "pyfunction") => {
                exports.functions.push(f.sig.ident.to_string())
            }
            syn::Item::Struct(s) if has_attr(&s.attrs, "pyclass") => {
                exports.classes.push(s.ident.to_string())
            }
            syn::Item::Enum(e) if has_attr(&e.attrs, "pyclass") => {
                exports.classes.push(e.ident.to_string())
            }
            _ => {}
        }
    }
    exports.has_pymodule = crate::stubs::declares_pymodule(&file.items);
    Some(exports)
}

/// The `#[pymodule]` function that registers a file's functions and classes as `module`.
pub fn pymodule_function(module: &str, exports: &Exports) -> String {
    let mut registrations = String::new();
    for function in &exports.functions {
        registrations.push_str(&format!(
            "    m.add_function(::pyo3::wrap_pyfunction!({function}, m)?)?;\n"
        ));
    }
    for class in &exports.classes {
        registrations.push_str(&format!("    m.add_class::<{class}>()?;\n"));
    }
    if registrations.is_empty() {
        registrations.push_str("    let _ = m;\n");
    }
    format!(
        r#"#[::pyo3::pymodule]
#[pyo3(name = "{module}")]
fn __rusthook_pymodule(m: &::pyo3::Bound<'_, ::pyo3::types::PyModule>) -> ::pyo3::PyResult<()> {{
    #[allow(unused_imports)]
    use ::pyo3::types::PyModuleMethods as _;
{registrations}    Ok(())
}}
"#
    )
}

/// The same module in pyo3's declarative form (`#[pymodule] mod`), the only form pyo3's
/// introspection can read: generated when a build's stub is wanted.
pub fn pymodule_declarative(module: &str, exports: &Exports) -> String {
    let names: Vec<&str> = exports
        .functions
        .iter()
        .chain(&exports.classes)
        .map(String::as_str)
        .collect();
    let export = if names.is_empty() {
        String::new()
    } else {
        format!(
            "    #[pymodule_export]\n    use super::{{{}}};\n",
            names.join(", ")
        )
    };
    format!(
        r#"#[::pyo3::pymodule]
#[pyo3(name = "{module}")]
mod __rusthook_pymodule {{
{export}}}
"#
    )
}

/// A crate root that includes the user's file (`included_path`) and registers its
/// functions and classes. `inner_attributes` are the file's own `//!` and `#![...]`
/// lines, which `include!` cannot take; `implied_prelude` adds a notebook cell's
/// `use pyo3::prelude::*`.
pub fn pymodule_wrapper(
    source_path: &Path,
    included_path: &Path,
    inner_attributes: &str,
    module: &str,
    exports: &Exports,
    implied_prelude: bool,
    declarative: bool,
) -> String {
    // A cell's implied `use`: the included items see the wrapper's imports, so the
    // cell's own line numbers stay as the user wrote them.
    let prelude = if implied_prelude {
        "#[allow(unused_imports)]\nuse ::pyo3::prelude::*;\n"
    } else {
        ""
    };
    format!(
        r#"{inner_attributes}// Generated by rusthook from {display}; rewritten on every build.
{prelude}include!({literal:?});

{module_function}"#,
        display = source_path.display(),
        literal = included_path.to_string_lossy(),
        module_function = if declarative {
            pymodule_declarative(module, exports)
        } else {
            pymodule_function(module, exports)
        },
    )
}

/// The module `python -m rusthook warm` builds: the pyo3 template's dependencies, and
/// nothing else to speak of.
pub const WARM_SOURCE: &str = "// rusthook:pyo3
// Built by `python -m rusthook warm`: compiles the pyo3 template's dependencies ahead of
// the first real import.
use pyo3::prelude::*;

#[pyfunction]
fn ready() -> bool {
    true
}
";

/// The files of a new importable crate `name` (`python -m rusthook new NAME`):
/// `(relative path, text)`.
pub fn new_crate_files(name: &str) -> [(&'static str, String); 3] {
    [
        (
            ".rusthook",
            "# This file marks the crate as importable by rusthook.\n".to_string(),
        ),
        (
            "Cargo.toml",
            format!(
                r#"[package]
name = "{package}"
version = "0.1.0"
edition = "2021"

[lib]
crate-type = ["cdylib"]

[dependencies]
pyo3 = {{ version = "{PYO3_REQUIREMENT}", features = ["abi3-py39"] }}
"#,
                package = name.replace('_', "-")
            ),
        ),
        (
            "src/lib.rs",
            format!(
                r#"use pyo3::prelude::*;

/// Imported from Python as `import {name}`.
#[pymodule]
mod {name} {{
    use pyo3::prelude::*;

    /// Adds two numbers.
    #[pyfunction]
    fn add(a: i64, b: i64) -> i64 {{
        a + b
    }}
}}
"#
            ),
        ),
    ]
}

/// The text of a new single-file module (`python -m rusthook new NAME.rs`).
pub fn new_file_text() -> &'static str {
    r#"// rusthook:pyo3
use pyo3::prelude::*;

/// Adds two numbers.
#[pyfunction]
fn add(a: i64, b: i64) -> i64 {
    a + b
}
"#
}

/// The pyproject.toml of a project ejected from a pyo3 module `name`.
pub fn ejected_pyproject(name: &str) -> String {
    format!(
        r#"[build-system]
requires = ["{MATURIN_REQUIREMENT}"]
build-backend = "maturin"

[project]
name = "{name}"
requires-python = ">=3.9"
dynamic = ["version"]

[tool.maturin]
bindings = "pyo3"
module-name = "{name}"
"#
    )
}

#[cfg(test)]
mod tests;
