//! Building a single file, a marked crate or a notebook cell: the crate `prepare` made,
//! cargo, the verified install of the library in the cache, its stub when asked for, and
//! in-place builds beside the source.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::file_importer::cdecl;
use crate::file_importer::finder::{check_module_name, Source, SourceKind};
use crate::file_importer::in_place;
use crate::file_importer::lock_seed;
use crate::file_importer::prepare::{prepare, Prepared};
use crate::file_importer::preprocess;
use crate::file_importer::template::{self, Template};
use crate::fsutil::{check_private_below, create_private_dir, read_toml, write_if_changed};
use crate::machinery::cache::{Bucket, BuildCache, ModuleCache};
use crate::machinery::cargo::{self, CargoBuild};
use crate::machinery::freshness::BuildRecord;
use crate::machinery::inputs::{CargoReads, InputStamps};
use crate::machinery::install::{self, check_module_export};
use crate::machinery::placement::{self, Places, STABLE_ABI_SUFFIX};
use crate::machinery::progress::{BuildObserver, Progress};
use crate::machinery::{fresh_or_build, is_up_to_date};
use crate::machinery::{BuildContext, Outcome};
use crate::settings::{PythonEnv, Settings};
use crate::stubs;

/// Where a fresh build of a module is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The library in the build cache: the one to load (a new name for every build).
    pub artifact: PathBuf,
    /// For a C-ABI (cffi) library, the file holding its C declarations (for
    /// `ffi.cdef()`); `None` for a Python extension module.
    pub declarations: Option<PathBuf>,
    /// `name.<EXT_SUFFIX>` beside the source, when `in_place` was asked for.
    pub in_place: Option<PathBuf>,
    /// `name.pyi` beside the source and what writing it did, when stubs were asked for
    /// (or the build was in place).
    pub stub: Option<(PathBuf, stubs::Written)>,
}

