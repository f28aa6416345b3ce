//! Has the metadata of an editable install gone stale? An installer (pip, uv) writes a
//! project's metadata into its `.dist-info` once, at install time: version,
//! dependencies, entry points, the module's name. A rebuild on import brings the
//! library up to date but not those, so a change to what they come from must be
//! reinstalled by the installer.
//!
//! What they come from is remembered in the project's cache folder beside the build
//! record, with a stamp of the install (its RECORD file): while the install is the
//! same, a difference means pyproject.toml (or Cargo.toml) changed since it was
//! installed. A new install (its RECORD rewritten) is trusted to match the project.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::fsutil::{mtime_ns, read_toml, write_atomically};
use crate::platform;
use crate::project_importer::project::Project;

/// What metadata came from when the install was last seen, and that install.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Remembered {
    install: InstallStamp,
    inputs: BTreeMap<String, String>,
}

/// The size, mtime and inode of the install's RECORD: an installer rewrites it.
#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct InstallStamp {
    size: u64,
    mtime_ns: i64,
    inode: u64,
}

impl InstallStamp {
    fn of(dist_info: &Path) -> Option<InstallStamp> {
        let metadata = fs::metadata(dist_info.join("RECORD")).ok()?;
        let inode = platform::file_id(&metadata);
        Some(InstallStamp {
            size: metadata.len(),
            mtime_ns: mtime_ns(&metadata),
            inode,
        })
    }
}

/// `[tool.maturin]` keys that change what an editable install writes.
const MATURIN_KEYS: [&str; 6] = [
    "module-name",
    "python-source",
    "python-packages",
    "bindings",
    "manifest-path",
    "data",
];

/// Cargo.toml `[package]` keys maturin turns into metadata, and the `[project]` key
/// that, when present, takes their place.
const CARGO_KEYS: [(&str, &str); 9] = [
    ("version", "version"),
    ("description", "description"),
    ("authors", "authors"),
    ("license", "license"),
    ("keywords", "keywords"),
    ("readme", "readme"),
    ("homepage", "urls"),
    ("repository", "urls"),
    ("documentation", "urls"),
];

/// Everything the installed metadata is made from, by a label naming where it is
/// written (`pyproject.toml [project] dependencies`).
pub fn metadata_inputs(project: &Project) -> BTreeMap<String, String> {
    let mut inputs = BTreeMap::new();
    let pyproject = read_toml(&project.root.join("pyproject.toml")).unwrap_or_default();
    let empty = Table::new();
    let project_table = pyproject
        .get("project")
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    for (key, value) in project_table {
        inputs.insert(format!("pyproject.toml [project] {key}"), value.to_string());
    }
    let maturin = pyproject
        .get("tool")
        .and_then(|t| t.get("maturin"))
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    for key in MATURIN_KEYS {
        if let Some(value) = maturin.get(key) {
            inputs.insert(
                format!("pyproject.toml [tool.maturin] {key}"),
                value.to_string(),
            );
        }
    }
    let cargo = read_toml(&project.manifest_path).unwrap_or_default();
    if let Some(package) = cargo.get("package").and_then(Value::as_table) {
        for (key, replaced_by) in CARGO_KEYS {
            if project_table.contains_key(replaced_by) {
                continue;
            }
            if let Some(value) = package.get(key) {
                inputs.insert(format!("Cargo.toml [package] {key}"), value.to_string());
            }
        }
    }
    inputs
}

/// Checks, after a rebuild, that the installed metadata still matches the project;
/// remembers what it was made from when it does. `file` is where that is remembered.
pub fn check_installed_metadata(project: &Project, file: &Path, python: &Path) -> Result<()> {
    let Some(install) = InstallStamp::of(&project.dist_info) else {
        // No RECORD: nothing to compare with (an install without one is rare).
        return Ok(());
    };
    let inputs = metadata_inputs(project);
    let remembered = fs::read(file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Remembered>(&bytes).ok())
        .filter(|r| r.install == install);
    if let Some(remembered) = remembered {
        let changed = changed_labels(&remembered.inputs, &inputs);
        if !changed.is_empty() {
            return Err(Error::ProjectMetadataChanged {
                name: project.import_name.clone(),
                root: project.root.clone(),
                changed: changed.join(", "),
                command: reinstall_command(project, python),
            });
        }
        return Ok(());
    }
    let json =
        serde_json::to_vec_pretty(&Remembered { install, inputs }).map_err(|e| Error::Io {
            action: "cannot encode",
            path: file.to_path_buf(),
            source: e.into(),
        })?;
    write_atomically(file, &json).map_err(Error::io("cannot write", file))
}

