//! The finder: which import name maps to which Rust source.
//!
//! Python's own finders decide first: rusthook's import hook asks importlib's
//! `PathFinder`, and asks this finder only where that found no module or package of the
//! name (at most a namespace package, which a crate folder looks like), or found an
//! extension module (perhaps the in-place build of a changed `.rs` file beside it). So a
//! Python module wins wherever it is on the path, and this search needs no directory
//! listing: a miss costs two failed `stat`s per search-path entry.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file_importer::template::Dialect;
use crate::platform::{Os, Target};

/// What kind of Rust source a module comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A single `name.rs` whose first line carries the marker.
    File,
    /// A directory `name/` with `Cargo.toml` and a marker.
    Crate,
    /// The code of a notebook cell (`%%rust`, or `%%rustimport` with rustimport's pyo3
    /// version), saved as a `.rs` file without a marker.
    Cell(Dialect),
}

/// A Rust source that builds into the extension module `name`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The module's own name (the last component of the dotted import name).
    pub name: String,
    pub kind: SourceKind,
    /// Absolute path of the `.rs` file or the crate directory.
    pub path: PathBuf,
}

impl Source {
    /// The directory builds run in and relative paths are resolved against.
    pub fn base_dir(&self) -> &Path {
        match self.kind {
            SourceKind::File | SourceKind::Cell(_) => self.path.parent().unwrap_or(Path::new("/")),
            SourceKind::Crate => &self.path,
        }
    }
}

/// The words that mark a file or crate as importable (rustimport's are accepted as well).
pub const MARKERS: [&str; 2] = ["rusthook", "rustimport"];

/// The Rust source for `name` (one component) on `search_path`, in path order: a marked
/// `name.rs`, else a marked crate folder `name/`. See the module docs for what the
/// caller has checked first. `crate_folders: false` skips the crate check, when the
/// caller knows there is no folder `name/` on the path (importlib's `PathFinder` found
/// nothing at all, not even a namespace package).
pub fn find(name: &str, search_path: &[PathBuf], crate_folders: bool) -> Option<Source> {
    search_path
        .iter()
        .find_map(|entry| find_in(name, entry, crate_folders))
}

fn find_in(name: &str, dir: &Path, crate_folders: bool) -> Option<Source> {
    // An empty entry is the current directory; a relative join keeps it so.
    let file_name = format!("{name}.rs");
    let file = dir.join(&file_name);
    if file.is_file() && has_exact_name(dir, &file_name) && has_marker(&file) {
        return Some(Source {
            name: name.to_string(),
            kind: SourceKind::File,
            path: std::path::absolute(&file).unwrap_or(file),
        });
    }
    if !crate_folders {
        return None;
    }
    let crate_dir = dir.join(name);
    if is_marked_crate(&crate_dir) && has_exact_name(dir, name) {
        return Some(Source {
            name: name.to_string(),
            kind: SourceKind::Crate,
            path: std::path::absolute(&crate_dir).unwrap_or(crate_dir),
        });
    }
    None
}

/// On a case-insensitive file system `stat("Fast.rs")` finds `fast.rs`, while importlib
/// matches names exactly (it compares against directory listings); so does rusthook.
fn has_exact_name(dir: &Path, file_name: &str) -> bool {
    if !matches!(Target::HOST.os, Os::MacOs | Os::Windows) {
        return true;
    }
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    fs::read_dir(dir).is_ok_and(|entries| entries.flatten().any(|e| e.file_name() == file_name))
}

