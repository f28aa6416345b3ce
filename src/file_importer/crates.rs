//! A marked crate, prepared for cargo: built from its own Cargo.toml merged with the
//! template's (as rustimport merges them: pyo3 and `crate-type = ["cdylib"]` are added
//! when missing, the user's keys win), written into the build cache. The user's folder is
//! never written to: not its Cargo.toml, not its Cargo.lock, not a `target/`. A template
//! marker on the library root (`// rustimport:pyo3`) generates the `#[pymodule]` as for a
//! single file. A Cargo.toml that does not parse is built in place, so that cargo reports
//! it with its own message (cargo stops before it writes anything).
//!
//! The merged crate in the cache mirrors the user's folder with symlinks (`src/`,
//! `build.rs`, data files: relative paths work as they do in the user's folder), and its
//! library path is the user's own file, so rustc's diagnostics name it. A workspace
//! member is built inside a copy of its workspace's root manifest (members cut down to
//! it, resolver and profiles kept) with the workspace's Cargo.lock, so the versions the
//! workspace locked are the ones built.
//!
//! ```text
//! <module>/crate/Cargo.toml              workspace root (member) or merged manifest (crate)
//! <module>/crate/Cargo.lock              the user's lock file, then cargo's
//! <module>/crate/<member>/Cargo.toml     the merged manifest of a workspace member
//! <module>/crate/<member>/src -> user's  symlinks to the crate's own entries
//! <module>/view/                         the generated crate root, among symlinks to
//!                                        the library root's folder
//! ```

use std::fs;
use std::path::{Path, PathBuf};

use toml::{Table, Value};

use crate::error::Result;
use crate::file_importer::finder::Source;
use crate::file_importer::graph::{self, Workspace};
use crate::file_importer::prepare::mirror_siblings;
use crate::file_importer::preprocess::{
    self, absolutize_path_dependencies, merge, path_str, split_inner_attributes, table_entry,
};
use crate::file_importer::template::{self, Dialect, Template};
use crate::fsutil::{create_private_dir, read_toml, read_utf8, write_atomically, write_if_changed};
use crate::machinery::cache::{BuildCache, CompilePartition, ModuleCache};
use crate::machinery::stable_abi;

/// What cargo builds for a crate, and what else the build must track.
pub struct PreparedCrate {
    /// The user's Cargo.toml (in place) or the merged one in the cache.
    pub manifest_path: PathBuf,
    pub template: Template,
    /// The user's library root (`src/lib.rs`), where C declarations are read from.
    pub crate_root: PathBuf,
    /// User files a merged build depends on that cargo does not report: the library
    /// root, the workspace's root manifest and its Cargo.lock.
    pub inputs: Vec<PathBuf>,
    /// `(folder in the cache, user's folder)` pairs, most specific first: diagnostics
    /// naming the generated view or the merged crate name the user's folders.
    pub aliases: Vec<(String, String)>,
    /// Absolute `//d:` globs from the library root's header.
    pub globs: Vec<String>,
    /// Where cargo compiles it (the stable-ABI partition when its pyo3 asks for that).
    pub compile: CompilePartition,
    /// Built with pyo3's introspection data (stubs were asked for, and its pyo3 has it).
    pub introspectable: bool,
    /// The pyo3 version requirement of the merged manifest.
    pub pyo3_version: Option<String>,
}

