//! What a build prepares before cargo runs: the generated crate of a single file or cell
//! (its manifest, the `#[pymodule]` wrapper, a view of the user's folder) or a marked
//! crate's merged manifest, the lock-file seed, the compile partition, and the files the
//! build depends on beyond what cargo reports.

use std::path::PathBuf;

use crate::error::Result;
use crate::file_importer::crates;
use crate::file_importer::finder::{Source, SourceKind, MARKERS};
use crate::file_importer::lock_seed;
use crate::file_importer::mirror::mirror_siblings;
use crate::file_importer::preprocess;
use crate::file_importer::single_file::{self, CrateLayout};
use crate::file_importer::template::Template;
use crate::fsutil::{create_private_dir, read_utf8, write_if_changed};
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

/// Prepares a source's build: a single file's or cell's generated crate, or a marked
/// crate's own or merged manifest.
pub(super) fn prepare(
    source: &Source,
    cache: &BuildCache,
    module: &ModuleCache,
    introspect: bool,
) -> Result<Prepared> {
    match source.kind {
        SourceKind::File | SourceKind::Cell(_) => {
            prepare_single_file(source, cache, module, introspect)
        }
        SourceKind::Crate => prepare_crate(source, cache, module, introspect),
    }
}

/// A marked crate builds from its own Cargo.toml, or from one merged with the template's.
fn prepare_crate(
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
fn prepare_single_file(
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
    let generated = single_file::generate_crate(
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
    let mut inputs = Vec::new();
    if let Some(body) = &generated.body {
        let view = body_path.parent().unwrap_or(&crate_dir);
        create_private_dir(view)?;
        write_if_changed(&body_path, body)?;
        inputs = mirror_siblings(&source.path, view);
    }
    let compile = cache.compile_partition(generated.stable_abi_floor)?;
    let seed = lock_seed::start_from_seed(
        &crate_dir.join("Cargo.lock"),
        &compile,
        generated.pyo3_version.as_deref(),
    );
    Ok(Prepared {
        manifest_path,
        globs: preprocess::absolute_globs(source.base_dir(), &header.dependency_globs),
        template: header.template,
        crate_root: source.path.clone(),
        inputs,
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