/// Every importable Rust source below `root` (for `build_all`), sorted by path.
/// Hidden folders, `target/`, `__pycache__` and virtual environments are skipped,
/// and so is everything inside a crate (its `.rs` files are not modules).
pub fn find_all(root: &Path) -> Result<Vec<Source>> {
    let root = std::path::absolute(root).map_err(Error::io("cannot resolve", root))?;
    if !root.is_dir() {
        return Err(Error::NotASource {
            path: root,
            reason: "it is not a directory".into(),
        });
    }
    let mut sources = Vec::new();
    let mut walk = walkdir::WalkDir::new(&root).sort_by_file_name().into_iter();
    while let Some(entry) = walk.next() {
        let entry = entry.map_err(|e| Error::Io {
            action: "cannot list",
            path: e.path().unwrap_or(&root).to_path_buf(),
            source: e.into(),
        })?;
        let path = entry.path();
        let file_name = entry.file_name().to_string_lossy();
        if entry.file_type().is_dir() {
            if entry.depth() > 0 && is_skipped_dir(path, &file_name) {
                walk.skip_current_dir();
            } else if entry.depth() > 0 && is_marked_crate(path) {
                sources.push(source_from_path(path)?);
                walk.skip_current_dir();
            }
        } else if file_name.ends_with(".rs") && has_marker(path) {
            sources.push(source_from_path(path)?);
        }
    }
    Ok(sources)
}

/// The source at an explicit path: a marked `.rs` file or a marked crate directory, as
/// the hook would import it (the module name is checked when it is built).
pub fn source_from_path(path: &Path) -> Result<Source> {
    let path = normalized(&std::path::absolute(path).map_err(Error::io("cannot resolve", path))?);
    let (stem, kind) = if path.is_dir() {
        if !path.join("Cargo.toml").is_file() {
            return Err(Error::NotASource {
                path,
                reason: "a crate directory needs a Cargo.toml".into(),
            });
        }
        if !is_marked_crate(&path) {
            return Err(Error::NotASource {
                reason: format!(
                    "the crate has no marker, so `import {name}` would not find it either; \
                     add an empty `.rusthook` file to it (or make `# rusthook` the first line \
                     of its Cargo.toml)",
                    name = path.file_name().unwrap_or_default().to_string_lossy()
                ),
                path,
            });
        }
        (path.file_name(), SourceKind::Crate)
    } else if path.extension().is_some_and(|e| e == "rs") {
        if !path.is_file() {
            return Err(Error::NotASource {
                path,
                reason: "no such file".into(),
            });
        }
        if !has_marker(&path) {
            return Err(Error::NotASource {
                path,
                reason: "its first line must name rusthook, e.g. `// rusthook:pyo3`".into(),
            });
        }
        (path.file_stem(), SourceKind::File)
    } else {
        return Err(Error::NotASource {
            path,
            reason: "expected a `.rs` file or a crate directory".into(),
        });
    };
    let name = stem
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Source { name, kind, path })
}

/// `path` without `.` components and trailing separators: one spelling per folder, so
/// `imp_from_path("krate/")` and `("krate")` are one module.
fn normalized(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect()
}

/// The one rule for module names, wherever a name comes from (the hook, the API,
/// `new`, `eject`): a Python identifier that `import` can name (no keyword), in ASCII,
/// since an extension module exports `PyInit_<name>` and Python looks for a different
/// symbol for other names.
pub fn check_module_name(name: &str, path: &Path) -> Result<()> {
    let mut chars = name.chars();
    let ascii_identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let reason = if PYTHON_KEYWORDS.contains(&name) {
        "is a Python keyword, which `import` cannot name"
    } else if ascii_identifier {
        return Ok(());
    } else if !name.is_ascii() && is_identifier_shaped(name) {
        "is not ASCII: an extension module's name must be, since Python looks for its `PyInit_` function under another name otherwise"
    } else {
        "is not a valid Python module name"
    };
    Err(Error::InvalidModuleName {
        name: name.to_string(),
        path: path.to_path_buf(),
        reason,
        suggestion: suggest_module_name(name),
    })
}

