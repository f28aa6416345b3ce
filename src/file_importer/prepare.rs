//! What a build prepares before cargo runs: the generated crate of a single file or cell
//! (its manifest, the `#[pymodule]` wrapper, a view of the user's folder) or a marked
//! crate's merged manifest, the lock-file seed, the compile partition, and the files the
//! build depends on beyond what cargo reports.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::file_importer::crates;
use crate::file_importer::finder::{Source, SourceKind, MARKERS};
use crate::file_importer::preprocess::{self, CrateLayout};
use crate::file_importer::template::Template;
use crate::fsutil::{create_private_dir, read_utf8, write_atomically, write_if_changed};
use crate::machinery::cache::{BuildCache, CompilePartition, ModuleCache};

/// What a build needs to know before cargo runs.
pub(super) struct Prepared {
    pub(super) manifest_path: PathBuf,
    /// Absolute `//d:` globs (of a single file, or of a crate's library root).
    pub(super) globs: Vec<String>,
    /// `None` for a bare `// rusthook` file: its `//:` lines decide what it is.
    pub(super) template: Option<Template>,
    /// The crate's root source file (where C declarations are read from).
    pub(super) crate_root: PathBuf,
    /// More user files the build depends on, beyond what cargo reports.
    pub(super) inputs: Vec<PathBuf>,
    /// `(generated copy, user's file)` pairs: diagnostics naming a copy name the user's.
    pub(super) aliases: Vec<(String, String)>,
    /// The lock-file seed a generated crate's Cargo.lock is kept as, for the next new
    /// module of its pyo3 series.
    pub(super) seed: Option<PathBuf>,
    /// Where cargo compiles it.
    pub(super) compile: CompilePartition,
    /// Built with pyo3's introspection data.
    pub(super) introspectable: bool,
    /// The pyo3 version requirement it was built with, if known.
    pub(super) pyo3_version: Option<String>,
}

/// A marked crate builds from its own Cargo.toml, or from one merged with the template's.
pub(super) fn prepare_crate(
    source: &Source,
    cache: &BuildCache,
    module: &ModuleCache,
    introspect: bool,
) -> Result<Prepared> {
    let prepared = crates::prepare(source, cache, module, introspect)?;
    let mut inputs = prepared.inputs;
    // The marker file names the template: editing it changes what is built.
    inputs.extend(
        MARKERS
            .iter()
            .map(|m| source.path.join(format!(".{m}")))
            .filter(|p| p.is_file()),
    );
    Ok(Prepared {
        manifest_path: prepared.manifest_path,
        globs: prepared.globs,
        template: Some(prepared.template),
        crate_root: prepared.crate_root,
        inputs,
        aliases: prepared.aliases,
        seed: None,
        compile: prepared.compile,
        introspectable: prepared.introspectable,
        pyo3_version: prepared.pyo3_version,
    })
}

/// Writes the generated crate for a single-file module into its cache folder.
pub(super) fn prepare_single_file(
    source: &Source,
    cache: &BuildCache,
    module: &ModuleCache,
    introspect: bool,
) -> Result<Prepared> {
    let text = read_utf8(&source.path)?;
    let header = match source.kind {
        SourceKind::Cell(dialect) => preprocess::parse_cell_header(&text, dialect),
        SourceKind::File | SourceKind::Crate => preprocess::parse_header(&source.path, &text)?,
    };
    let crate_dir = module.crate_dir();
    create_private_dir(&crate_dir)?;
    let wrapper_path = crate_dir.join("wrapper.rs");
    let body_path = body_copy_path(module, source);
    let generated = preprocess::generate_crate(
        &source.path,
        &text,
        &header,
        &CrateLayout {
            module: &source.name,
            lib_name: &module.lib_name,
            wrapper_path: &wrapper_path,
            body_path: &body_path,
            introspect,
        },
    )?;
    let manifest_path = crate_dir.join("Cargo.toml");
    write_if_changed(&manifest_path, &generated.manifest)?;
    if let Some(wrapper) = &generated.wrapper {
        write_if_changed(&wrapper_path, wrapper)?;
    }
    if let Some(body) = &generated.body {
        let view = body_path.parent().unwrap_or(&crate_dir);
        create_private_dir(view)?;
        write_if_changed(&body_path, body)?;
        mirror_siblings(view, &source.path);
    }
    let lockfile = crate_dir.join("Cargo.lock");
    let compile = cache.compile_partition(generated.stable_abi_floor)?;
    let seed =
        compile.lockfile_seed(crates::seed_variant(generated.pyo3_version.as_deref()).as_deref());
    if !lockfile.exists() && seed.is_file() {
        let _ = fs::copy(&seed, &lockfile);
    }
    Ok(Prepared {
        manifest_path,
        globs: preprocess::absolute_globs(source.base_dir(), &header.dependency_globs),
        template: header.template,
        crate_root: source.path.clone(),
        inputs: Vec::new(),
        aliases: vec![(
            body_path.to_string_lossy().into_owned(),
            source.path.to_string_lossy().into_owned(),
        )],
        seed: Some(seed),
        compile,
        introspectable: generated.introspectable,
        pyo3_version: generated.pyo3_version,
    })
}

/// Where the copy of a file with inner attributes goes (see `GeneratedCrate::body`).
fn body_copy_path(module: &ModuleCache, source: &Source) -> PathBuf {
    module
        .crate_dir()
        .join("view")
        .join(format!("{}.rs", source.name))
}

/// The copy sits among symlinks to everything beside the user's file, so that its
/// relative paths (`include_str!("data/x.txt")`, `#[path]` modules) find the user's
/// files. Best effort: without symlinks, only such relative paths fail to compile.
pub fn mirror_siblings(view: &Path, source: &Path) {
    #[cfg(unix)]
    {
        let (Some(folder), Some(own_name)) = (source.parent(), source.file_name()) else {
            return;
        };
        let Ok(entries) = fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let link = view.join(entry.file_name());
            if entry.file_name() != own_name && fs::symlink_metadata(&link).is_err() {
                let _ = std::os::unix::fs::symlink(entry.path(), &link);
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (view, source);
}

/// Keeps the module's Cargo.lock as the seed for the next new module, so that it
/// resolves to the dependency versions already compiled (and needs no network).
pub(super) fn seed_lockfile(seed: &Path, module: &ModuleCache) {
    let copied = fs::read(module.crate_dir().join("Cargo.lock"))
        .and_then(|lockfile| write_atomically(seed, &lockfile));
    if let Err(error) = copied {
        log::debug!(target: "rusthook.builder", "could not update {}: {error}", seed.display());
    }
}
