//! The dependency graph a user wrote, as far as rusthook needs it: which pyo3 version it
//! asks for (a manifest's own pyo3, or one in a path dependency at any depth, with
//! workspace inheritance; two that disagree are an error), and the workspace a crate
//! belongs to.
//!
//! Read from the Cargo.toml files themselves (a few small TOML files), only while a build
//! is prepared: never on the import's freshness check, and without running
//! `cargo metadata` (which resolves the whole graph, and fails on the very `links`
//! conflict this is here to avoid).

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::{Error, Result};
use crate::file_importer::template;
use crate::fsutil::read_toml;

/// The dependency tables of a manifest that end up linked into the library.
const SECTIONS: [&str; 2] = ["dependencies", "build-dependencies"];

/// How many manifests the search reads at most (a guard against odd graphs).
const MAX_MANIFESTS: usize = 256;

/// The pyo3 version requirement the graph below `manifest` asks for: the manifest's own
/// pyo3 first, else the first one found in its path dependencies, breadth first (with
/// `[workspace.dependencies]` inheritance). `origin` is the file `manifest` was read from
/// (a Cargo.toml, or a single file's `//:` lines), found in `manifest_dir`. `None` when
/// nothing asks for pyo3; an error naming both manifests when two ask for pyo3 versions
/// of different series, which cargo cannot link into one library.
pub fn pyo3_requirement(
    manifest: &Table,
    manifest_dir: &Path,
    origin: &Path,
) -> Result<Option<String>> {
    let mut queue = vec![(
        manifest.clone(),
        manifest_dir.to_path_buf(),
        origin.to_path_buf(),
    )];
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let mut found: Option<(String, PathBuf)> = None;
    let mut index = 0;
    while index < queue.len() && index < MAX_MANIFESTS {
        let (manifest, dir, path) = queue[index].clone();
        index += 1;
        let workspace = WorkspaceLookup::new(&dir);
        for (name, spec) in dependencies(&manifest) {
            let spec = workspace.inherited(name, spec);
            if package_name(name, &spec) != "pyo3" {
                continue;
            }
            let base = if spec_is_inherited(name, &manifest) {
                workspace.root.clone().unwrap_or(dir.clone())
            } else {
                dir.clone()
            };
            let Some(version) = version_of(&spec).or_else(|| path_version_of(&spec, &base)) else {
                continue;
            };
            match &found {
                None => found = Some((version, path.clone())),
                Some((first, first_path)) if !template::same_series(first, &version) => {
                    return Err(Error::Pyo3Conflict {
                        first: first_path.clone(),
                        first_version: first.clone(),
                        second: path.clone(),
                        second_version: version,
                    });
                }
                Some(_) => {}
            }
        }
        for (name, spec) in dependencies(&manifest) {
            let spec = workspace.inherited(name, spec);
            let Some(path) = spec.get("path").and_then(Value::as_str) else {
                continue;
            };
            let base = if spec_is_inherited(name, &manifest) {
                workspace.root.clone().unwrap_or(dir.clone())
            } else {
                dir.clone()
            };
            let dep_dir = normalize(&base.join(path));
            if !seen.insert(dep_dir.clone()) {
                continue;
            }
            let dep_manifest = dep_dir.join("Cargo.toml");
            if let Some(dep) = read_toml(&dep_manifest) {
                queue.push((dep, dep_dir, dep_manifest));
            }
        }
    }
    Ok(found.map(|(version, _)| version))
}

/// The workspace a crate is a member of: its root folder and root manifest, when a
/// Cargo.toml with `[workspace]` above the crate lists it (as cargo finds it).
pub struct Workspace {
    pub root: PathBuf,
    pub manifest: Table,
}

pub fn workspace_of(crate_dir: &Path, manifest: &Table) -> Option<Workspace> {
    if manifest.contains_key("workspace") {
        return None; // the crate is its own workspace root
    }
    let explicit = manifest
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(Value::as_str)
        .map(|path| normalize(&crate_dir.join(path)));
    let candidates: Vec<PathBuf> = match explicit {
        Some(root) => vec![root],
        None => crate_dir
            .ancestors()
            .skip(1)
            .map(Path::to_path_buf)
            .collect(),
    };
    for root in candidates {
        let Some(root_manifest) = read_toml(&root.join("Cargo.toml")) else {
            continue;
        };
        let Some(Value::Table(section)) = root_manifest.get("workspace") else {
            continue;
        };
        // The first workspace above is the one cargo would use; a crate it does not
        // list is built on its own (cargo itself would refuse it).
        return is_member(section, &root, crate_dir).then_some(Workspace {
            root,
            manifest: root_manifest,
        });
    }
    None
}

