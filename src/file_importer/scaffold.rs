//! New projects: `python -m rusthook new NAME` (a crate that imports as `NAME`, ready to
//! edit) and `python -m rusthook eject fast.rs DEST` (a single-file module, or a `%%rust`
//! cell, turned into a standalone maturin project that builds a wheel).

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file_importer::finder::{check_module_name, has_marker};
use crate::file_importer::manifest;
use crate::file_importer::preprocess::{self, Header};
use crate::file_importer::template::{self, Dialect, Template};
use crate::fsutil::read_utf8;

/// Creates `parent/name/` with a `.rusthook` marker, Cargo.toml and src/lib.rs; or, for a
/// `name` ending in `.rs` (as rustimport's `new` takes it), the single file `parent/name`.
pub fn new_crate(parent: &Path, name: &str) -> Result<PathBuf> {
    let parent = std::path::absolute(parent).map_err(Error::io("cannot resolve", parent))?;
    if let Some(module) = name.strip_suffix(".rs") {
        let path = parent.join(name);
        check_module_name(module, &path)?;
        if path.exists() {
            return Err(Error::AlreadyExists { path });
        }
        fs::create_dir_all(&parent).map_err(Error::io("cannot create", &parent))?;
        fs::write(&path, template::new_file_text()).map_err(Error::io("cannot write", &path))?;
        return Ok(path);
    }
    let dir = parent.join(name);
    check_module_name(name, &dir)?;
    if dir.exists() {
        return Err(Error::AlreadyExists { path: dir });
    }
    for (relative, text) in template::new_crate_files(name) {
        let path = dir.join(relative);
        if let Some(folder) = path.parent() {
            fs::create_dir_all(folder).map_err(Error::io("cannot create", folder))?;
        }
        fs::write(&path, text).map_err(Error::io("cannot write", &path))?;
    }
    Ok(dir)
}

/// `python -m rusthook eject fast.rs DEST`: writes a maturin project for the single-file
/// module `source` into `dest` (which must not exist, or be empty). Returns `dest`.
pub fn eject_file(source: &Path, dest: &Path) -> Result<PathBuf> {
    let source = std::path::absolute(source).map_err(Error::io("cannot resolve", source))?;
    let not_a_file = |reason: &str| Error::NotASource {
        path: source.clone(),
        reason: reason.to_string(),
    };
    if source.is_dir() {
        return Err(not_a_file(
            "eject turns a single `.rs` file into a project, and a crate already is one; \
             add a pyproject.toml with `build-backend = \"maturin\"` to it instead",
        ));
    }
    if source.extension().is_none_or(|e| e != "rs") {
        return Err(not_a_file("expected a `.rs` file"));
    }
    if !source.is_file() {
        return Err(not_a_file("no such file"));
    }
    if !has_marker(&source) {
        return Err(not_a_file(
            "its first line must name rusthook, e.g. `// rusthook:pyo3`",
        ));
    }
    let name = source
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    check_module_name(&name, &source)?;
    let text = read_utf8(&source)?;
    let header = preprocess::parse_header(&source, &text)?;
    match header.template {
        Some(Template::Pyo3) => {}
        other => {
            return Err(Error::EjectTemplate {
                path: source.clone(),
                template: match other {
                    Some(Template::Cffi) => "`// rusthook:cffi` (a C-ABI library)".into(),
                    _ => "no template (`// rusthook`)".into(),
                },
            })
        }
    }
    // The marker line goes: the project is no longer a rusthook module.
    let body: String = text.split_inclusive('\n').skip(1).collect();
    eject(&Ejected {
        name: &name,
        origin: &source,
        text: &body,
        header: &header,
        implied_prelude: false,
        dest,
    })
}

/// `%%rust --eject DEST`: writes a maturin project for a notebook cell into `dest`. The
/// module is called `name`, or after `dest`'s folder name.
pub fn eject_cell(code: &str, name: Option<&str>, dest: &Path) -> Result<PathBuf> {
    let dest = std::path::absolute(dest).map_err(Error::io("cannot resolve", dest))?;
    let name = match name {
        Some(name) => name.to_string(),
        None => dest
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    };
    check_module_name(&name, &dest)?;
    // `//:` paths in a cell are relative to the working directory.
    let origin = std::env::current_dir()
        .map_err(Error::io("cannot resolve", Path::new(".")))?
        .join("<cell>");
    let header = preprocess::parse_cell_header(code, Dialect::Rusthook);
    eject(&Ejected {
        name: &name,
        origin: &origin,
        text: code,
        header: &header,
        implied_prelude: true,
        dest: &dest,
    })
}

