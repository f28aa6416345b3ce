//! An editable maturin project as its pyproject.toml and Cargo.toml describe it: its
//! import name, manifest, bindings, features and profile, and where its installed
//! library is.

use std::fs;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::fsutil::read_toml;

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
    /// The Cargo.toml maturin builds: `[tool.maturin] manifest-path`, else
    /// `rust/Cargo.toml` in a src layout, else `root/Cargo.toml`.
    pub manifest_path: PathBuf,
    /// The extension's dotted module name (`[tool.maturin] module-name`, else the
    /// `[lib] name`, the project's name or the package's name).
    pub module_name: String,
    pub bindings: Bindings,
    /// `[tool.maturin] features`.
    pub features: Vec<String>,
    /// `[tool.maturin] editable-profile`, else `profile`.
    pub profile: Option<String>,
    /// The distribution's `.dist-info` folder (its RECORD lists installed files).
    pub dist_info: PathBuf,
    /// Where an editable install puts the extension of a mixed Rust/Python project:
    /// the folder of its package in the Python source tree. `None` for a pure Rust
    /// project, whose extension is installed into site-packages.
    pub extension_dir: Option<PathBuf>,
    /// maturin's Python source folder: `python-source`, else `src` in a src layout,
    /// else the project folder. An editable install of a mixed project puts files there.
    pub python_dir: PathBuf,
    /// `[tool.maturin] include` entries taken from a build script's `OUT_DIR`.
    pub out_dir_includes: Vec<OutDirInclude>,
    /// What else `[tool.maturin]` tells cargo (see [`BuildOptions`]).
    pub options: BuildOptions,
}

/// The `[tool.maturin]` options that change a build beyond features and profile, as
/// maturin passes them to cargo.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildOptions {
    /// `all-features`, `no-default-features`, `locked`, `frozen`, `offline`, `config`,
    /// `unstable-flags`, `target`, as cargo arguments.
    pub cargo_args: Vec<String>,
    /// `rustc-args`: given to rustc after `--`.
    pub rustc_args: Vec<String>,
    /// `target`: the triple to build for.
    pub target: Option<String>,
}

impl BuildOptions {
    fn read(maturin: &Table) -> BuildOptions {
        let flag = |key: &str| maturin.get(key).and_then(Value::as_bool) == Some(true);
        let strings = |key: &str| -> Vec<String> {
            match maturin.get(key) {
                Some(Value::Array(items)) => items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect(),
                Some(Value::String(text)) => text.split_whitespace().map(str::to_string).collect(),
                _ => Vec::new(),
            }
        };
        let mut cargo_args = Vec::new();
        for (key, arg) in [
            ("all-features", "--all-features"),
            ("no-default-features", "--no-default-features"),
            ("locked", "--locked"),
            ("frozen", "--frozen"),
            ("offline", "--offline"),
        ] {
            if flag(key) {
                cargo_args.push(arg.to_string());
            }
        }
        for config in strings("config") {
            cargo_args.extend(["--config".to_string(), config]);
        }
        for unstable in strings("unstable-flags") {
            cargo_args.extend(["-Z".to_string(), unstable]);
        }
        let target = maturin
            .get("target")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(target) = &target {
            cargo_args.extend(["--target".to_string(), target.clone()]);
        }
        BuildOptions {
            cargo_args,
            rustc_args: strings("rustc-args"),
            target,
        }
    }

    /// The options as one line, for the settings fingerprint.
    pub fn describe(&self) -> String {
        let mut line = self.cargo_args.join(" ");
        if !self.rustc_args.is_empty() {
            line.push_str(" -- ");
            line.push_str(&self.rustc_args.join(" "));
        }
        line
    }
}

/// `include = [{ path = "gen/*.py", from = "out-dir", to = "pkg/" }]`: files a build
/// script writes, which an editable install of a mixed project copies into its package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutDirInclude {
    /// A glob relative to the `OUT_DIR`.
    pub path: String,
    /// The folder, relative to the Python source folder, the files go to.
    pub to: String,
    /// Whose `OUT_DIR` (a cargo package name); the project's own crate if `None`.
    pub crate_name: Option<String>,
}

impl Project {
    /// The extension module's own name: the last component of `module_name`.
    pub fn extension_name(&self) -> &str {
        self.module_name
            .rsplit('.')
            .next()
            .unwrap_or(&self.module_name)
    }