fn is_member(section: &Table, root: &Path, crate_dir: &Path) -> bool {
    let Ok(relative) = crate_dir.strip_prefix(root) else {
        return false;
    };
    let relative = relative.to_string_lossy();
    let listed = |key: &str| -> Vec<String> {
        section
            .get(key)
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|s| s.trim_end_matches('/').trim_start_matches("./").to_string())
                    .collect()
            })
            .unwrap_or_default()
    };
    let excluded = listed("exclude")
        .iter()
        .any(|prefix| relative == prefix.as_str() || relative.starts_with(&format!("{prefix}/")));
    let member = listed("members").iter().any(|pattern| {
        glob::Pattern::new(pattern).is_ok_and(|p| p.matches(&relative)) || *pattern == relative
    });
    member && !excluded
}

/// `name = spec` of every dependency table (also under `[target.*]`).
fn dependencies(manifest: &Table) -> Vec<(&str, &Value)> {
    fn add<'a>(table: &'a Table, found: &mut Vec<(&'a str, &'a Value)>) {
        for section in SECTIONS {
            if let Some(Value::Table(deps)) = table.get(section) {
                found.extend(deps.iter().map(|(k, v)| (k.as_str(), v)));
            }
        }
    }
    let mut found = Vec::new();
    add(manifest, &mut found);
    if let Some(Value::Table(targets)) = manifest.get("target") {
        for target in targets.values() {
            if let Value::Table(target) = target {
                add(target, &mut found);
            }
        }
    }
    found
}

fn spec_is_inherited(name: &str, manifest: &Table) -> bool {
    dependencies(manifest).into_iter().any(|(key, spec)| {
        key == name && spec.get("workspace").and_then(Value::as_bool) == Some(true)
    })
}

/// The package a dependency names: its `package = "..."` when renamed, else its key.
fn package_name<'a>(key: &'a str, spec: &'a Value) -> &'a str {
    spec.get("package").and_then(Value::as_str).unwrap_or(key)
}

/// The version requirement of a dependency spec (`"0.23"` or `{ version = "0.23" }`).
fn version_of(spec: &Value) -> Option<String> {
    match spec {
        Value::String(version) => Some(version.clone()),
        Value::Table(table) => table.get("version")?.as_str().map(str::to_string),
        _ => None,
    }
}

/// The version a path dependency without one gets: its own manifest's (`pyo3 = { path =
/// "../.." }` in pyo3's own examples), as an exact requirement, so that the template's
/// version is never merged in beside a path that holds another.
fn path_version_of(spec: &Value, base: &Path) -> Option<String> {
    let path = spec.get("path")?.as_str()?;
    let manifest = read_toml(&normalize(&base.join(path)).join("Cargo.toml"))?;
    let version = manifest.get("package")?.get("version")?.as_str()?;
    Some(format!("={version}"))
}

/// `[workspace.dependencies]` of the workspace a manifest's folder belongs to, for
/// `dep = { workspace = true }`.
struct WorkspaceLookup {
    root: Option<PathBuf>,
    dependencies: Option<Table>,
}

impl WorkspaceLookup {
    fn new(dir: &Path) -> WorkspaceLookup {
        for root in dir.ancestors() {
            let Some(manifest) = read_toml(&root.join("Cargo.toml")) else {
                continue;
            };
            if let Some(Value::Table(section)) = manifest.get("workspace") {
                return WorkspaceLookup {
                    root: Some(root.to_path_buf()),
                    dependencies: section
                        .get("dependencies")
                        .and_then(Value::as_table)
                        .cloned(),
                };
            }
        }
        WorkspaceLookup {
            root: None,
            dependencies: None,
        }
    }

    /// The spec a `{ workspace = true }` dependency stands for (its own keys on top).
    fn inherited(&self, name: &str, spec: &Value) -> Value {
        let inherits = spec.get("workspace").and_then(Value::as_bool) == Some(true);
        let Some(base) = self
            .dependencies
            .as_ref()
            .and_then(|d| d.get(name))
            .filter(|_| inherits)
        else {
            return spec.clone();
        };
        let mut merged = match base {
            Value::String(version) => {
                let mut table = Table::new();
                table.insert("version".into(), Value::from(version.as_str()));
                table
            }
            Value::Table(table) => table.clone(),
            _ => Table::new(),
        };
        if let Value::Table(own) = spec {
            for (key, value) in own {
                if key != "workspace" {
                    merged.insert(key.clone(), value.clone());
                }
            }
        }
        Value::Table(merged)
    }
}