struct Ejected<'a> {
    name: &'a str,
    /// The source file (or `<cwd>/<cell>`): messages and relative paths start here.
    origin: &'a Path,
    /// The module's code, without the marker line.
    text: &'a str,
    header: &'a Header,
    implied_prelude: bool,
    dest: &'a Path,
}

impl Ejected<'_> {
    /// Where the code came from, as the ejected files say it.
    fn described_origin(&self) -> String {
        if self.implied_prelude {
            "a %%rust cell".to_string()
        } else {
            self.origin.display().to_string()
        }
    }
}

fn eject(job: &Ejected) -> Result<PathBuf> {
    let dest = std::path::absolute(job.dest).map_err(Error::io("cannot resolve", job.dest))?;
    let is_empty_dir = fs::read_dir(&dest).is_ok_and(|mut entries| entries.next().is_none());
    if dest.exists() && !is_empty_dir {
        return Err(Error::AlreadyExists { path: dest });
    }

    let cargo_toml = manifest::ejected(job.origin, job.header, job.name, &job.described_origin())?;

    let pyproject = template::ejected_pyproject(job.name);

    let files = [
        ("Cargo.toml".to_string(), cargo_toml),
        ("pyproject.toml".to_string(), pyproject),
        ("src/lib.rs".to_string(), ejected_lib_rs(job)),
        (".gitignore".to_string(), "/target\n".to_string()),
    ];
    for (relative, text) in files {
        write_new(&dest.join(relative), &text)?;
    }
    // Files read with `include_str!("data/x.txt")` keep their place relative to the code.
    let base_dir = job.origin.parent().unwrap_or(Path::new("/"));
    let globs = preprocess::absolute_globs(base_dir, &job.header.dependency_globs);
    for file in preprocess::expand_globs(&globs) {
        if let Ok(relative) = file.strip_prefix(base_dir) {
            let copy = dest.join("src").join(relative);
            if let Some(folder) = copy.parent() {
                fs::create_dir_all(folder).map_err(Error::io("cannot create", folder))?;
            }
            fs::copy(&file, &copy).map_err(Error::io("cannot copy", &file))?;
        }
    }
    Ok(dest)
}

/// The user's code as a crate root: the `//:` and `//d:` lines (now in Cargo.toml) go,
/// the implied `use` of a cell is written out, and the generated `#[pymodule]` is added.
fn ejected_lib_rs(job: &Ejected) -> String {
    let code: String = job
        .text
        .split_inclusive('\n')
        .filter(|line| {
            let line = line.trim_start();
            !line.starts_with("//:") && !line.starts_with("//d:")
        })
        .collect();
    let (inner_attributes, rest) = preprocess::split_inner_attributes(&code);
    let mut lib = inner_attributes;
    lib.push_str(&format!(
        "// Ejected from {} by rusthook {}.\n",
        job.described_origin(),
        env!("CARGO_PKG_VERSION")
    ));
    if job.implied_prelude {
        lib.push_str("use pyo3::prelude::*;\n");
    }
    lib.push('\n');
    lib.push_str(rest.trim_start_matches('\n').trim_end());
    lib.push('\n');
    let exports = template::find_exports(&code).unwrap_or_default();
    if !exports.has_pymodule {
        lib.push_str(&format!(
            "\n/// The Python module `{name}`: the #[pyfunction]s and #[pyclass]es above.\n{}",
            template::pymodule_declarative(job.name, &exports),
            name = job.name
        ));
    }
    lib
}