/// Letters, digits and `_`, not starting with a digit (any script).
fn is_identifier_shaped(name: &str) -> bool {
    name.chars().next().is_some_and(|c| !c.is_numeric())
        && name.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// An ASCII identifier close to `name`: accents dropped from Latin letters, anything
/// else `_`, a leading `_` before a digit, a trailing `_` after a keyword.
fn suggest_module_name(name: &str) -> String {
    let mut suggestion: String = name
        .chars()
        .map(|c| match c {
            c if c.is_ascii_alphanumeric() => c,
            c => latin_base_letter(c).unwrap_or('_'),
        })
        .collect();
    if !suggestion.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        suggestion.insert(0, '_');
    }
    if PYTHON_KEYWORDS.contains(&suggestion.as_str()) {
        suggestion.push('_');
    }
    suggestion
}

/// The unaccented letter of a Latin-1 letter (`Ü` -> `U`).
fn latin_base_letter(c: char) -> Option<char> {
    const FROM: &str = "ÀÁÂÃÄÅÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝàáâãäåçèéêëìíîïñòóôõöøùúûüýÿ";
    const TO: &str = "AAAAAACEEEEIIIINOOOOOOUUUUYaaaaaaceeeeiiiinoooooouuuuyy";
    FROM.chars()
        .position(|f| f == c)
        .and_then(|i| TO.chars().nth(i))
}

const PYTHON_KEYWORDS: [&str; 35] = [
    "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
    "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
    "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
    "with", "yield",
];

/// True when the file's first line names rusthook (or rustimport).
pub fn has_marker(path: &Path) -> bool {
    first_line(path).is_some_and(|line| MARKERS.iter().any(|m| line.contains(m)))
}

/// True when a directory is a crate marked for import: `Cargo.toml` plus a `.rusthook`
/// (or `.rustimport`) file, or the marker on Cargo.toml's first line.
pub fn is_marked_crate(dir: &Path) -> bool {
    let manifest = dir.join("Cargo.toml");
    if !manifest.is_file() {
        return false;
    }
    MARKERS.iter().any(|m| dir.join(format!(".{m}")).exists()) || has_marker(&manifest)
}

/// The first line that is not blank (within the file's first 512 bytes), where the
/// marker is (rustimport skips blank lines before it too).
fn first_line(path: &Path) -> Option<String> {
    let mut buffer = [0u8; 512];
    let mut file = fs::File::open(path).ok()?;
    let read = file.read(&mut buffer).ok()?;
    let head = &buffer[..read];
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(read);
    let head = &head[start..];
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    Some(String::from_utf8_lossy(&head[..end]).into_owned())
}