fn changed_labels(
    before: &BTreeMap<String, String>,
    now: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut labels: Vec<String> = before
        .keys()
        .chain(now.keys())
        .filter(|key| before.get(*key) != now.get(*key))
        .cloned()
        .collect();
    labels.sort();
    labels.dedup();
    labels
}

/// The command that reinstalls the project with the installer that installed it.
fn reinstall_command(project: &Project, python: &Path) -> String {
    let installer = fs::read_to_string(project.dist_info.join("INSTALLER")).unwrap_or_default();
    let root = project.root.display();
    if !project.root.join("pyproject.toml").is_file() {
        // Only maturin installs a crate without one.
        return format!("cd {root} && {} -m maturin develop", python.display());
    }
    if installer.trim() == "uv" {
        // A project of a uv workspace (or uv project) is installed by `uv sync`.
        if let Some(workspace) = uv_project(&project.root) {
            return format!("uv sync --directory {}", workspace.display());
        }
        return format!("uv pip install --python {} -e {root}", python.display());
    }
    format!("{} -m pip install -e {root}", python.display())
}

/// The folder of the uv project (with its `uv.lock`) that holds `root`, if any.
fn uv_project(root: &Path) -> Option<PathBuf> {
    root.ancestors()
        .take(6)
        .find(|dir| dir.join("uv.lock").is_file())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_importer::project::read_project;

    fn write(path: &Path, text: &str) {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, text).unwrap();
    }

    #[test]
    fn a_change_since_the_install_is_an_error_until_it_is_reinstalled() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("proj");
        let dist_info = dir.path().join("site/proj-0.1.0.dist-info");
        write(
            &root.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"proj\"\ndynamic = [\"version\"]\ndependencies = []\n",
        );
        write(
            &root.join("Cargo.toml"),
            "[package]\nname = \"proj\"\nversion = \"0.1.0\"\nedition = \"2021\"\n[dependencies]\npyo3 = \"0.30\"\n",
        );
        write(&dist_info.join("RECORD"), "proj/__init__.py,,\n");
        write(&dist_info.join("INSTALLER"), "pip\n");
        let project = read_project(&root, &dist_info).unwrap();
        let file = dir.path().join("metadata.json");
        let python = Path::new("/venv/bin/python");
        check_installed_metadata(&project, &file, python).expect("first sight: trusted");
        check_installed_metadata(&project, &file, python).expect("unchanged");
        // An edition change is no metadata; a version and a dependency are.
        write(
            &root.join("Cargo.toml"),
            "[package]\nname = \"proj\"\nversion = \"0.2.0\"\nedition = \"2024\"\n[dependencies]\npyo3 = \"0.30\"\n",
        );
        write(
            &root.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"proj\"\ndynamic = [\"version\"]\ndependencies = [\"attrs\"]\n",
        );
        let error = check_installed_metadata(&project, &file, python)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("(Cargo.toml [package] version, pyproject.toml [project] dependencies)"),
            "{error}"
        );
        let command = format!("/venv/bin/python -m pip install -e {}", root.display());
        assert!(error.contains(&command), "{error}");
        // Reinstalled: RECORD is rewritten, and the new metadata is trusted.
        std::thread::sleep(std::time::Duration::from_millis(10));
        write(&dist_info.join("RECORD"), "proj/__init__.py,,\nproj/x,,\n");
        check_installed_metadata(&project, &file, python).expect("reinstalled");
        check_installed_metadata(&project, &file, python).expect("and remembered");
        // Where the extension goes is recorded by the install too.
        write(
            &root.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"proj\"\ndynamic = [\"version\"]\ndependencies = [\"attrs\"]\n[tool.maturin]\nmodule-name = \"proj._native\"\n",
        );
        let error = check_installed_metadata(&project, &file, python)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("(pyproject.toml [tool.maturin] module-name)"),
            "{error}"
        );
    }

    #[test]
    fn the_command_names_the_installer() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("ws/members/proj");
        let dist_info = dir.path().join("site/proj-0.1.0.dist-info");
        write(
            &root.join("pyproject.toml"),
            "[build-system]\nbuild-backend = \"maturin\"\n[project]\nname = \"proj\"\n",
        );
        write(&root.join("Cargo.toml"), "[package]\nname = \"proj\"\n");
        write(&dist_info.join("INSTALLER"), "uv");
        let project = read_project(&root, &dist_info).unwrap();
        let python = Path::new("/venv/bin/python");
        assert_eq!(
            reinstall_command(&project, python),
            format!(
                "uv pip install --python /venv/bin/python -e {}",
                root.display()
            )
        );
        write(&dir.path().join("ws/uv.lock"), "");
        assert_eq!(
            reinstall_command(&project, python),
            format!("uv sync --directory {}", dir.path().join("ws").display())
        );
    }
}
