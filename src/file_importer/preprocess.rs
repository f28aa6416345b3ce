//! The preprocessor: turns a single-file module into a crate in the build cache.
//!
//! The user's file is never copied or edited. The generated `Cargo.toml` points at it
//! (or at a small wrapper that `include!`s it), so rustc's diagnostics name the user's
//! own file and line numbers.

use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::file_importer::finder::MARKERS;
use crate::file_importer::graph;
use crate::file_importer::template::{self, Dialect, Exports, Template};
use crate::machinery::stable_abi;
use crate::platform;

/// What a crate's markers ask for: its template, and whose marker it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CrateMarker {
    pub template: Template,
    pub dialect: Dialect,
}

/// The template a marked crate asks for: a line naming it in the `.rusthook` (or
/// `.rustimport`) file (lines starting with `#` are comments), or the marker on the first
/// line of Cargo.toml (`# rusthook:cffi`). A crate is a pyo3 extension unless it says so.
///
/// A marker file is documentation as much as a marker (rustimport's own hold a sentence):
/// only a line that is a template's name means something. Anything else is ignored (and
/// said at DEBUG), except a single word in a `.rusthook` file that names no template:
/// that is a misspelt template, and an error.
pub fn crate_template(dir: &Path) -> Result<CrateMarker> {
    let mut dialect = None;
    for marker in MARKERS {
        let path = dir.join(format!(".{marker}"));
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let this = Dialect::of_marker(marker);
        dialect.get_or_insert(this);
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Some(template) = Template::named(line) {
                return Ok(CrateMarker {
                    template,
                    dialect: this,
                });
            }
            let one_word = !line.contains(char::is_whitespace);
            if this == Dialect::Rusthook && one_word {
                return Template::from_name(line, &path, index + 1).map(|template| CrateMarker {
                    template,
                    dialect: this,
                });
            }
            log::debug!(target: "rusthook.finder", "{}:{}: not a template name, ignored: {line}", path.display(), index + 1);
        }
    }
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let (line, first_line) = marker_candidate(&text);
    match marker_line(first_line) {
        Some((word, Some(name))) => Ok(CrateMarker {
            template: Template::from_name(name, &manifest, line)?,
            dialect: Dialect::of_marker(word),
        }),
        Some((word, None)) => Ok(CrateMarker {
            template: Template::Pyo3,
            dialect: *dialect.get_or_insert(Dialect::of_marker(word)),
        }),
        None => Ok(CrateMarker {
            template: Template::Pyo3,
            dialect: dialect.unwrap_or(Dialect::Rusthook),
        }),
    }
}

/// What the comment lines of a single-file module ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `None` for a bare `// rusthook`: the `//:` lines are the whole Cargo.toml.
    pub template: Option<Template>,
    /// Whose marker the file carries: the pyo3 template's default version follows it.
    pub dialect: Dialect,
    /// `//:` lines with their 1-based line numbers in the file.
    pub manifest_lines: Vec<(usize, String)>,
    /// `//d:` globs, relative to the file's directory.
    pub dependency_globs: Vec<String>,
    /// A notebook cell (`%%rust`): the pyo3 template, `use pyo3::prelude::*` implied, and
    /// the `#[pymodule]` always generated (the module is named after the cell's hash).
    pub cell: bool,
}

/// Reads the marker line, `//:` and `//d:` lines of a single-file module.
pub fn parse_header(path: &Path, text: &str) -> Result<Header> {
    let (line, first_line) = marker_candidate(text);
    let (dialect, template) = match marker_line(first_line) {
        None => (Dialect::Rusthook, None),
        Some((word, None)) => (Dialect::of_marker(word), None),
        Some((word, Some(name))) => (
            Dialect::of_marker(word),
            Some(Template::from_name(name, path, line)?),
        ),
    };
    Ok(Header {
        template,
        dialect,
        ..comment_lines(text)
    })
}