fn is_skipped_dir(path: &Path, name: &str) -> bool {
    name.starts_with('.')
        || matches!(
            name,
            "target" | "__pycache__" | "node_modules" | "site-packages"
        )
        || path.join("pyvenv.cfg").is_file()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn finds_marked_file_and_ignores_unmarked() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("fast.rs"), "// rusthook:pyo3\nfn f() {}\n");
        write(&dir.path().join("plain.rs"), "fn f() {}\n");
        write(&dir.path().join("old.rs"), "// rustimport:pyo3\n");
        write(&dir.path().join("late.rs"), "\n\n   // rustimport:pyo3\n");
        let path = [dir.path().to_path_buf()];
        let fast = find("fast", &path, true).unwrap();
        assert_eq!(fast.kind, SourceKind::File);
        assert_eq!(fast.path, dir.path().join("fast.rs"));
        assert!(find("plain", &path, true).is_none());
        assert!(find("old", &path, true).is_some());
        assert!(
            find("late", &path, true).is_some(),
            "blank lines before the marker"
        );
        assert!(find("missing", &path, true).is_none());
    }

    #[test]
    fn earlier_path_entries_win_and_a_file_beats_a_crate() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        write(&first.path().join("fast/Cargo.toml"), "# rusthook\n");
        write(&second.path().join("fast.rs"), "// rusthook:pyo3\n");
        let both = [first.path().to_path_buf(), second.path().to_path_buf()];
        assert_eq!(find("fast", &both, true).unwrap().kind, SourceKind::Crate);
        let reversed = [second.path().to_path_buf(), first.path().to_path_buf()];
        assert_eq!(
            find("fast", &reversed, true).unwrap().kind,
            SourceKind::File
        );
        write(&first.path().join("fast.rs"), "// rusthook:pyo3\n");
        let found = find("fast", &both, true).unwrap();
        assert_eq!(found.path, first.path().join("fast.rs"));
    }

    #[test]
    fn crates_need_a_marker() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("dotfile/Cargo.toml"), "[package]\n");
        write(&dir.path().join("dotfile/.rusthook"), "");
        write(
            &dir.path().join("firstline/Cargo.toml"),
            "# rustimport\n[package]\n",
        );
        write(&dir.path().join("unmarked/Cargo.toml"), "[package]\n");
        let path = [dir.path().to_path_buf()];
        assert_eq!(
            find("dotfile", &path, true).unwrap().kind,
            SourceKind::Crate
        );
        assert!(
            find("dotfile", &path, false).is_none(),
            "no folders: no crate check"
        );
        assert_eq!(
            find("firstline", &path, true).unwrap().kind,
            SourceKind::Crate
        );
        assert!(find("unmarked", &path, true).is_none());
    }

    #[test]
    fn a_file_created_after_a_miss_is_found_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = [dir.path().to_path_buf()];
        assert!(find("late", &path, true).is_none());
        write(&dir.path().join("late.rs"), "// rusthook:pyo3\n");
        assert!(find("late", &path, true).is_some());
    }

    #[test]
    fn relative_entries_give_absolute_paths() {
        // Relative to the current directory, where cargo runs tests: the crate root.
        let dir = tempfile::tempdir_in(".").unwrap();
        write(&dir.path().join("fast.rs"), "// rusthook:pyo3\n");
        let relative = PathBuf::from(dir.path().file_name().unwrap());
        let found = find("fast", std::slice::from_ref(&relative), true).unwrap();
        let cwd = std::env::current_dir().unwrap();
        assert_eq!(found.path, cwd.join(relative).join("fast.rs"));
    }

    #[test]
    fn odd_search_path_entries_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a_file"), "");
        write(&dir.path().join("fast.rs"), "// rusthook:pyo3\n");
        let path = [
            dir.path().join("missing"),
            dir.path().join("a_file"),
            PathBuf::from("/proc/self/fd/0"),
            dir.path().to_path_buf(),
        ];
        assert!(find("fast", &path, true).is_some());
    }

    #[test]
    fn find_all_skips_crate_insides_and_hidden_dirs() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a.rs"), "// rusthook:pyo3\n");
        write(&dir.path().join("sub/b.rs"), "// rusthook:pyo3\n");
        write(&dir.path().join("sub/plain.rs"), "fn x() {}\n");
        write(&dir.path().join(".hidden/c.rs"), "// rusthook:pyo3\n");
        write(&dir.path().join("target/d.rs"), "// rusthook:pyo3\n");
        write(&dir.path().join("krate/Cargo.toml"), "# rusthook\n");
        write(&dir.path().join("krate/src/lib.rs"), "// rusthook:pyo3\n");
        let names: Vec<_> = find_all(dir.path())
            .unwrap()
            .into_iter()
            .map(|s| s.name)
            .collect();
        assert_eq!(names, ["a", "krate", "b"]);
    }

    #[test]
    fn module_names_must_be_identifiers() {
        let path = Path::new("x");
        assert!(check_module_name("fast_1", path).is_ok());
        let err = check_module_name("my-mod", path).unwrap_err().to_string();
        assert!(err.contains("`my_mod`"), "{err}");
        let err = check_module_name("1st", path).unwrap_err().to_string();
        assert!(err.contains("`_1st`"), "{err}");
        let err = check_module_name("class", path).unwrap_err().to_string();
        assert!(err.contains("is a Python keyword"), "{err}");
        assert!(err.contains("such as `class_`"), "{err}");
        let err = check_module_name("Ünï", path).unwrap_err().to_string();
        assert!(err.contains("is not ASCII"), "{err}");
        assert!(err.contains("such as `Uni`"), "{err}");
    }
}