/// Writes a marked crate's merged manifest (and, for a `// rustimport:pyo3` library
/// root, its generated crate root) into the cache; returns what cargo builds.
pub fn prepare(
    source: &Source,
    cache: &BuildCache,
    module: &ModuleCache,
    introspect: bool,
) -> Result<PreparedCrate> {
    let dir = &source.path;
    let manifest_path = dir.join("Cargo.toml");
    let marker = preprocess::crate_template(dir)?;
    // A manifest that does not parse is cargo's to report, with its own message.
    let Some(manifest) = read_toml(&manifest_path) else {
        return Ok(PreparedCrate {
            manifest_path: manifest_path.clone(),
            template: marker.template,
            crate_root: dir.join("src/lib.rs"),
            inputs: Vec::new(),
            aliases: Vec::new(),
            globs: Vec::new(),
            compile: cache.compile_partition(None)?,
            introspectable: false,
            pyo3_version: None,
        });
    };
    let crate_root = dir.join(
        manifest
            .get("lib")
            .and_then(|lib| lib.get("path"))
            .and_then(Value::as_str)
            .unwrap_or("src/lib.rs"),
    );
    // rustimport's template marker on the library root: `// rustimport:pyo3`.
    let lib_text = read_utf8(&crate_root).ok();
    let (line, first_line) = preprocess::marker_candidate(lib_text.as_deref().unwrap_or(""));
    let (template, dialect, generates) = match preprocess::marker_line(first_line) {
        Some((word, Some(name))) => (
            Template::from_name(name, &crate_root, line)?,
            Dialect::of_marker(word),
            true,
        ),
        Some((word, None)) => (marker.template, Dialect::of_marker(word), false),
        None => (marker.template, marker.dialect, false),
    };
    let exports = lib_text
        .as_deref()
        .and_then(template::find_exports)
        .unwrap_or_default();
    let generate_module = template == Template::Pyo3 && generates && !exports.has_pymodule;
    // As rustimport reads them: `//:` lines of the library root are Cargo.toml lines
    // under the crate's own (Cargo.toml wins), `//d:` lines files that rebuild it.
    let header = match &lib_text {
        Some(text) => Some(preprocess::parse_header(&crate_root, text)?),
        None => None,
    };
    let mut lines = match &header {
        Some(header) => preprocess::parse_manifest_lines(&crate_root, &header.manifest_lines)?,
        None => Table::new(),
    };
    absolutize_path_dependencies(&mut lines, dir);
    let globs = header.as_ref().map_or_else(Vec::new, |header| {
        let base = crate_root.parent().unwrap_or(dir);
        preprocess::absolute_globs(base, &header.dependency_globs)
    });

    let workspace = graph::workspace_of(dir, &manifest);
    let root = module.crate_dir();
    create_private_dir(&root)?;
    let member_dir = match &workspace {
        Some(workspace) => {
            let relative = dir
                .strip_prefix(&workspace.root)
                .unwrap_or(Path::new("member"));
            let manifest = workspace_root_manifest(workspace, relative)?;
            write_if_changed(&root.join("Cargo.toml"), &manifest)?;
            root.join(relative)
        }
        None => root.clone(),
    };
    create_private_dir(&member_dir)?;
    mirror_entries(dir, &member_dir);

    let mut user = lines;
    merge(&mut user, manifest.clone());
    let from_graph = graph::pyo3_requirement(&user, dir);
    let pyo3 = dialect.pyo3_dependency(from_graph.as_deref());
    // The pyo3 the crate gets: its own dependency's, else the template's.
    let introspectable = introspect
        && template == Template::Pyo3
        && template::introspectable(
            stable_abi::pyo3_version(&user)
                .as_deref()
                .or(pyo3.get("version").and_then(Value::as_str)),
        );

    let mut inputs = vec![crate_root.clone()];
    let mut aliases = Vec::new();
    let lib_path = if generate_module {
        let view = module.dir.join("view");
        create_private_dir(&view)?;
        let text = lib_text.unwrap_or_default();
        let (inner_attributes, blanked) = split_inner_attributes(&text);
        let included = if inner_attributes.is_empty() {
            crate_root.clone()
        } else {
            let copy = view.join(crate_root.file_name().unwrap_or("lib.rs".as_ref()));
            write_if_changed(&copy, &blanked)?;
            copy
        };
        let wrapper_path = view.join("__rusthook_lib.rs");
        let wrapper = template::pymodule_wrapper(
            &crate_root,
            &included,
            &inner_attributes,
            &source.name,
            &exports,
            false,
            introspectable,
        );
        write_if_changed(&wrapper_path, &wrapper)?;
        // The wrapper sits among the library root's neighbours, so its `mod` items
        // find the user's files (diagnostics name them through the alias).
        mirror_siblings(&view, &crate_root);
        if let Some(folder) = crate_root.parent() {
            aliases.push((
                format!("{}/", view.display()),
                format!("{}/", folder.display()),
            ));
        }
        wrapper_path
    } else {
        crate_root.clone()
    };

    let merged = merged_manifest(
        &user,
        dir,
        template,
        pyo3,
        &module.lib_name,
        &lib_path,
        workspace.is_some(),
    )?;
    let pyo3_version = stable_abi::pyo3_version(&merged);
    let compile = cache.compile_partition(stable_abi::stable_abi_floor(&merged))?;
    let text = preprocess::manifest_text(&merged, &manifest_path)?;
    let merged_path = member_dir.join("Cargo.toml");
    write_if_changed(&merged_path, &text)?;

    let user_root = workspace
        .as_ref()
        .map_or(dir.as_path(), |w| w.root.as_path());
    // Cargo's own messages (a missing dependency, a bad key) name the package by its
    // folder: the user's, not the copy.
    aliases.push((
        member_dir.to_string_lossy().into_owned(),
        dir.to_string_lossy().into_owned(),
    ));
    if workspace.is_some() {
        aliases.push((
            root.to_string_lossy().into_owned(),
            user_root.to_string_lossy().into_owned(),
        ));
    }
    if let Some(workspace) = &workspace {
        inputs.push(workspace.root.join("Cargo.toml"));
    }
    let user_lock = user_root.join("Cargo.lock");
    seed_lock(&user_lock, &root, module, &compile, pyo3_version.as_deref());
    inputs.push(user_lock);
    Ok(PreparedCrate {
        manifest_path: merged_path,
        template,
        crate_root,
        inputs,
        aliases,
        globs,
        compile,
        introspectable,
        pyo3_version,
    })
}

