//! The preprocessor: what a source's comment lines ask for. The marker line (its
//! template and dialect; for a marked crate, its marker files), `//:` lines (Cargo.toml
//! lines, read as one document), `//d:` globs (more files a build depends on), and the
//! leading inner attributes that `include!` cannot take.

use std::path::{Path, PathBuf};

use toml::Table;

use crate::error::{Error, Result};
use crate::file_importer::finder::MARKERS;
use crate::file_importer::template::{Dialect, Template};

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
            let one_word = !line.contains(char::is_whitespace);
            match Template::named(line, &path, index + 1) {
                Ok(template) => {
                    return Ok(CrateMarker {
                        template,
                        dialect: this,
                    })
                }
                // A single word in a `.rusthook` file is a misspelt template.
                Err(error) if this == Dialect::Rusthook && one_word => return Err(error),
                Err(_) => {}
            }
            log::debug!(target: "rusthook.finder", "{}:{}: not a template name, ignored: {line}", path.display(), index + 1);
        }
    }
    let manifest = dir.join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap_or_default();
    let (line, first_line) = marker_candidate(&text);
    match marker_line(first_line) {
        Some((word, Some(name))) => Ok(CrateMarker {
            template: Template::named(name, &manifest, line)?,
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
            Some(Template::named(name, path, line)?),
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
    fn inner_attributes_are_split_off_and_lines_stay_put() {
        let text = "// rusthook:pyo3\n//! Module docs.\n#![allow(\n    dead_code\n)]\nuse pyo3::prelude::*;\n//! not leading\n#[pyfunction]\nfn f() {}\n";
        let (inner, blanked) = split_inner_attributes(text);
        assert_eq!(inner, "//! Module docs.\n#![allow(\n    dead_code\n)]\n");
        assert_eq!(blanked.lines().count(), text.lines().count());
        assert_eq!(blanked.lines().nth(5), Some("use pyo3::prelude::*;"));
        assert_eq!(blanked.lines().nth(6), Some("//! not leading"));
        assert!(!blanked.contains("Module docs"));
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