/// The `//:` and `//d:` lines of a text (no marker, no template).
fn comment_lines(text: &str) -> Header {
    let mut manifest_lines = Vec::new();
    let mut dependency_globs = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim_start();
        if let Some(toml_line) = line.strip_prefix("//:") {
            manifest_lines.push((index + 1, toml_line.to_string()));
        } else if let Some(glob) = line.strip_prefix("//d:") {
            let glob = glob.trim();
            if !glob.is_empty() {
                dependency_globs.push(glob.to_string());
            }
        }
    }
    Header {
        template: None,
        dialect: Dialect::Rusthook,
        manifest_lines,
        dependency_globs,
        cell: false,
    }
}

/// The header of a notebook cell: its `//:` and `//d:` lines, the pyo3 template (with the
/// pyo3 version of `dialect`: a `%%rustimport` cell gets rustimport's). A cell has no
/// marker line: its first line is the user's code.
pub fn parse_cell_header(text: &str, dialect: Dialect) -> Header {
    Header {
        template: Some(Template::Pyo3),
        dialect,
        cell: true,
        ..comment_lines(text)
    }
}

/// The line a marker is read from, and its 1-based number: the first line that is not
/// blank (where rustimport looks for its marker too).
pub fn marker_candidate(text: &str) -> (usize, &str) {
    text.lines()
        .enumerate()
        .find(|(_, line)| !line.trim().is_empty())
        .map_or((1, ""), |(index, line)| (index + 1, line))
}

/// The marker of a first line and the template named after it: `// rusthook:pyo3` ->
/// `("rusthook", Some("pyo3"))`, `// rustimport` -> `("rustimport", None)`
/// (rustimport also allows spaces around the colon).
pub fn marker_line(first_line: &str) -> Option<(&'static str, Option<&str>)> {
    MARKERS.iter().find_map(|marker| {
        let rest = &first_line[first_line.find(marker)? + marker.len()..];
        let name = rest
            .trim_start()
            .strip_prefix(':')
            .and_then(|name| name.split_whitespace().next());
        Some((*marker, name))
    })
}

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
    let mut manifest = merged_manifest(source_path, header, &package_name)?;
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

    let package = table_entry(&mut manifest, "package");
    package
        .entry("name")
        .or_insert_with(|| Value::from(package_name));
    package
        .entry("version")
        .or_insert_with(|| Value::from("0.1.0"));
    package
        .entry("edition")
        .or_insert_with(|| Value::from("2021"));
    package.entry("publish").or_insert(Value::Boolean(false));
    let lib = table_entry(&mut manifest, "lib");
    lib.insert("name".into(), Value::from(layout.lib_name));
    lib.insert("path".into(), Value::from(path_str(lib_path)?));
    lib.entry("crate-type")
        .or_insert_with(|| Value::Array(vec![Value::from("cdylib")]));
    // The crate lives in the build cache: never let cargo adopt it into a workspace above.
    manifest
        .entry("workspace")
        .or_insert_with(|| Value::Table(Table::new()));

    let pyo3_version = stable_abi::pyo3_version(&manifest);
    let stable_abi_floor = stable_abi::stable_abi_floor(&manifest);
    let manifest = manifest_text(&manifest, source_path)?;
    Ok(GeneratedCrate {
        manifest,
        wrapper,
        body,
        pyo3_version,
        stable_abi_floor,
        introspectable,
    })
}

/// The template's Cargo.toml with the `//:` lines merged over it (the user's keys win)
/// and relative `path` dependencies made absolute (the crate is built elsewhere).
pub fn merged_manifest(source_path: &Path, header: &Header, package_name: &str) -> Result<Table> {
    let mut user = parse_manifest_lines(source_path, &header.manifest_lines)?;
    let base_dir = source_path.parent().unwrap_or(Path::new("/"));
    absolutize_path_dependencies(&mut user, base_dir);
    let mut manifest = match header.template {
        Some(template) => {
            // The version the user's own graph asks for (`//:` lines, path dependencies).
            let from_graph = graph::pyo3_requirement(&user, base_dir);
            template.base_manifest(
                package_name,
                header.dialect.pyo3_dependency(from_graph.as_deref()),
            )
        }
        None => Table::new(),
    };
    merge(&mut manifest, user);
    Ok(manifest)
}

