//! The finder: which import name maps to which Rust source.
//!
//! It runs on every import while the hook is active, so directory listings are cached
//! per directory and re-read only when the directory's mtime changes (as importlib's
//! own `FileFinder` does). A lookup that finds nothing Rust costs one `stat` per
//! search-path entry and a hash lookup.

use std::collections::HashMap;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::SystemTime;

use crate::error::{Error, Result};

/// What kind of Rust source a module comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    /// A single `name.rs` whose first line carries the marker.
    File,
    /// A directory `name/` with `Cargo.toml` and a marker.
    Crate,
    /// The code of a notebook cell (`%%rust`), saved as a `.rs` file without a marker.
    Cell,
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
            SourceKind::File | SourceKind::Cell => self.path.parent().unwrap_or(Path::new("/")),
            SourceKind::Crate => &self.path,
        }
    }
}

/// The words that mark a file or crate as importable (rustimport's are accepted as well).
pub const MARKERS: [&str; 2] = ["rusthook", "rustimport"];

/// Importlib's suffixes, from the running interpreter.
#[derive(Debug, Clone)]
pub struct Suffixes {
    pub source: Vec<String>,
    pub bytecode: Vec<String>,
    pub extension: Vec<String>,
}

impl Suffixes {
    fn python_module(&self) -> impl Iterator<Item = &str> {
        self.extension
            .iter()
            .chain(&self.source)
            .chain(&self.bytecode)
            .map(String::as_str)
    }
}

// What a directory holds under one module name.
const RUST_FILE: u8 = 1;
const PYTHON_FILE: u8 = 2;
const EXTENSION: u8 = 4;
const DIRECTORY: u8 = 8;

struct Listing {
    mtime: SystemTime,
    /// Module name -> the kinds of entries with that name.
    names: HashMap<String, u8>,
}

/// Finds Rust sources on a search path, with cached directory listings.
pub struct Finder {
    suffixes: Suffixes,
    listings: Mutex<HashMap<PathBuf, Listing>>,
}

enum Lookup {
    /// A Rust source: ours to build.
    Rust(Source),
    /// A Python module, package or foreign extension: the standard finders win.
    Python,
    /// Nothing here (or only a namespace-package candidate): look further.
    Nothing,
}

impl Finder {
    pub fn new(suffixes: Suffixes) -> Finder {
        Finder {
            suffixes,
            listings: Mutex::new(HashMap::new()),
        }
    }

    /// Forgets all cached listings (`importlib.invalidate_caches()`).
    pub fn invalidate(&self) {
        self.listings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clear();
    }

    /// Finds the Rust source for `name` (one component) on `search_path`, in path order.
    /// Returns `None` when the name is not Rust or when a Python module of the same name
    /// comes first, so rusthook never shadows what the standard finders would import.
    pub fn find(&self, name: &str, search_path: &[PathBuf]) -> Option<Source> {
        for entry in search_path {
            match self.lookup(name, entry) {
                Lookup::Rust(source) => return Some(source),
                Lookup::Python => return None,
                Lookup::Nothing => {}
            }
        }
        None
    }

    fn lookup(&self, name: &str, entry: &Path) -> Lookup {
        let dir = if entry.as_os_str().is_empty() {
            match std::env::current_dir() {
                Ok(cwd) => cwd,
                Err(_) => return Lookup::Nothing,
            }
        } else {
            entry.to_path_buf()
        };
        let Some(kinds) = self.kinds_in(&dir, name) else {
            return Lookup::Nothing;
        };
        let dir = std::path::absolute(&dir).unwrap_or(dir);
        let rust_file = || {
            let path = dir.join(format!("{name}.rs"));
            (kinds & RUST_FILE != 0 && has_marker(&path)).then(|| Source {
                name: name.to_string(),
                kind: SourceKind::File,
                path,
            })
        };
        // The order of importlib's FileFinder: package, extension, source, bytecode.
        if kinds & DIRECTORY != 0 && self.is_python_package(&dir.join(name)) {
            return Lookup::Python;
        }
        if kinds & EXTENSION != 0 {
            // An extension beside a marked `name.rs` is that file's in-place build: ours.
            return rust_file().map_or(Lookup::Python, Lookup::Rust);
        }
        if kinds & PYTHON_FILE != 0 {
            return Lookup::Python;
        }
        if let Some(source) = rust_file() {
            return Lookup::Rust(source);
        }
        let crate_dir = dir.join(name);
        if kinds & DIRECTORY != 0 && is_marked_crate(&crate_dir) {
            return Lookup::Rust(Source {
                name: name.to_string(),
                kind: SourceKind::Crate,
                path: crate_dir,
            });
        }
        Lookup::Nothing
    }