/// The crate's own Cargo.toml merged over the template's (the user's keys win, as with
/// `//:` lines): pyo3 and `crate-type = ["cdylib"]` are added when missing. The library
/// is the user's file (or the generated root), relative paths point into the user's
/// folder.
fn merged_manifest(
    user: &Table,
    crate_dir: &Path,
    template: Template,
    pyo3: Table,
    lib_name: &str,
    lib_path: &Path,
    in_workspace: bool,
) -> Result<Table> {
    let package_name = user
        .get("package")
        .and_then(|p| p.get("name"))
        .and_then(Value::as_str)
        .unwrap_or(lib_name)
        .to_string();
    let mut merged = template.base_manifest(&package_name, pyo3);
    let mut user = user.clone();
    absolutize_path_dependencies(&mut user, crate_dir);
    merge(&mut merged, user);
    let package = table_entry(&mut merged, "package");
    // The copy's workspace is found the way cargo finds it: the root above it in the
    // cache, or none.
    package.remove("workspace");
    // The build script by absolute path: cargo finds it without the mirror (no symlinks
    // on some systems), and its diagnostics name the user's file.
    let auto_build = crate_dir.join("build.rs");
    if !package.contains_key("build") && auto_build.is_file() {
        package.insert("build".into(), Value::from(path_str(&auto_build)?));
    }
    if let Some(Value::String(build)) = package.get_mut("build") {
        if Path::new(build.as_str()).is_relative() {
            *build = crate_dir
                .join(build.as_str())
                .to_string_lossy()
                .into_owned();
        }
    }
    let lib = table_entry(&mut merged, "lib");
    // A name of its own: libraries never overwrite each other in the shared target dir.
    lib.insert("name".into(), Value::from(lib_name));
    lib.insert("path".into(), Value::from(path_str(lib_path)?));
    lib.entry("crate-type")
        .or_insert_with(|| Value::Array(vec![Value::from("cdylib")]));
    if in_workspace {
        // Profiles are the workspace root's (see `workspace_root_manifest`); cargo
        // ignores, with a warning, any a member has.
        merged.remove("profile");
    } else {
        // A crate that is its own workspace root keeps its settings, not its members.
        let section = table_entry(&mut merged, "workspace");
        section.insert("members".into(), Value::Array(Vec::new()));
        section.remove("default-members");
        section.remove("exclude");
        absolutize_workspace_dependencies(section, crate_dir);
    }
    Ok(merged)
}

/// The workspace root manifest for building one member in the cache: the workspace's
/// own settings (resolver, profiles, patches, inherited dependencies and package keys)
/// with only that member.
fn workspace_root_manifest(workspace: &Workspace, member: &Path) -> Result<String> {
    let user = &workspace.manifest;
    let mut root = Table::new();
    for key in ["patch", "profile", "replace"] {
        if let Some(value) = user.get(key) {
            root.insert(key.into(), value.clone());
        }
    }
    // The template's profile under the workspace's own (its keys win), as for a crate.
    let mut profile = template::dependency_profile();
    if let Some(Value::Table(own)) = root.remove("profile") {
        merge(&mut profile, own);
    }
    root.insert("profile".into(), Value::Table(profile));
    absolutize_path_dependencies(&mut root, &workspace.root);
    let mut section = user
        .get("workspace")
        .and_then(Value::as_table)
        .cloned()
        .unwrap_or_default();
    section.insert(
        "members".into(),
        Value::Array(vec![Value::from(member.to_string_lossy().as_ref())]),
    );
    section.remove("default-members");
    section.remove("exclude");
    // A root that is also a package implies its edition's resolver; this root is not.
    if !section.contains_key("resolver") {
        let edition = user
            .get("package")
            .and_then(|p| p.get("edition"))
            .and_then(Value::as_str);
        let resolver = match edition {
            Some("2021") => Some("2"),
            Some("2024") => Some("3"),
            _ => None,
        };
        if let Some(resolver) = resolver {
            section.insert("resolver".into(), Value::from(resolver));
        }
    }
    absolutize_workspace_dependencies(&mut section, &workspace.root);
    root.insert("workspace".into(), Value::Table(section));
    preprocess::manifest_text(&root, &workspace.root.join("Cargo.toml"))
}