/// The text of a Cargo.toml rusthook generates from what `origin` says: a header naming
/// it, then the manifest.
pub fn manifest_text(manifest: &Table, origin: &Path) -> Result<String> {
    let toml = toml::to_string(manifest).map_err(|e| Error::ManifestLine {
        path: origin.to_path_buf(),
        line: 1,
        message: e.to_string(),
    })?;
    Ok(format!(
        "# Generated by rusthook from {}; rewritten on every build.\n{toml}",
        origin.display()
    ))
}

/// Parses the `//:` lines as one TOML document, reporting errors at the file's own line.
pub fn parse_manifest_lines(path: &Path, lines: &[(usize, String)]) -> Result<Table> {
    let text: String = lines.iter().map(|(_, line)| format!("{line}\n")).collect();
    text.parse::<Table>().map_err(|error| {
        let line_index = error
            .span()
            .map(|span| {
                // Bytes, not str: a span need not fall on a character boundary.
                let end = span.start.min(text.len());
                text.as_bytes()[..end]
                    .iter()
                    .filter(|&&b| b == b'\n')
                    .count()
            })
            .unwrap_or(0);
        let line = lines
            .get(line_index.min(lines.len().saturating_sub(1)))
            .map(|(number, _)| *number)
            .unwrap_or(1);
        Error::ManifestLine {
            path: path.to_path_buf(),
            line,
            message: error.message().trim().to_string(),
        }
    })
}