    /// The kinds of entries named `name` in `dir`, from the cached listing.
    fn kinds_in(&self, dir: &Path, name: &str) -> Option<u8> {
        let mtime = fs::metadata(dir).ok()?.modified().ok()?;
        let mut listings = self
            .listings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let stale = listings.get(dir).is_none_or(|l| l.mtime != mtime);
        if stale {
            let names = self.read_listing(dir)?;
            listings.insert(dir.to_path_buf(), Listing { mtime, names });
        }
        listings.get(dir)?.names.get(name).copied()
    }

    fn read_listing(&self, dir: &Path) -> Option<HashMap<String, u8>> {
        let mut names: HashMap<String, u8> = HashMap::new();
        for entry in fs::read_dir(dir).ok()?.flatten() {
            let file_name = entry.file_name();
            let Some(file_name) = file_name.to_str() else {
                continue;
            };
            let is_dir = entry
                .file_type()
                .map(|t| t.is_dir() || (t.is_symlink() && entry.path().is_dir()))
                .unwrap_or(false);
            if is_dir {
                *names.entry(file_name.to_string()).or_default() |= DIRECTORY;
                continue;
            }
            if let Some(stem) = file_name.strip_suffix(".rs") {
                *names.entry(stem.to_string()).or_default() |= RUST_FILE;
            }
            for suffix in &self.suffixes.extension {
                if let Some(stem) = file_name.strip_suffix(suffix.as_str()) {
                    *names.entry(stem.to_string()).or_default() |= EXTENSION;
                }
            }
            for suffix in self.suffixes.source.iter().chain(&self.suffixes.bytecode) {
                if let Some(stem) = file_name.strip_suffix(suffix.as_str()) {
                    *names.entry(stem.to_string()).or_default() |= PYTHON_FILE;
                }
            }
        }
        Some(names)
    }