fn absolutize_workspace_dependencies(section: &mut Table, root: &Path) {
    if let Some(Value::Table(dependencies)) = section.remove("dependencies") {
        let mut wrapper = Table::new();
        wrapper.insert("dependencies".into(), Value::Table(dependencies));
        absolutize_path_dependencies(&mut wrapper, root);
        if let Some(dependencies) = wrapper.remove("dependencies") {
            section.insert("dependencies".into(), dependencies);
        }
    }
}

/// Starts the cache's lock file from the user's Cargo.lock (again whenever that one
/// changes; in between, cargo's additions such as the template's pyo3 stay), else from
/// the lock-file seed of the crate's pyo3 version.
fn seed_lock(
    user_lock: &Path,
    root: &Path,
    module: &ModuleCache,
    compile: &CompilePartition,
    pyo3_version: Option<&str>,
) {
    let lock = root.join("Cargo.lock");
    let copied_from = module.dir.join("user-Cargo.lock");
    match fs::read(user_lock) {
        Ok(bytes) => {
            let unchanged = fs::read(&copied_from).is_ok_and(|copied| copied == bytes);
            if !unchanged || !lock.is_file() {
                let written = write_atomically(&lock, &bytes)
                    .and_then(|()| write_atomically(&copied_from, &bytes));
                if let Err(error) = written {
                    log::debug!(target: "rusthook.builder", "could not copy {}: {error}", user_lock.display());
                }
            }
        }
        Err(_) => {
            let seed = compile.lockfile_seed(seed_variant(pyo3_version).as_deref());
            if !lock.exists() && seed.is_file() {
                let _ = fs::copy(&seed, &lock);
            }
        }
    }
}

/// Which lock-file seed a crate with this pyo3 requirement starts from: one per pyo3
/// series (and one for crates without pyo3, such as C-ABI libraries), so that a module
/// of another pyo3 version never makes the next module resolve pyo3 anew (and compile
/// it again). `None` is the seed of the template's own pyo3.
pub fn seed_variant(pyo3_version: Option<&str>) -> Option<String> {
    match pyo3_version {
        None => Some("no-pyo3".to_string()),
        Some(version) if template::same_series(version, template::PYO3_REQUIREMENT) => None,
        Some(version) => {
            let series: String = template::series(version)
                .chars()
                .filter(|c| c.is_ascii_alphanumeric() || *c == '.')
                .collect();
            Some(format!("pyo3-{series}"))
        }
    }
}