/// `a/b/../c` -> `a/c` without touching the file system (symlinks are the user's).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            std::path::Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, text: &str) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }

    #[test]
    fn pyo3_is_found_in_path_dependencies_at_any_depth() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("a/Cargo.toml"),
            "[package]\nname = \"a\"\n[dependencies]\nb = { path = \"../b\" }\n",
        );
        write(
            &root.join("b/Cargo.toml"),
            "[package]\nname = \"b\"\n[dependencies]\npy = { package = \"pyo3\", version = \"0.22.1\" }\n",
        );
        let origin = root.join("Cargo.toml");
        let requirement = |manifest: &str| {
            let manifest: Table = manifest.parse().unwrap();
            pyo3_requirement(&manifest, root, &origin)
        };
        let own = "[dependencies]\na = { path = \"a\" }\n";
        assert_eq!(requirement(own).unwrap().as_deref(), Some("0.22.1"));
        // The same series as the graph's: the crate's own requirement.
        let same = "[dependencies]\npyo3 = \"0.22\"\na = { path = \"a\" }\n";
        assert_eq!(requirement(same).unwrap().as_deref(), Some("0.22"));
        assert_eq!(requirement("[dependencies]\nitoa = \"1\"\n").unwrap(), None);

        let other = "[dependencies]\npyo3 = \"0.21\"\na = { path = \"a\" }\n";
        let message = requirement(other).unwrap_err().to_string();
        assert_eq!(
            message,
            format!(
                "{} asks for pyo3 0.21 and {} asks for pyo3 0.22.1: one library cannot link two pyo3 versions.\nMake both ask for the same pyo3 version.",
                origin.display(),
                root.join("b").join("Cargo.toml").display()
            )
        );
    }

    #[test]
    fn a_pyo3_path_dependency_without_a_version_asks_for_the_one_it_holds() {
        // As pyo3's own examples depend on it: `pyo3 = { path = "../../" }`.
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("pyo3/Cargo.toml"),
            "[package]\nname = \"pyo3\"\nversion = \"0.29.2\"\n",
        );
        let manifest: Table = "[dependencies]\npyo3 = { path = \"../pyo3\" }\n"
            .parse()
            .unwrap();
        let example = root.join("example");
        let found = pyo3_requirement(&manifest, &example, &example.join("Cargo.toml")).unwrap();
        assert_eq!(found.as_deref(), Some("=0.29.2"));
        // A path without a manifest asks for nothing (cargo names the missing path).
        let missing: Table = "[dependencies]\npyo3 = { path = \"../nowhere\" }\n"
            .parse()
            .unwrap();
        assert_eq!(
            pyo3_requirement(&missing, &example, &example.join("Cargo.toml")).unwrap(),
            None
        );
    }

    #[test]
    fn workspace_inheritance_and_membership() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            &root.join("Cargo.toml"),
            "[workspace]\nmembers = [\"crates/*\"]\nexclude = [\"crates/out\"]\n[workspace.dependencies]\npyo3 = { version = \"0.22\" }\nb = { path = \"crates/b\" }\n",
        );
        write(
            &root.join("crates/a/Cargo.toml"),
            "[package]\nname = \"a\"\n[dependencies]\nb = { workspace = true }\n",
        );
        write(
            &root.join("crates/b/Cargo.toml"),
            "[package]\nname = \"b\"\n[dependencies]\npyo3 = { workspace = true, features = [\"macros\"] }\n",
        );
        write(
            &root.join("crates/out/Cargo.toml"),
            "[package]\nname = \"out\"\n",
        );
        let a = read_toml(&root.join("crates/a/Cargo.toml")).unwrap();
        assert_eq!(
            pyo3_requirement(
                &a,
                &root.join("crates/a"),
                &root.join("crates/a/Cargo.toml")
            )
            .unwrap()
            .as_deref(),
            Some("0.22")
        );
        let b = read_toml(&root.join("crates/b/Cargo.toml")).unwrap();
        assert_eq!(
            pyo3_requirement(
                &b,
                &root.join("crates/b"),
                &root.join("crates/b/Cargo.toml")
            )
            .unwrap()
            .as_deref(),
            Some("0.22")
        );
        let workspace = workspace_of(&root.join("crates/a"), &a).unwrap();
        assert_eq!(workspace.root, root);
        let out = read_toml(&root.join("crates/out/Cargo.toml")).unwrap();
        assert!(workspace_of(&root.join("crates/out"), &out).is_none());
    }

    #[test]
    fn paths_are_normalized_lexically() {
        assert_eq!(
            normalize(Path::new("/a/b/../c/./d")),
            PathBuf::from("/a/c/d")
        );
    }
}