    fn is_python_package(&self, dir: &Path) -> bool {
        self.suffixes
            .python_module()
            .any(|suffix| dir.join(format!("__init__{suffix}")).is_file())
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
}

/// The source at an explicit path: a marked `.rs` file or a crate directory.
pub fn source_from_path(path: &Path) -> Result<Source> {
    let path = std::path::absolute(path).map_err(Error::io("cannot resolve", path))?;
    let (stem, kind) = if path.is_dir() {
        if !path.join("Cargo.toml").is_file() {
            return Err(Error::NotASource {
                path,
                reason: "a crate directory needs a Cargo.toml".into(),
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
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    check_module_name(&name, &path)?;
    Ok(Source { name, kind, path })
}

/// A module name must be a Python identifier (ASCII, as the `PyInit_` symbol needs).
pub fn check_module_name(name: &str, path: &Path) -> Result<()> {
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !PYTHON_KEYWORDS.contains(&name);
    if valid {
        return Ok(());
    }
    let mut suggestion: String = name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '_' })
        .collect();
    if !suggestion.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        suggestion.insert(0, '_');
    }
    if PYTHON_KEYWORDS.contains(&suggestion.as_str()) {
        suggestion.push('_');
    }
    Err(Error::InvalidModuleName {
        name: name.to_string(),
        path: path.to_path_buf(),
        suggestion,
    })
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

fn first_line(path: &Path) -> Option<String> {
    let mut buffer = [0u8; 512];
    let mut file = fs::File::open(path).ok()?;
    let read = file.read(&mut buffer).ok()?;
    let head = &buffer[..read];
    let end = head.iter().position(|&b| b == b'\n').unwrap_or(read);
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

    fn finder() -> Finder {
        Finder::new(Suffixes {
            source: vec![".py".into()],
            bytecode: vec![".pyc".into()],
            extension: vec![
                ".cpython-311-x86_64-linux-gnu.so".into(),
                ".abi3.so".into(),
                ".so".into(),
            ],
        })
    }

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
        let path = [dir.path().to_path_buf()];
        let finder = finder();
        let fast = finder.find("fast", &path).unwrap();
        assert_eq!(fast.kind, SourceKind::File);
        assert_eq!(fast.path, dir.path().join("fast.rs"));
        assert!(finder.find("plain", &path).is_none());
        assert!(finder.find("old", &path).is_some());
        assert!(finder.find("missing", &path).is_none());
    }

    #[test]
    fn python_modules_win_over_rust() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a", "b", "c", "d"] {
            write(&dir.path().join(format!("{name}.rs")), "// rusthook:pyo3\n");
        }
        write(&dir.path().join("a.py"), "");
        write(&dir.path().join("b/__init__.py"), "");
        write(&dir.path().join("c.pyc"), "");
        // An extension beside a marked file is that file's in-place build: still ours.
        write(&dir.path().join("d.cpython-311-x86_64-linux-gnu.so"), "");
        let path = [dir.path().to_path_buf()];
        let finder = finder();
        assert!(finder.find("a", &path).is_none());
        assert!(finder.find("b", &path).is_none());
        assert!(finder.find("c", &path).is_none());
        assert!(finder.find("d", &path).is_some());
    }

    #[test]
    fn earlier_path_entries_win() {
        let first = tempfile::tempdir().unwrap();
        let second = tempfile::tempdir().unwrap();
        write(&first.path().join("fast.py"), "");
        write(&second.path().join("fast.rs"), "// rusthook:pyo3\n");
        let finder = finder();
        let both = [first.path().to_path_buf(), second.path().to_path_buf()];
        assert!(finder.find("fast", &both).is_none());
        let reversed = [second.path().to_path_buf(), first.path().to_path_buf()];
        assert!(finder.find("fast", &reversed).is_some());
    }

    #[test]
    fn crates_need_a_marker_and_beat_namespace_packages() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("dotfile/Cargo.toml"), "[package]\n");
        write(&dir.path().join("dotfile/.rusthook"), "");
        write(
            &dir.path().join("firstline/Cargo.toml"),
            "# rustimport\n[package]\n",
        );
        write(&dir.path().join("unmarked/Cargo.toml"), "[package]\n");
        let finder = finder();
        let path = [dir.path().to_path_buf()];
        assert_eq!(
            finder.find("dotfile", &path).unwrap().kind,
            SourceKind::Crate
        );
        assert_eq!(
            finder.find("firstline", &path).unwrap().kind,
            SourceKind::Crate
        );
        assert!(finder.find("unmarked", &path).is_none());
    }

    #[test]
    fn listing_is_refreshed_when_the_directory_changes() {
        let dir = tempfile::tempdir().unwrap();
        let finder = finder();
        let path = [dir.path().to_path_buf()];
        assert!(finder.find("late", &path).is_none());
        // Make sure the directory mtime moves even on coarse-grained file systems.
        std::thread::sleep(std::time::Duration::from_millis(20));
        write(&dir.path().join("late.rs"), "// rusthook:pyo3\n");
        assert!(finder.find("late", &path).is_some());
    }

    #[test]
    fn odd_search_path_entries_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        write(&dir.path().join("a_file"), "");
        write(&dir.path().join("fast.rs"), "// rusthook:pyo3\n");
        let path = [
            dir.path().join("missing"),
            dir.path().join("a_file"),
            dir.path().to_path_buf(),
        ];
        assert!(finder().find("fast", &path).is_some());
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
        let names: Vec<_> = Finder::find_all(dir.path())
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
        assert!(check_module_name("class", path).is_err());
    }
}