/// Symlinks each entry of the user's crate folder into its copy in the cache (except
/// the manifest, the lock file, `target/` and `.git`), and drops links whose target is
/// gone. Unix only; elsewhere only files the manifest names by absolute path are found.
fn mirror_entries(from: &Path, into: &Path) {
    #[cfg(unix)]
    {
        const OWN: [&str; 4] = ["Cargo.toml", "Cargo.lock", "target", ".git"];
        if let Ok(entries) = fs::read_dir(into) {
            for entry in entries.flatten() {
                let link = entry.path();
                let is_link = fs::symlink_metadata(&link).is_ok_and(|m| m.file_type().is_symlink());
                if is_link && !link.exists() {
                    let _ = fs::remove_file(&link);
                }
            }
        }
        let Ok(entries) = fs::read_dir(from) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            if OWN.iter().any(|own| name == *own) {
                continue;
            }
            let link = into.join(&name);
            if fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink(entry.path(), &link);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (from, into);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_manifest_adds_the_template_and_keeps_the_users_keys() {
        let user: Table = r#"
[package]
name = "crate_a"
version = "0.2.0"
edition = "2021"
workspace = ".."
build = "build.rs"

[dependencies]
crate_b = { path = "../crate_b" }
itoa = "1"
"#
        .parse()
        .unwrap();
        let merged = merged_manifest(
            &user,
            Path::new("/ws/crate_a"),
            Template::Pyo3,
            Dialect::Rustimport.pyo3_dependency(None),
            "crate_a_0123",
            Path::new("/ws/crate_a/src/lib.rs"),
            true,
        )
        .unwrap();
        assert_eq!(merged["package"]["name"].as_str(), Some("crate_a"));
        assert_eq!(merged["package"]["version"].as_str(), Some("0.2.0"));
        assert!(merged["package"].get("workspace").is_none());
        assert_eq!(
            merged["package"]["build"].as_str().map(Path::new),
            Some(Path::new("/ws/crate_a/build.rs"))
        );
        assert_eq!(
            merged["dependencies"]["pyo3"]["version"].as_str(),
            Some("0.23.4")
        );
        assert_eq!(
            merged["dependencies"]["crate_b"]["path"]
                .as_str()
                .map(Path::new),
            Some(Path::new("/ws/crate_a/../crate_b"))
        );
        assert_eq!(merged["lib"]["name"].as_str(), Some("crate_a_0123"));
        assert_eq!(
            merged["lib"]["path"].as_str(),
            Some("/ws/crate_a/src/lib.rs")
        );
        assert_eq!(merged["lib"]["crate-type"][0].as_str(), Some("cdylib"));
        assert!(merged.get("workspace").is_none());

        let alone = merged_manifest(
            &user,
            Path::new("/c"),
            Template::Pyo3,
            Dialect::Rusthook.pyo3_dependency(None),
            "c_1",
            Path::new("/c/src/lib.rs"),
            false,
        )
        .unwrap();
        assert!(alone["workspace"]["members"].as_array().unwrap().is_empty());
    }

    #[test]
    fn a_build_script_found_by_cargo_is_named_by_absolute_path() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("build.rs"), "fn main() {}").unwrap();
        let user: Table = "[package]\nname = \"b\"\n".parse().unwrap();
        let lib = dir.path().join("src/lib.rs");
        let merged = merged_manifest(
            &user,
            dir.path(),
            Template::Cffi,
            Table::new(),
            "b_1",
            &lib,
            false,
        )
        .unwrap();
        let expected = dir.path().join("build.rs");
        assert_eq!(merged["package"]["build"].as_str(), expected.to_str());
        assert!(merged.get("dependencies").is_none(), "cffi adds no pyo3");
    }

    #[test]
    fn workspace_root_keeps_settings_and_only_the_member() {
        let manifest: Table = r#"
[package]
name = "root"
edition = "2021"

[workspace]
members = ["crates/*"]
default-members = ["crates/a"]

[workspace.dependencies]
b = { path = "crates/b" }

[profile.dev]
opt-level = 1
"#
        .parse()
        .unwrap();
        let workspace = Workspace {
            root: PathBuf::from("/ws"),
            manifest,
        };
        let text = workspace_root_manifest(&workspace, Path::new("crates/a")).unwrap();
        let root: Table = text.parse().unwrap();
        assert!(root.get("package").is_none());
        assert_eq!(root["workspace"]["members"][0].as_str(), Some("crates/a"));
        assert!(root["workspace"].get("default-members").is_none());
        assert_eq!(root["workspace"]["resolver"].as_str(), Some("2"));
        assert_eq!(
            root["workspace"]["dependencies"]["b"]["path"]
                .as_str()
                .map(Path::new),
            Some(Path::new("/ws/crates/b"))
        );
        assert_eq!(root["profile"]["dev"]["opt-level"].as_integer(), Some(1));
        // The template's dependency profile joins the workspace's own.
        assert_eq!(
            root["profile"]["dev"]["package"]["*"]["debug"].as_bool(),
            Some(false)
        );
    }

    #[test]
    fn seeds_are_kept_per_pyo3_series() {
        assert_eq!(seed_variant(None).as_deref(), Some("no-pyo3"));
        assert_eq!(seed_variant(Some("0.30")), None);
        assert_eq!(seed_variant(Some("^0.30.1")), None);
        assert_eq!(seed_variant(Some("0.23.4")).as_deref(), Some("pyo3-0.23"));
    }
}