fn write_new(path: &Path, text: &str) -> Result<()> {
    if let Some(folder) = path.parent() {
        fs::create_dir_all(folder).map_err(Error::io("cannot create", folder))?;
    }
    fs::write(path, text).map_err(Error::io("cannot write", path))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::file_importer::finder::is_marked_crate;
    use crate::file_importer::template::PYO3_REQUIREMENT;

    #[test]
    fn creates_a_marked_crate_and_refuses_to_overwrite() {
        let parent = tempfile::tempdir().unwrap();
        let dir = new_crate(parent.path(), "my_ext").unwrap();
        assert!(is_marked_crate(&dir));
        let manifest = fs::read_to_string(dir.join("Cargo.toml")).unwrap();
        assert!(manifest.contains("name = \"my-ext\""));
        assert!(fs::read_to_string(dir.join("src/lib.rs"))
            .unwrap()
            .contains("mod my_ext {"));
        let err = new_crate(parent.path(), "my_ext").unwrap_err();
        assert!(err
            .to_string()
            .ends_with("already exists; choose another name or remove it first"));
        assert!(new_crate(parent.path(), "my-ext").is_err());

        let file = new_crate(parent.path(), "single.rs").unwrap();
        assert_eq!(file, parent.path().join("single.rs"));
        assert!(crate::file_importer::finder::has_marker(&file));
        assert!(new_crate(parent.path(), "single.rs").is_err());
        assert!(new_crate(parent.path(), "bad-name.rs").is_err());
    }

    const FAST: &str = "// rusthook:pyo3\n//! Fast things.\n//: [dependencies]\n//: itoa = \"1\"\n//d: data/*.txt\nuse pyo3::prelude::*;\n\n#[pyfunction]\nfn double(x: i64) -> i64 {\n    x * 2\n}\n\n#[pyclass]\nstruct Point {\n    x: i64,\n}\n";

    #[test]
    fn eject_writes_a_maturin_project() {
        let dir = tempfile::tempdir().unwrap();
        let source = dir.path().join("fast.rs");
        fs::write(&source, FAST).unwrap();
        fs::create_dir(dir.path().join("data")).unwrap();
        fs::write(dir.path().join("data/table.txt"), "1 2 3").unwrap();
        let dest = eject_file(&source, &dir.path().join("out")).unwrap();

        let manifest: toml::Table = fs::read_to_string(dest.join("Cargo.toml"))
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(manifest["package"]["name"].as_str(), Some("fast"));
        assert_eq!(manifest["lib"]["name"].as_str(), Some("fast"));
        assert_eq!(manifest["dependencies"]["itoa"].as_str(), Some("1"));
        assert_eq!(
            manifest["dependencies"]["pyo3"]["version"].as_str(),
            Some(PYO3_REQUIREMENT)
        );
        assert!(manifest.get("workspace").is_none());
        let pyproject = fs::read_to_string(dest.join("pyproject.toml")).unwrap();
        assert!(pyproject.contains("build-backend = \"maturin\""));
        assert!(pyproject.contains("module-name = \"fast\""));

        let lib = fs::read_to_string(dest.join("src/lib.rs")).unwrap();
        assert!(
            lib.starts_with("//! Fast things.\n// Ejected from "),
            "{lib}"
        );
        assert!(!lib.contains("rusthook:pyo3") && !lib.contains("//:") && !lib.contains("//d:"));
        assert!(!lib.contains("include!"));
        assert!(lib.contains("#[pyo3(name = \"fast\")]"), "{lib}");
        // The declarative form: what pyo3's introspection (maturin's stubs) can read.
        assert!(lib.contains("mod __rusthook_pymodule {"), "{lib}");
        assert!(
            lib.contains("    #[pymodule_export]\n    use super::{"),
            "{lib}"
        );
        assert!(lib.contains("double") && lib.contains("Point"), "{lib}");
        assert_eq!(
            fs::read_to_string(dest.join("src/data/table.txt")).unwrap(),
            "1 2 3"
        );
        assert_eq!(
            fs::read_to_string(&source).unwrap(),
            FAST,
            "the source is untouched"
        );

        let err = eject_file(&source, &dest).unwrap_err().to_string();
        assert!(err.ends_with("out already exists; choose another name or remove it first"));
    }

    #[test]
    fn eject_keeps_an_own_pymodule_and_refuses_other_templates() {
        let dir = tempfile::tempdir().unwrap();
        let own = dir.path().join("own.rs");
        fs::write(
            &own,
            "// rusthook:pyo3\nuse pyo3::prelude::*;\n#[pymodule]\nmod own {}\n",
        )
        .unwrap();
        let lib = fs::read_to_string(
            eject_file(&own, &dir.path().join("a"))
                .unwrap()
                .join("src/lib.rs"),
        )
        .unwrap();
        assert!(!lib.contains("__rusthook_pymodule"), "{lib}");

        let cffi = dir.path().join("clib.rs");
        fs::write(&cffi, "// rusthook:cffi\n").unwrap();
        let err = eject_file(&cffi, &dir.path().join("b"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("uses `// rusthook:cffi` (a C-ABI library)"),
            "{err}"
        );
        assert!(!dir.path().join("b").exists());
    }

    #[test]
    fn eject_cell_writes_the_implied_use() {
        let dir = tempfile::tempdir().unwrap();
        let dest = eject_cell(
            "#[pyfunction]\nfn one() -> i64 { 1 }\n",
            None,
            &dir.path().join("cellmod"),
        )
        .unwrap();
        let lib = fs::read_to_string(dest.join("src/lib.rs")).unwrap();
        assert!(lib.contains("use pyo3::prelude::*;\n"), "{lib}");
        assert!(lib.contains("#[pyo3(name = \"cellmod\")]"), "{lib}");
        let err = eject_cell("", None, &dir.path().join("my-mod"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("such as `my_mod`"), "{err}");
    }
}