    /// Where the installed extension library is now: in the package folder of a mixed
    /// project, else in site-packages (as the distribution's RECORD lists it).
    pub fn installed_library(&self, extension_suffixes: &[String]) -> Option<PathBuf> {
        let last = self.extension_name();
        if let Some(folder) = &self.extension_dir {
            let found = extension_suffixes
                .iter()
                .map(|suffix| folder.join(format!("{last}{suffix}")))
                .find(|p| p.is_file());
            if found.is_some() {
                return found;
            }
        }
        // Otherwise the library maturin put into site-packages, as RECORD lists it.
        let site_packages = self.dist_info.parent()?;
        let record = fs::read_to_string(self.dist_info.join("RECORD")).ok()?;
        record
            .lines()
            .filter_map(|line| line.split(',').next())
            .filter(|path| {
                extension_suffixes.iter().any(|suffix| {
                    path.strip_suffix(suffix.as_str())
                        .is_some_and(|stem| stem.rsplit('/').next() == Some(last))
                })
            })
            .map(|path| site_packages.join(path))
            .find(|p| p.is_file())
    }

    /// Where the library should be and under which names, for an error message.
    pub fn expected_library(&self) -> String {
        match &self.extension_dir {
            Some(folder) => format!("{}/{}.*", folder.display(), self.extension_name()),
            None => format!(
                "{}/RECORD lists no {}.* library",
                self.dist_info.display(),
                self.extension_name()
            ),
        }
    }