/// Returns a fresh library for `source`, building it first if needed.
pub fn ensure_built(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<Built> {
    build_module(source, settings, python, observer, StubUse::Place).map(|(built, _)| built)
}

/// Builds `source` with its introspection data if needed and puts its stub beside it
/// (the `stubs` command): where, and what writing did, a stub left in place included.
pub fn place_stub_of(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<(PathBuf, stubs::Written)> {
    let settings = Settings {
        stubs: true,
        ..settings.clone()
    };
    let (built, _) = build_module(source, &settings, python, observer, StubUse::Report)?;
    built.stub.ok_or_else(|| Error::NoStub {
        path: source.path.clone(),
        kind: CFFI_KIND.to_string(),
    })
}

/// The stub of `source`, built with its introspection data if needed, without writing
/// it anywhere: `(where it goes, its text)` (for `stubs --diff`).
pub fn stub_of(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<(PathBuf, String)> {
    let settings = Settings {
        stubs: true,
        in_place: false,
        ..settings.clone()
    };
    let (built, text) = build_module(source, &settings, python, observer, StubUse::Read)?;
    if built.declarations.is_some() {
        return Err(Error::NoStub {
            path: source.path.clone(),
            kind: CFFI_KIND.to_string(),
        });
    }
    let dest = stubs::path_beside(&source.path, &source.name);
    Ok((dest, text.unwrap_or_default()))
}

/// Whether this build of `source` carries pyo3's introspection data and makes a stub. A
/// notebook cell's source lives in IPython's cache, where no editor reads a stub: its
/// functions show their signatures through pyo3's `__text_signature__` instead.
fn introspects(settings: &Settings, source: &Source) -> bool {
    settings.introspect() && !matches!(source.kind, SourceKind::Cell(_))
}

/// What a cffi module is, for the message refusing its stub.
const CFFI_KIND: &str = "a C-ABI (cffi) module: Python sees it through cffi's `ffi` and `lib`, which take their types from its C declarations";

/// What a build does with its stub (when it makes one).
#[derive(Clone, Copy, PartialEq, Eq)]
enum StubUse {
    /// Write it beside the source (an import: what writing did is not asked for, so a
    /// stub already there when nothing was built is not even opened).
    Place,
    /// Write it beside the source and say what writing did.
    Report,
    /// Return its text.
    Read,
}

fn build_module(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
    stub_use: StubUse,
) -> Result<(Built, Option<String>)> {
    check_module_name(&source.name, &source.path)?;
    let cache = BuildCache::open(settings, python)?;
    let profile = settings.cargo_profile().to_string();
    let places = |cache: &BuildCache, introspected: bool| {
        module_places(cache, source, settings, python, &profile, introspected)
    };
    let introspect = introspects(settings, source);
    let (mut place, mut last) = places(&cache, introspect).choose();
    // A fresh in-place build (pyo3's introspection data change nothing at run time: a
    // container image's `build`) serves an import that asks for none.
    let mut serving = false;
    if last.is_none() && !introspect {
        if let (other, Some(record)) = places(&cache, true).choose() {
            (place, last, serving) = (other, Some(record), true);
        }
    }
    // The library is loaded from here: nobody else may have been able to put it there.
    check_private_below(&settings.build_root, &place.module.dir)?;
    let mut ctx = BuildContext {
        name: &source.name,
        origin: &source.path,
        settings,
        python,
        fingerprint: place.fingerprint.clone(),
        profile: profile.clone(),
        features: settings.features.clone(),
        cache,
        progress: Progress::new(observer, settings.quiet),
        module: place.module.clone(),
    };
    if serving
        && !last
            .as_ref()
            .is_some_and(|record| is_up_to_date(&ctx, record))
    {
        (place, last, serving) = (places(&ctx.cache, false).choose().0, None, false);
        ctx.fingerprint = place.fingerprint.clone();
        ctx.module = place.module.clone();
    }
    let last_artifact = last.as_ref().map(|record| record.artifact.clone());
    let describe = format!("{} ({})", source.name, settings.profile_name());
    let mut record = fresh_or_build(&ctx, last, &describe, |previous| {
        build(&ctx, source, previous)
    })?;
    // A stable-ABI build where version-specific ones are (or the reverse) moves.
    if let Some(to) =
        placement::belongs_elsewhere(places(&ctx.cache, serving || introspect), &place, &record)
    {
        let (settled, moved) = placement::settle(&place, &to, record, settings.lock_timeout)?;
        record = moved;
        ctx.module = settled.module.clone();
    }

    let artifact = ctx.module.artifact_path(&record.artifact);
    let declarations = record
        .declarations
        .as_deref()
        .map(|name| ctx.module.artifact_path(name));
    let in_place = if !settings.in_place {
        None
    } else if declarations.is_some() {
        return Err(Error::NotAnExtension {
            path: source.path.clone(),
        });
    } else {
        let folder = source.path.parent().unwrap_or(Path::new("/"));
        let written = install::install_in_place(
            &artifact,
            folder,
            &source.name,
            python.ext_suffix(),
            ctx.settings.quiet,
        )?;
        in_place::write_stamp(&written, folder, &record)?;
        Some(written)
    };
    let mut text = None;
    let stub = if !introspects(settings, source) || declarations.is_some() {
        None
    } else if stub_use == StubUse::Read {
        text = Some(cached_stub(&ctx, source, &record));
        None
    } else {
        let built_now = last_artifact.as_deref() != Some(record.artifact.as_str());
        place_stub(
            &ctx,
            source,
            &record,
            built_now,
            stub_use == StubUse::Report,
        )?
    };
    let built = Built {
        artifact,
        declarations,
        in_place,
        stub,
    };
    Ok((built, text))
}

/// The stub the build made, kept beside its library; made again from the library if
/// it is gone (a half-deleted cache).
fn cached_stub(ctx: &BuildContext, source: &Source, record: &BuildRecord) -> String {
    record
        .stub
        .as_deref()
        .map(|name| ctx.module.artifact_path(name))
        .and_then(|path| fs::read_to_string(path).ok())
        .unwrap_or_else(|| {
            // The pyo3 version is not in the record: the sketch assumes the template's.
            stub_text(source, &ctx.module.artifact_path(&record.artifact), None)
        })
}

/// Writes the build's stub beside the source: after a build (when its text changed), or
/// when none is there. An up-to-date import with a stub in place costs one `stat`.
fn place_stub(
    ctx: &BuildContext,
    source: &Source,
    record: &BuildRecord,
    built_now: bool,
    report: bool,
) -> Result<Option<(PathBuf, stubs::Written)>> {
    let dest = stubs::path_beside(&source.path, &source.name);
    let written = stubs::place(
        &dest,
        &source.path,
        &ctx.module.dir,
        built_now,
        report,
        || cached_stub(ctx, source, record),
    )?;
    Ok(Some((dest, written)))
}

/// Where the builds of `source` with these settings live: the cache, the module's
/// folder in it, the settings fingerprint and the cargo profile.
pub fn module_entry(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
) -> Result<(BuildCache, ModuleCache, String, String)> {
    let cache = BuildCache::open(settings, python)?;
    let profile = settings.cargo_profile().to_string();
    let introspect = introspects(settings, source);
    let (place, _) = module_places(&cache, source, settings, python, &profile, introspect).choose();
    Ok((cache, place.module, place.fingerprint, profile))
}

/// The places `source`'s build may live (its interpreter's partition, and the shared
/// stable-ABI one), each with the settings fingerprint of builds there. A library with
/// introspection data is another build (another pyo3 feature), kept beside the one
/// without as release is beside debug: switching stubs on and off rebuilds nothing that
/// is fresh.
fn module_places(
    cache: &BuildCache,
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    profile: &str,
    introspected: bool,
) -> Places {
    let fingerprint = |ext_suffix: &str| {
        let mut fingerprint =
            settings.fingerprint_for_suffix(profile, &settings.features, ext_suffix);
        if introspected {
            fingerprint.push_str(" | introspection");
        }
        fingerprint
    };
    Places::new(
        cache,
        Bucket::Modules,
        &source.name,
        &source.path,
        fingerprint(python.ext_suffix()),
        fingerprint(STABLE_ABI_SUFFIX),
    )
}

/// The stub of `source`'s library: introspected, else sketched from the library root
/// (as pyo3 `pyo3_version` reads it).
fn stub_text(source: &Source, library: &Path, pyo3_version: Option<&str>) -> String {
    let option_defaults = template::implicit_option_defaults(pyo3_version);
    let sketch = || {
        let root = match source.kind {
            SourceKind::File | SourceKind::Cell(_) => source.path.clone(),
            SourceKind::Crate => cargo::library_root(
                &source.path,
                read_toml(&source.path.join("Cargo.toml")).as_ref(),
            ),
        };
        fs::read_to_string(root).ok()
    };
    stubs::generate(library, &source.name, &source.path, sketch, option_defaults)
}

fn build(ctx: &BuildContext, source: &Source, previous: Option<&BuildRecord>) -> Result<Outcome> {
    let introspect = introspects(ctx.settings, source);
    let Prepared {
        manifest_path,
        globs,
        template,
        crate_root,
        inputs,
        aliases,
        seed,
        compile,
        introspectable,
        pyo3_version,
    } = prepare(source, &ctx.cache, &ctx.module, introspect)?;
    let mut features = ctx.features.clone();
    if introspectable {
        features.push("pyo3/experimental-inspect".to_string());
    }
    let mut primary = vec![source_entry_file(source)];
    primary.extend(inputs);
    primary.extend(preprocess::expand_globs(&globs));
    let stamps = InputStamps::before_build(&primary, previous.map_or(&[], |record| &record.files))?;

    // A C-ABI library's declarations come from its source. A signature C cannot
    // express fails now, before cargo runs; a file syn cannot read is left for rustc
    // to report (its diagnostics are better), and fails only if rustc accepts it.
    let mut unreadable = None;
    let declarations = match template {
        Some(Template::Cffi) => match cdecl::declarations(&crate_root, &source.path) {
            Ok(declarations) => Some(declarations),
            Err(error @ Error::Unparsable { .. }) => {
                unreadable = Some(error);
                None
            }
            Err(error) => return Err(error),
        },
        Some(Template::Pyo3) | None => None,
    };

    let cargo_build = CargoBuild {
        module: &source.name,
        origin: &source.path,
        manifest_path: &manifest_path,
        target_dir: &compile.target_dir,
        working_dir: source.base_dir(),
        build_root: &ctx.settings.build_root,
        pyo3: &compile.pyo3,
        profile: &ctx.profile,
        features: &features,
        extra_args: &ctx.settings.cargo_args,
        rustc_args: &[],
        diagnostics_aliases: aliases,
    };
    let output = std::thread::scope(|scope| {
        // Builds older than the last one go while cargo runs: deleting a library of
        // megabytes takes milliseconds. The last one stays: a process that read the
        // record a moment ago may be about to load it.
        if let Some(previous) = previous {
            scope.spawn(|| install::remove_old_artifacts(&ctx.module, &previous.artifact_names()));
        }
        cargo::run(&cargo_build, &ctx.progress)
    })?;
    if let Some(error) = unreadable {
        return Err(error);
    }
    if template.is_none_or(Template::builds_extension_module) {
        check_module_export(&output.library, &source.name, &source.name, &source.path)?;
    }
    let inputs = stamps.inputs_read(
        primary,
        &CargoReads::of(&output, &manifest_path, source.base_dir()),
        &ctx.cache.abi_dir,
        &ctx.cache.target_dirs(),
    )?;
    let ext_suffix = match compile.stable_abi_floor {
        Some(_) => STABLE_ABI_SUFFIX,
        None => ctx.python.ext_suffix(),
    };
    let installed = install::install_library(
        &ctx.module,
        &source.name,
        &output.library,
        ext_suffix,
        declarations.as_ref().map(|d| d.text.as_str()),
    )?;
    if let Some(seed) = seed {
        lock_seed::keep_as_seed(&seed, &ctx.module);
    }
    let stub = if introspect && installed.declarations.is_none() {
        let text = stub_text(
            source,
            &ctx.module.artifact_path(&installed.library),
            pyo3_version.as_deref(),
        );
        let name = format!("{}.pyi", installed.library);
        Some(install::keep_stub(&ctx.module, name, &text)?)
    } else {
        None
    };
    Ok(Outcome {
        artifact: installed.library,
        declarations: installed.declarations,
        stub,
        inputs,
        globs,
        stable_abi_floor: compile.stable_abi_floor,
    })
}

/// Compiles the pyo3 template's dependencies for these settings and this interpreter
/// ahead of time (a Docker build step, a CI job's set-up), by building a small module of
/// the template whose source lives in the cache; the first real import then builds
/// only its own module.
pub fn warm(
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<Built> {
    let cache = BuildCache::open(settings, python)?;
    let folder = cache.abi_dir.join("warm");
    create_private_dir(&folder)?;
    let path = folder.join(format!("{WARM_MODULE}.rs"));
    write_if_changed(&path, template::WARM_SOURCE)?;
    let source = Source {
        name: WARM_MODULE.to_string(),
        kind: SourceKind::File,
        path,
    };
    ensure_built(&source, settings, python, observer)
}

const WARM_MODULE: &str = "_rusthook_warm";

/// The file that always makes a build stale when it changes.
fn source_entry_file(source: &Source) -> PathBuf {
    match source.kind {
        SourceKind::File | SourceKind::Cell(_) => source.path.clone(),
        SourceKind::Crate => source.path.join("Cargo.toml"),
    }
}
