//! An editable maturin project as its pyproject.toml and Cargo.toml describe it: its
//! import name, manifest, bindings, features and profile, and where its installed
//! library is.

use std::fs;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

/// How the project talks to Python (maturin's `bindings`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bindings {
    Pyo3,
    Cffi,
    Uniffi,
    Bin,
}

impl Bindings {
    pub fn name(self) -> &'static str {
        match self {
            Bindings::Pyo3 => "pyo3",
            Bindings::Cffi => "cffi",
            Bindings::Uniffi => "uniffi",
            Bindings::Bin => "bin",
        }
    }
}

/// An editable maturin project, as its pyproject.toml and Cargo.toml describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Project {
    /// The top-level import name.
    pub import_name: String,
    /// The folder holding pyproject.toml.
    pub root: PathBuf,
    /// The Cargo.toml maturin builds (`[tool.maturin] manifest-path`, else `root/Cargo.toml`).
    pub manifest_path: PathBuf,
    /// The extension's dotted module name (`[tool.maturin] module-name`).
    pub module_name: String,
    pub bindings: Bindings,
    /// `[tool.maturin] features`.
    pub features: Vec<String>,
    /// `[tool.maturin] editable-profile`, else `profile`.
    pub profile: Option<String>,
    /// The distribution's `.dist-info` folder (its RECORD lists installed files).
    pub dist_info: PathBuf,
}

impl Project {
    /// The extension module's own name: the last component of `module_name`.
    pub fn extension_name(&self) -> &str {
        self.module_name
            .rsplit('.')
            .next()
            .unwrap_or(&self.module_name)
    }

    /// Where the installed extension library is now: in the Python source folder of a
    /// mixed project, else in site-packages (as the distribution's RECORD lists it).
    pub fn installed_library(&self, extension_suffixes: &[String]) -> Option<PathBuf> {
        let parts: Vec<&str> = self.module_name.split('.').collect();
        let (last, packages) = parts.split_last()?;
        let mut candidates: Vec<PathBuf> = Vec::new();
        for source_root in self.python_source_roots() {
            let folder = packages
                .iter()
                .fold(source_root, |dir, part| dir.join(part));
            candidates.extend(
                extension_suffixes
                    .iter()
                    .map(|s| folder.join(format!("{last}{s}"))),
            );
        }
        if let Some(found) = candidates.into_iter().find(|p| p.is_file()) {
            return Some(found);
        }
        // Otherwise the library maturin copied into site-packages, as RECORD lists it.
        let site_packages = self.dist_info.parent()?;
        let record = fs::read_to_string(self.dist_info.join("RECORD")).ok()?;
        record
            .lines()
            .filter_map(|line| line.split(',').next())
            .filter(|path| {
                extension_suffixes.iter().any(|suffix| {
                    path.strip_suffix(suffix.as_str())
                        .is_some_and(|stem| stem.rsplit('/').next() == Some(*last))
                })
            })
            .map(|path| site_packages.join(path))
            .find(|p| p.is_file())
    }

    /// Folders a mixed project's Python package may live in: `python-source`, or the
    /// project root when a folder named like the package sits there.
    fn python_source_roots(&self) -> Vec<PathBuf> {
        let mut roots = Vec::new();
        if let Some(source) = read_toml(&self.root.join("pyproject.toml"))
            .as_ref()
            .and_then(|t| tool_maturin(t))
            .and_then(|m| m.get("python-source"))
            .and_then(Value::as_str)
        {
            roots.push(self.root.join(source));
        }
        roots.push(self.root.clone());
        roots
    }

    /// The cargo `[lib] name` of the project's crate.
    pub fn lib_name(&self) -> Option<String> {
        let manifest = read_toml(&self.manifest_path)?;
        let lib_name = manifest
            .get("lib")
            .and_then(|l| l.get("name"))
            .and_then(Value::as_str)
            .map(str::to_string);
        lib_name.or_else(|| {
            manifest
                .get("package")
                .and_then(|p| p.get("name"))
                .and_then(Value::as_str)
                .map(|n| n.replace('-', "_"))
        })
    }
}

/// Reads one project from its folder; `None` if it is not a maturin project.
pub fn read_project(root: &Path, dist_info: &Path) -> Option<Project> {
    let pyproject = read_toml(&root.join("pyproject.toml"))?;
    let backend = pyproject
        .get("build-system")
        .and_then(|b| b.get("build-backend"))
        .and_then(Value::as_str);
    let maturin = tool_maturin(&pyproject);
    if backend != Some("maturin") && maturin.is_none() {
        return None;
    }
    let empty = Table::new();
    let maturin = maturin.unwrap_or(&empty);
    let manifest_path = root.join(
        maturin
            .get("manifest-path")
            .and_then(Value::as_str)
            .unwrap_or("Cargo.toml"),
    );
    let cargo = read_toml(&manifest_path)?;
    let project_name = pyproject
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let lib_name = cargo
        .get("lib")
        .and_then(|l| l.get("name"))
        .and_then(Value::as_str);
    let package_name = cargo
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let module_name = maturin
        .get("module-name")
        .and_then(Value::as_str)
        .or(lib_name)
        .or(project_name)
        .or(package_name)?
        .replace('-', "_");
    let import_name = module_name.split('.').next()?.to_string();
    let bindings = match maturin.get("bindings").and_then(Value::as_str) {
        Some("cffi") => Bindings::Cffi,
        Some("uniffi") => Bindings::Uniffi,
        Some("bin") => Bindings::Bin,
        Some(_) => Bindings::Pyo3,
        None => infer_bindings(&cargo),
    };
    let features = maturin
        .get("features")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let profile = maturin
        .get("editable-profile")
        .or_else(|| maturin.get("profile"))
        .and_then(Value::as_str)
        .map(str::to_string);
    Some(Project {
        import_name,
        root: root.to_path_buf(),
        manifest_path,
        module_name,
        bindings,
        features,
        profile,
        dist_info: dist_info.to_path_buf(),
    })
}

/// maturin's own inference: pyo3 (or pyo3-ffi) as a dependency, else uniffi, else a
/// binary-only crate, else cffi.
fn infer_bindings(cargo: &Table) -> Bindings {
    let dependencies = cargo.get("dependencies").and_then(Value::as_table);
    let depends_on = |name: &str| dependencies.is_some_and(|d| d.contains_key(name));
    if depends_on("pyo3") || depends_on("pyo3-ffi") {
        Bindings::Pyo3
    } else if depends_on("uniffi") {
        Bindings::Uniffi
    } else if cargo.get("lib").is_none() && cargo.get("bin").is_some() {
        Bindings::Bin
    } else {
        Bindings::Cffi
    }
}

fn tool_maturin(pyproject: &Table) -> Option<&Table> {
    pyproject.get("tool")?.get("maturin")?.as_table()
}

fn read_toml(path: &Path) -> Option<Table> {
    fs::read_to_string(path).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bindings_are_inferred_like_maturin_does() {
        let parse = |s: &str| infer_bindings(&s.parse().unwrap());
        assert_eq!(parse("[dependencies]\npyo3 = \"0.30\""), Bindings::Pyo3);
        assert_eq!(
            parse("[dependencies]\nuniffi = \"0.28\"\n[lib]\n"),
            Bindings::Uniffi
        );
        assert_eq!(parse("[[bin]]\nname = \"x\"\n"), Bindings::Bin);
        assert_eq!(parse("[lib]\ncrate-type = [\"cdylib\"]\n"), Bindings::Cffi);
    }
}