    /// The cargo package name of the project's crate.
    pub fn package_name(&self) -> Option<String> {
        read_toml(&self.manifest_path)?
            .get("package")?
            .get("name")?
            .as_str()
            .map(str::to_string)
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
///
/// The layout follows maturin's own detection (its `project_layout.rs`), so that the
/// library is looked for where `pip install -e`, `uv` and `maturin develop` put it:
///
/// - the manifest: `[tool.maturin] manifest-path` (relative to the project), else
///   `rust/Cargo.toml` when a src layout says so (below), else `Cargo.toml`;
/// - the module name: `module-name`, else Cargo's `[lib] name`, else `[project] name`,
///   else Cargo's package name;
/// - the Python source folder: `python-source`, else `src` when `rust/Cargo.toml`
///   exists and `src/<project name>/__init__.py` (or `src/<p>/__init__.py` for one of
///   `python-packages`) does, else the project folder;
/// - mixed or pure: mixed when the folder of the module name's first part exists in
///   the Python source folder (unless it is a crate: a `Cargo.toml` and no
///   `__init__.py`). A mixed project's extension goes into the folder of the module
///   name's package (`pkg/` for `pkg._native`, `pkg/` for a plain `pkg`).
pub fn read_project(root: &Path, dist_info: &Path) -> Option<Project> {
    let pyproject = match read_toml(&root.join("pyproject.toml")) {
        Some(pyproject) => {
            let backend = pyproject
                .get("build-system")
                .and_then(|b| b.get("build-backend"))
                .and_then(Value::as_str);
            if backend != Some("maturin") && tool_maturin(&pyproject).is_none() {
                return None;
            }
            pyproject
        }
        // `maturin develop` installs a bare crate too (and records its folder as the
        // editable source); another build backend would need a pyproject.toml or a
        // setup.py.
        None if root.join("Cargo.toml").is_file() && !root.join("setup.py").exists() => {
            Table::new()
        }
        None => return None,
    };
    let maturin = tool_maturin(&pyproject);
    let empty = Table::new();
    let maturin = maturin.unwrap_or(&empty);
    let project_name = pyproject
        .get("project")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str);
    let python_source = maturin.get("python-source").and_then(Value::as_str);
    let python_packages: Vec<&str> = maturin
        .get("python-packages")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    // maturin's "Python first" src layout: the crate in rust/, the package in src/.
    let src_layout = root.join("rust").join("Cargo.toml").is_file()
        && project_name
            .map(|name| name.replace('-', "_"))
            .iter()
            .map(String::as_str)
            .chain(python_packages.iter().copied())
            .any(|package| root.join("src").join(package).join("__init__.py").is_file());
    let manifest_path = match maturin.get("manifest-path").and_then(Value::as_str) {
        Some(path) => root.join(path),
        None if root.join("rust").join("Cargo.toml").is_file()
            && (python_source.is_some() || src_layout) =>
        {
            root.join("rust").join("Cargo.toml")
        }
        None => root.join("Cargo.toml"),
    };
    let cargo = read_toml(&manifest_path)?;
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
    let python_dir = match python_source {
        Some(source) => root.join(source),
        None if project_name.is_some() && src_layout => root.join("src"),
        None => root.to_path_buf(),
    };
    let extension_dir = mixed_extension_dir(&python_dir, &module_name);
    let manifest_dir = manifest_path.parent().unwrap_or(root);
    let bindings = match maturin.get("bindings").and_then(Value::as_str) {
        Some("cffi") => Bindings::Cffi,
        Some("uniffi") => Bindings::Uniffi,
        Some("bin") => Bindings::Bin,
        Some(_) => Bindings::Pyo3,
        None => infer_bindings(&cargo, manifest_dir),
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
    let out_dir_includes = maturin
        .get("include")
        .and_then(Value::as_array)
        .map(|entries| entries.iter().filter_map(out_dir_include).collect())
        .unwrap_or_default();
    let options = BuildOptions::read(maturin);
    Some(Project {
        options,
        import_name,
        root: root.to_path_buf(),
        manifest_path,
        module_name,
        bindings,
        features,
        profile,
        dist_info: dist_info.to_path_buf(),
        extension_dir,
        python_dir,
        out_dir_includes,
    })
}

fn out_dir_include(entry: &Value) -> Option<OutDirInclude> {
    let table = entry.as_table()?;
    if table.get("from").and_then(Value::as_str) != Some("out-dir") {
        return None;
    }
    Some(OutDirInclude {
        path: table.get("path")?.as_str()?.to_string(),
        to: table.get("to")?.as_str()?.to_string(),
        crate_name: table
            .get("crate_name")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

/// maturin's mixed-or-pure decision: the extension's folder in the Python source tree
/// of a mixed project, `None` for a pure one.
fn mixed_extension_dir(python_dir: &Path, module_name: &str) -> Option<PathBuf> {
    let parts: Vec<&str> = module_name.split('.').collect();
    let (_, packages) = parts.split_last()?;
    let python_module = python_dir.join(parts.first()?);
    // A folder without __init__.py holding a Cargo.toml is a crate, not a package.
    let is_crate =
        !python_module.join("__init__.py").is_file() && python_module.join("Cargo.toml").is_file();
    if is_crate || !python_module.is_dir() {
        return None;
    }
    Some(if packages.is_empty() {
        python_module
    } else {
        packages
            .iter()
            .fold(python_dir.to_path_buf(), |dir, part| dir.join(part))
    })
}

/// maturin's own inference: pyo3 (or pyo3-ffi) as a dependency (a binary-only crate
/// with pyo3 is a bin project), else uniffi, else a cdylib is cffi, else a binary.
fn infer_bindings(cargo: &Table, manifest_dir: &Path) -> Bindings {
    let depends_on = |name: &str| {
        let direct = cargo
            .get("dependencies")
            .and_then(Value::as_table)
            .is_some_and(|d| d.contains_key(name));
        // `[target.'cfg(…)'.dependencies]` count too.
        let per_target = cargo
            .get("target")
            .and_then(Value::as_table)
            .is_some_and(|targets| {
                targets.values().any(|t| {
                    t.get("dependencies")
                        .and_then(Value::as_table)
                        .is_some_and(|d| d.contains_key(name))
                })
            });
        direct || per_target
    };
    let lib = cargo.get("lib");
    let cdylib = lib
        .and_then(|l| l.get("crate-type"))
        .and_then(Value::as_array)
        .is_some_and(|types| types.iter().any(|t| t.as_str() == Some("cdylib")));
    // Cargo's target auto-discovery: src/main.rs and src/bin/ are binaries.
    let has_bin = cargo.get("bin").is_some()
        || manifest_dir.join("src/main.rs").is_file()
        || manifest_dir.join("src/bin").is_dir();
    if depends_on("pyo3") || depends_on("pyo3-ffi") {
        if !cdylib && has_bin {
            Bindings::Bin
        } else {
            Bindings::Pyo3
        }
    } else if depends_on("uniffi") {
        Bindings::Uniffi
    } else if cdylib || !has_bin {
        Bindings::Cffi
    } else {
        Bindings::Bin
    }
}

fn tool_maturin(pyproject: &Table) -> Option<&Table> {
    pyproject.get("tool")?.get("maturin")?.as_table()
}

#[cfg(test)]
mod tests;