/// Deep-merges `user` into `base`; the user's keys win.
pub fn merge(base: &mut Table, user: Table) {
    for (key, value) in user {
        match (base.get_mut(&key), value) {
            (Some(Value::Table(base_table)), Value::Table(user_table)) => {
                merge(base_table, user_table)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// Makes relative `path = "..."` dependencies absolute: the crate is built from the cache.
pub fn absolutize_path_dependencies(manifest: &mut Table, base_dir: &Path) {
    fn fix_dependency_table(table: &mut Table, base_dir: &Path) {
        for (_, dependency) in table.iter_mut() {
            let Some(Value::String(path)) = dependency.get_mut("path") else {
                continue;
            };
            if Path::new(path.as_str()).is_relative() {
                // Resolved where it exists (no `..` left over); kept as written otherwise,
                // so cargo's error names the path the user wrote.
                let joined = base_dir.join(path.as_str());
                let absolute = platform::canonicalize(&joined).unwrap_or(joined);
                *path = absolute.to_string_lossy().into_owned();
            }
        }
    }
    const SECTIONS: [&str; 3] = ["dependencies", "dev-dependencies", "build-dependencies"];
    for section in SECTIONS {
        if let Some(Value::Table(table)) = manifest.get_mut(section) {
            fix_dependency_table(table, base_dir);
        }
    }
    if let Some(Value::Table(targets)) = manifest.get_mut("target") {
        for (_, target) in targets.iter_mut() {
            for section in SECTIONS {
                if let Some(Value::Table(table)) = target.get_mut(section) {
                    fix_dependency_table(table, base_dir);
                }
            }
        }
    }
    if let Some(Value::Table(patches)) = manifest.get_mut("patch") {
        for (_, registry) in patches.iter_mut() {
            if let Value::Table(table) = registry {
                fix_dependency_table(table, base_dir);
            }
        }
    }
}

/// `manifest[key]` as a table, created (or replacing a non-table) if needed.
pub fn table_entry<'a>(manifest: &'a mut Table, key: &str) -> &'a mut Table {
    let value = manifest
        .entry(key)
        .or_insert_with(|| Value::Table(Table::new()));
    if !value.is_table() {
        *value = Value::Table(Table::new());
    }
    match value {
        Value::Table(table) => table,
        _ => unreachable!("replaced by a table just above"),
    }
}

pub fn path_str(path: &Path) -> Result<&str> {
    path.to_str().ok_or_else(|| Error::NotASource {
        path: path.to_path_buf(),
        reason: "its path is not valid UTF-8, which Cargo.toml cannot hold; move it".into(),
    })
}

/// Splits the leading inner doc comments (`//!`) and inner attributes (`#![...]`) off a
/// file: returns them, and the text with their lines left empty.
pub fn split_inner_attributes(text: &str) -> (String, String) {
    let mut inner = String::new();
    let mut blanked = String::new();
    let mut open_brackets: i32 = 0;
    let mut in_header = true;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        let is_inner = in_header
            && (open_brackets > 0 || trimmed.starts_with("//!") || trimmed.starts_with("#!["));
        if is_inner {
            if !trimmed.starts_with("//") {
                open_brackets += bracket_balance(trimmed);
            }
            inner.push_str(line.trim_end());
            inner.push('\n');
            blanked.push_str(if line.ends_with('\n') { "\n" } else { "" });
            continue;
        }
        let is_comment_or_blank =
            trimmed.is_empty() || (trimmed.starts_with("//") && !trimmed.starts_with("///"));
        if in_header && !is_comment_or_blank {
            in_header = false;
        }
        blanked.push_str(line);
    }
    (inner, blanked)
}

fn bracket_balance(line: &str) -> i32 {
    line.chars().fold(0, |balance, c| match c {
        '[' => balance + 1,
        ']' => balance - 1,
        _ => balance,
    })
}

/// The files matched by absolute `//d:` globs (see [`absolute_globs`]).
pub fn expand_globs(absolute_globs: &[String]) -> Vec<PathBuf> {
    let mut matches = Vec::new();
    for pattern in absolute_globs {
        if let Ok(paths) = glob::glob(pattern) {
            matches.extend(paths.flatten().filter(|p| p.is_file()));
        }
    }
    matches.sort();
    matches.dedup();
    matches
}

/// The `//d:` globs made absolute against the file's directory (as stored in the record).
pub fn absolute_globs(base_dir: &Path, globs: &[String]) -> Vec<String> {
    globs
        .iter()
        .map(|g| {
            if Path::new(g).is_absolute() {
                g.clone()
            } else {
                format!(
                    "{}/{}",
                    glob::Pattern::escape(&base_dir.to_string_lossy()),
                    g
                )
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn header_reads_template_manifest_lines_and_globs() {
        let header = parse_header(Path::new("/src/fast.rs"), FAST).unwrap();
        assert_eq!(header.template, Some(Template::Pyo3));
        assert_eq!(
            header.manifest_lines,
            [
                (2, " [dependencies]".to_string()),
                (3, " itoa = \"1\"".to_string())
            ]
        );
        assert_eq!(header.dependency_globs, ["data/*.txt"]);
    }

    #[test]
    fn marker_variants() {
        let parse = |first: &str| parse_header(Path::new("x.rs"), first).map(|h| h.template);
        assert_eq!(parse("// rusthook").unwrap(), None);
        assert_eq!(
            parse("\n  \n// rustimport : PyO3\n").unwrap(),
            Some(Template::Pyo3),
            "blank lines before the marker, spaces and case as rustimport allows them"
        );
        let err = parse("\n// rustimport:pyo4").unwrap_err().to_string();
        assert!(err.starts_with("x.rs:2: unknown template `pyo4`"), "{err}");
        assert_eq!(parse("// rustimport").unwrap(), None);
        assert_eq!(parse("// rustimport:pyo3").unwrap(), Some(Template::Pyo3));
        assert_eq!(
            parse("//rusthook:pyo3 extra words").unwrap(),
            Some(Template::Pyo3)
        );
        let err = parse("// rusthook:pyo2").unwrap_err().to_string();
        assert!(err.starts_with("x.rs:1: unknown template `pyo2`"), "{err}");
        assert!(err.contains("known templates: pyo3"), "{err}");
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
        let (inner, blanked) = split_inner_attributes(text);
        assert_eq!(inner, "//! Module docs.\n#![allow(\n    dead_code\n)]\n");
        assert_eq!(blanked.lines().count(), text.lines().count());
        assert_eq!(blanked.lines().nth(5), Some("use pyo3::prelude::*;"));
        assert_eq!(blanked.lines().nth(6), Some("//! not leading"));
        assert!(!blanked.contains("Module docs"));

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

    #[test]
    fn globs_are_relative_to_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("data")).unwrap();
        std::fs::write(dir.path().join("data/a.txt"), "").unwrap();
        std::fs::write(dir.path().join("data/b.bin"), "").unwrap();
        let found = expand_globs(&absolute_globs(dir.path(), &["data/*.txt".to_string()]));
        assert_eq!(found, [dir.path().join("data/a.txt")]);
    }
}
