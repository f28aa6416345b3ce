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

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use toml::Table;

use crate::error::Result;
use crate::file_importer::finder::Source;
use crate::file_importer::graph;
use crate::file_importer::lock_seed;
use crate::file_importer::manifest::{self, absolutize_path_dependencies, merge};
use crate::file_importer::mirror::{mirror_folder, mirror_siblings};
use crate::file_importer::preprocess::{self, split_inner_attributes};
use crate::file_importer::template::{self, Dialect, Template};
use crate::fsutil::{create_private_dir, read_toml, read_utf8, write_if_changed};
use crate::machinery::cache::{BuildCache, CompilePartition, ModuleCache};
use crate::machinery::{cargo, stable_abi};

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
            crate_root: cargo::library_root(dir, None),
            inputs: Vec::new(),
            aliases: Vec::new(),
            globs: Vec::new(),
            compile: cache.compile_partition(None)?,
            introspectable: false,
            pyo3_version: None,
        });
    };
    let crate_root = cargo::library_root(dir, Some(&manifest));
    // rustimport's template marker on the library root: `// rustimport:pyo3`.
    let lib_text = read_utf8(&crate_root).ok();
    let (line, first_line) = preprocess::marker_candidate(lib_text.as_deref().unwrap_or(""));
    let (template, dialect, generates) = match preprocess::marker_line(first_line) {
        Some((word, Some(name))) => (
            Template::named(name, &crate_root, line)?,
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
            let manifest = manifest::workspace_root(workspace, relative)?;
            write_if_changed(&root.join("Cargo.toml"), &manifest)?;
            root.join(relative)
        }
        None => root.clone(),
    };
    create_private_dir(&member_dir)?;
    // The merged manifest and the lock file in the cache are the copy's own.
    let own = ["Cargo.toml", "Cargo.lock", "target", ".git"].map(OsStr::new);
    let copies = mirror_folder(dir, &member_dir, &own);

    let mut user = lines;
    merge(&mut user, manifest.clone());
    let from_graph = graph::pyo3_requirement(&user, dir, &manifest_path)?;
    let pyo3 = dialect.pyo3_dependency(from_graph.as_deref());
    let view = module.dir.join("view");
    let lib_path = if generate_module {
        view.join("__rusthook_lib.rs")
    } else {
        crate_root.clone()
    };
    let merged = manifest::of_crate(
        &user,
        dir,
        template,
        pyo3,
        &module.lib_name,
        &lib_path,
        workspace.is_some(),
    )?;
    // The pyo3 the crate gets: its own dependency (the user's keys win in the merge),
    // else the template's, which follows the graph.
    let pyo3_version = stable_abi::pyo3_version(&merged);
    let introspectable = introspect
        && template == Template::Pyo3
        && template::introspectable(pyo3_version.as_deref());

    let mut inputs = vec![crate_root.clone()];
    inputs.extend(copies);
    let mut aliases = Vec::new();
    if generate_module {
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
        let wrapper = template::pymodule_wrapper(
            &crate_root,
            &included,
            &inner_attributes,
            &source.name,
            &exports,
            false,
            introspectable,
        );
        write_if_changed(&lib_path, &wrapper)?;
        // The wrapper sits among the library root's neighbours, so its `mod` items
        // find the user's files (diagnostics name them through the alias).
        inputs.extend(mirror_siblings(&crate_root, &view));
        if let Some(folder) = crate_root.parent() {
            aliases.push((
                format!("{}/", view.display()),
                format!("{}/", folder.display()),
            ));
        }
    }

    let compile = cache.compile_partition(stable_abi::stable_abi_floor(&merged))?;
    let text = manifest::text(&merged, &manifest_path)?;
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
    lock_seed::start_from_users_lock(
        &user_lock,
        &root.join("Cargo.lock"),
        module,
        &compile,
        pyo3_version.as_deref(),
    );
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
