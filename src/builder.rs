//! The builder: makes sure a module's last build is fresh, building it if not.
//!
//! Order of work: check freshness without a lock (the fast path); otherwise take the
//! module's lock, check again (another process may have just built it), build with
//! cargo, copy the library into the cache under a temporary name and rename it into
//! place, then write the build record. A failed build leaves the last good artifact
//! and its record untouched.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use crate::cache::{check_private, create_private_dir, BuildCache, ModuleCache};
use crate::cargo::{self, BuildObserver, CargoBuild, CargoFailure};
use crate::cdecl::{self, DeclarationError};
use crate::error::{Error, Result};
use crate::finder::MARKERS;
use crate::finder::{Source, SourceKind};
use crate::freshness::{
    self, BuildRecord, Expected, Freshness, ToolchainId, TrackedFile, RECORD_FORMAT,
};
use crate::lock;
use crate::preprocess::{self, CrateLayout, Template};
use crate::project::{Bindings, Project};
use crate::settings::{PythonEnv, Settings};
use crate::toolchain;

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
}

/// A fresh library in the cache, and its C declarations if it is a cffi library.
type Artifact = (PathBuf, Option<PathBuf>);

/// Returns a fresh library for `source`, building it first if needed.
pub fn ensure_built(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<Built> {
    let (artifact, declarations) = ensure_artifact(source, settings, python, observer)?;
    let in_place = if !settings.in_place {
        None
    } else if declarations.is_some() {
        return Err(Error::NotAnExtension {
            path: source.path.clone(),
        });
    } else {
        Some(install_in_place(source, &artifact, python)?)
    };
    Ok(Built {
        artifact,
        declarations,
        in_place,
    })
}

fn ensure_artifact(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<Artifact> {
    let cache = BuildCache::new(settings, python);
    let module = cache.module(source);
    // The library is loaded from here: nobody else may have been able to put it there.
    check_private(&cache.abi_dir)?;
    check_private(&module.dir)?;
    let fingerprint = settings.fingerprint(python);
    fresh_or_build(
        &source.name,
        &module,
        &fingerprint,
        settings,
        observer,
        || build(source, settings, python, &cache, &module, observer),
    )
}

/// Makes an editable maturin project's installed library fresh, rebuilding it if not.
pub fn ensure_project_built(
    project: &Project,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<()> {
    let cache = BuildCache::new(settings, python);
    let module = cache.project(project);
    let previous = BuildRecord::read(&module.record_path());
    let profile = project_profile(project, settings, previous.as_ref());
    let features = if settings.features.is_empty() {
        &project.features
    } else {
        &settings.features
    };
    let fingerprint = settings.fingerprint_with(&profile, features, python);
    fresh_or_build(
        &project.import_name,
        &module,
        &fingerprint,
        settings,
        observer,
        || {
            build_project(
                project, settings, python, &cache, &module, &profile, features, observer,
            )
            .map(|library| (library, None))
        },
    )?;
    Ok(())
}

/// The fast path, then the lock, then the check again, then `build`: only one process
/// builds a module at a time, and the others load what it built.
fn fresh_or_build(
    name: &str,
    module: &ModuleCache,
    settings_fingerprint: &str,
    settings: &Settings,
    observer: &dyn BuildObserver,
    build: impl FnOnce() -> Result<Artifact>,
) -> Result<Artifact> {
    if !settings.force_rebuild {
        if let Some(artifact) = fresh_artifact(name, module, settings_fingerprint) {
            return Ok(artifact);
        }
    }
    create_private_dir(&module.dir)?;
    let (_lock, waited) = lock::acquire(&module.lock_path(), settings.lock_timeout, &|| {
        observer.interrupted()
    })?;
    // Whoever held the lock has just built it: a forced rebuild need not build again.
    if !settings.force_rebuild || waited {
        if let Some(artifact) = fresh_artifact(name, module, settings_fingerprint) {
            return Ok(artifact);
        }
    }
    build()
}

/// The artifact of the last build if it is still fresh.
fn fresh_artifact(
    name: &str,
    module: &ModuleCache,
    settings_fingerprint: &str,
) -> Option<Artifact> {
    let record_path = module.record_path();
    let Some(record) = BuildRecord::read(&record_path) else {
        log::debug!(target: "rusthook.freshness", "{name} must be built: no build record at {}", record_path.display());
        return None;
    };
    let artifact = (
        module.artifact_path(&record.artifact),
        record
            .declarations
            .as_deref()
            .map(|d| module.artifact_path(d)),
    );
    let version = || toolchain::version().ok();
    let expected = Expected {
        settings: settings_fingerprint,
        toolchain_fingerprint: toolchain::fingerprint(),
        toolchain_version: &version,
    };
    match record.check(&artifact.0, &expected) {
        Freshness::Fresh => {
            log::debug!(target: "rusthook.freshness", "{name} is fresh");
            Some(artifact)
        }
        Freshness::FreshWithNewStats(updated) => {
            log::debug!(target: "rusthook.freshness", "{name} is fresh (touched files hash the same)");
            // Record the new stats so the next check stays stat-only, but only if no
            // one is building right now and the record is still the one we checked.
            if let Ok(Some(_lock)) = lock::try_acquire(&module.lock_path()) {
                if BuildRecord::read(&record_path).as_ref() == Some(&record) {
                    let _ = updated.write(&record_path);
                }
            }
            Some(artifact)
        }
        Freshness::Stale(reason) => {
            log::debug!(target: "rusthook.freshness", "{name} must be rebuilt: {reason}");
            None
        }
    }
}

/// `quiet` means nothing on stderr unless something fails.
fn log_level(settings: &Settings) -> log::Level {
    if settings.quiet {
        log::Level::Debug
    } else {
        log::Level::Info
    }
}

fn current_toolchain(cache: &BuildCache) -> Result<ToolchainId> {
    Ok(ToolchainId {
        fingerprint: toolchain::fingerprint().to_string(),
        version: toolchain::cached_version(&cache.toolchain_file())?,
    })
}

/// Stamps of the inputs known before a build: an edit made while cargo runs must make
/// the build stale, not be recorded as built.
struct InputStamps(HashMap<PathBuf, TrackedFile>);

impl InputStamps {
    fn before_build(primary: &[PathBuf], previous: Option<&BuildRecord>) -> Result<InputStamps> {
        let known = primary.iter().cloned().chain(
            previous
                .iter()
                .flat_map(|r| r.files.iter().map(|f| f.path.clone())),
        );
        Ok(InputStamps(
            freshness::track_all(known)?
                .into_iter()
                .map(|file| (file.path.clone(), file))
                .collect(),
        ))
    }

    /// What the build read: the primary inputs, everything in cargo's dep-info, the
    /// manifests of local packages and the lock file; stamped before the build where
    /// they were known then. Files inside the build cache are rusthook's own.
    fn files_read(
        &self,
        primary: Vec<PathBuf>,
        dep_info: &Path,
        local_manifests: &[PathBuf],
        manifest_path: &Path,
        cache: &BuildCache,
    ) -> Result<Vec<TrackedFile>> {
        let mut read = primary;
        read.extend(freshness::read_dep_info(dep_info));
        read.extend(local_manifests.iter().cloned());
        read.extend(find_lockfile(manifest_path));
        // A path through a symlink in the cache (see `mirror_siblings`) is the user's file.
        let read = read.into_iter().map(|p| {
            if p.starts_with(&cache.abi_dir) {
                p.canonicalize().unwrap_or(p)
            } else {
                p
            }
        });
        let mut read: Vec<PathBuf> = read.collect();
        let real_abi_dir = cache
            .abi_dir
            .canonicalize()
            .unwrap_or(cache.abi_dir.clone());
        read.retain(|p| {
            !p.starts_with(&cache.abi_dir)
                && !p.starts_with(&real_abi_dir)
                && !p.starts_with(&cache.target_dir)
        });
        let mut seen = HashSet::new();
        let mut files = Vec::new();
        let mut not_stamped = Vec::new();
        for path in read {
            if !seen.insert(path.clone()) {
                continue;
            }
            match self.0.get(&path) {
                Some(file) => files.push(file.clone()),
                None => not_stamped.push(path),
            }
        }
        files.extend(freshness::track_all(not_stamped)?);
        Ok(files)
    }
}

fn cargo_error(name: &str, path: &Path, failure: CargoFailure) -> Error {
    match failure {
        CargoFailure::Failed(diagnostics) => Error::Build {
            module: name.to_string(),
            source_path: path.to_path_buf(),
            diagnostics,
        },
        CargoFailure::NoLibrary(reason) => Error::BadArtifact {
            module: name.to_string(),
            source_path: path.to_path_buf(),
            reason,
        },
        CargoFailure::Other(error) => error,
    }
}

fn build(
    source: &Source,
    settings: &Settings,
    python: &PythonEnv,
    cache: &BuildCache,
    module: &ModuleCache,
    observer: &dyn BuildObserver,
) -> Result<Artifact> {
    let started = Instant::now();
    let level = log_level(settings);
    log::log!(
        target: "rusthook.builder",
        level,
        "building {} ({}) from {}",
        source.name,
        settings.profile_name(),
        source.path.display()
    );
    let toolchain = current_toolchain(cache)?;
    let previous = BuildRecord::read(&module.record_path());
    let Prepared {
        manifest_path,
        globs,
        template,
        crate_root,
    } = match source.kind {
        SourceKind::File | SourceKind::Cell => prepare_single_file(source, cache, module)?,
        SourceKind::Crate => prepare_crate(source)?,
    };
    let mut primary = vec![source_entry_file(source)];
    if source.kind == SourceKind::Crate {
        // The marker file names the template: editing it changes what is built.
        primary.extend(
            MARKERS
                .iter()
                .map(|m| source.path.join(format!(".{m}")))
                .filter(|p| p.is_file()),
        );
    }
    primary.extend(preprocess::expand_globs(source.base_dir(), &globs));
    let stamps = InputStamps::before_build(&primary, previous.as_ref())?;

    // A C-ABI library's declarations come from its source. A signature C cannot
    // express fails now, before cargo runs; a file syn cannot read is left for rustc
    // to report (its diagnostics are better), and fails only if rustc accepts it.
    let mut unreadable = None;
    let declarations = match template {
        Some(Template::Cffi) => match cdecl::declarations(&crate_root, &source.path) {
            Ok(declarations) => Some(declarations),
            Err(DeclarationError::Invalid(error)) => return Err(error),
            Err(DeclarationError::Unparsable(error)) => {
                unreadable = Some(error);
                None
            }
        },
        _ => None,
    };

    let cargo_build = CargoBuild {
        manifest_path: &manifest_path,
        target_dir: &cache.target_dir,
        working_dir: source.base_dir(),
        python: &python.executable,
        profile: settings.cargo_profile(),
        features: &settings.features,
        extra_args: &settings.cargo_args,
        quiet: settings.quiet,
        diagnostics_alias: (source.kind != SourceKind::Crate).then(|| {
            let copy = body_copy_path(module, source);
            (
                copy.to_string_lossy().into_owned(),
                source.path.to_string_lossy().into_owned(),
            )
        }),
    };
    let output = std::thread::scope(|scope| {
        // Builds older than the last one go while cargo runs: deleting a library of
        // megabytes takes milliseconds. The last one stays: a process that read the
        // record a moment ago may be about to load it.
        if let Some(previous) = &previous {
            scope.spawn(|| remove_old_artifacts(module, &previous.artifact_names()));
        }
        cargo::run(&cargo_build, observer)
    })
    .map_err(|failure| cargo_error(&source.name, &source.path, failure))?;
    if let Some(error) = unreadable {
        return Err(error);
    }
    if template != Some(Template::Cffi) {
        check_module_export(&output.library, &source.name, &source.name, &source.path)?;
    }
    let files = stamps.files_read(
        primary,
        &output.library.with_extension("d"),
        &output.local_manifests,
        &manifest_path,
        cache,
    )?;

    let (artifact_name, declarations_name) = install_artifact(
        source,
        module,
        &output.library,
        python,
        declarations.as_ref().map(|d| d.text.as_str()),
    )?;
    let record = BuildRecord {
        format: RECORD_FORMAT,
        module: source.name.clone(),
        source: source.path.clone(),
        settings: settings.fingerprint(python),
        toolchain,
        profile: settings.cargo_profile().to_string(),
        artifact: artifact_name.clone(),
        declarations: declarations_name.clone(),
        files,
        globs: freshness::record_globs(source.base_dir(), &globs),
    };
    record.write(&module.record_path())?;
    if source.kind != SourceKind::Crate {
        seed_lockfile(cache, module);
    }
    log::log!(
        target: "rusthook.builder",
        level,
        "built {} in {:.1} s",
        source.name,
        started.elapsed().as_secs_f64()
    );
    Ok((
        module.artifact_path(&artifact_name),
        declarations_name.map(|name| module.artifact_path(&name)),
    ))
}

/// The profile an editable project builds with: what was asked for, else what its
/// pyproject.toml says (`editable-profile`, `profile`), else the profile of its last
/// build, so that a project built in release mode by hand is not rebuilt in debug.
fn project_profile(
    project: &Project,
    settings: &Settings,
    previous: Option<&BuildRecord>,
) -> String {
    match settings.release_requested {
        Some(true) => return "release".into(),
        Some(false) => return "dev".into(),
        None => {}
    }
    if let Some(profile) = &project.profile {
        return profile.clone();
    }
    if let Some(record) = previous.filter(|r| !r.profile.is_empty()) {
        return record.profile.clone();
    }
    last_built_profile(project).unwrap_or_else(|| "release".into())
}

/// Which of maturin's `release` and `debug` builds of the project is newest.
fn last_built_profile(project: &Project) -> Option<String> {
    let lib_name = project.lib_name()?;
    let file_name = format!(
        "{}{lib_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    );
    let manifest_dir = project.manifest_path.parent()?;
    let target_dirs = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .into_iter()
        .chain(manifest_dir.ancestors().take(4).map(|d| d.join("target")));
    let mut newest: Option<(std::time::SystemTime, &str)> = None;
    for target in target_dirs {
        for (folder, profile) in [("release", "release"), ("debug", "dev")] {
            let built =
                fs::metadata(target.join(folder).join(&file_name)).and_then(|m| m.modified());
            if let Ok(time) = built {
                if newest.is_none_or(|(t, _)| time > t) {
                    newest = Some((time, profile));
                }
            }
        }
    }
    newest.map(|(_, profile)| profile.to_string())
}

#[allow(clippy::too_many_arguments)]
fn build_project(
    project: &Project,
    settings: &Settings,
    python: &PythonEnv,
    cache: &BuildCache,
    module: &ModuleCache,
    profile: &str,
    features: &[String],
    observer: &dyn BuildObserver,
) -> Result<PathBuf> {
    let started = Instant::now();
    let level = log_level(settings);
    log::log!(
        target: "rusthook.builder",
        level,
        "building {} ({profile}, {}) from {}",
        project.import_name,
        project.bindings.name(),
        project.root.display()
    );
    let toolchain = current_toolchain(cache)?;
    let previous = BuildRecord::read(&module.record_path());
    let primary = vec![
        project.manifest_path.clone(),
        project.root.join("pyproject.toml"),
    ];
    let stamps = InputStamps::before_build(&primary, previous.as_ref())?;

    let (artifact, dep_info, local_manifests) = if project.bindings == Bindings::Pyo3 {
        // As `maturin develop` would, without its fixed costs: cargo, then the library
        // copied over the installed one.
        let installed = project
            .installed_library(&python.extension_suffixes)
            .ok_or_else(|| Error::ProjectNotInstalled {
                name: project.import_name.clone(),
                root: project.root.clone(),
            })?;
        let output = cargo::run(
            &CargoBuild {
                manifest_path: &project.manifest_path,
                target_dir: &cache.target_dir,
                working_dir: &project.root,
                python: &python.executable,
                profile,
                features,
                extra_args: &settings.cargo_args,
                quiet: settings.quiet,
                diagnostics_alias: None,
            },
            observer,
        )
        .map_err(|failure| cargo_error(&project.import_name, &project.root, failure))?;
        check_module_export(
            &output.library,
            project.extension_name(),
            &project.import_name,
            &project.root,
        )?;
        copy_atomically(&output.library, &installed)?;
        (
            installed.to_string_lossy().into_owned(),
            output.library.with_extension("d"),
            output.local_manifests,
        )
    } else {
        // cffi, uniffi and bin projects need maturin's own generation step.
        cargo::run_maturin_develop(project, profile, features, settings.quiet, python, observer)
            .map_err(|failure| cargo_error(&project.import_name, &project.root, failure))?;
        (
            String::new(),
            maturin_dep_info(project, profile),
            Vec::new(),
        )
    };
    let files = stamps.files_read(
        primary,
        &dep_info,
        &local_manifests,
        &project.manifest_path,
        cache,
    )?;
    let record = BuildRecord {
        format: RECORD_FORMAT,
        module: project.import_name.clone(),
        source: project.root.clone(),
        settings: settings.fingerprint_with(profile, features, python),
        toolchain,
        profile: profile.to_string(),
        artifact: artifact.clone(),
        declarations: None,
        files,
        globs: Vec::new(),
    };
    record.write(&module.record_path())?;
    log::log!(
        target: "rusthook.builder",
        level,
        "built {} in {:.1} s",
        project.import_name,
        started.elapsed().as_secs_f64()
    );
    Ok(PathBuf::from(artifact))
}

/// The dep-info of the library maturin built, in the project's own target directory.
fn maturin_dep_info(project: &Project, profile: &str) -> PathBuf {
    let target_dir = cargo_metadata::MetadataCommand::new()
        .manifest_path(&project.manifest_path)
        .no_deps()
        .exec()
        .map(|metadata| metadata.target_directory.into_std_path_buf())
        .unwrap_or_else(|_| project.root.join("target"));
    let folder = match profile {
        "dev" | "test" => "debug",
        "bench" => "release",
        other => other,
    };
    let name = match project.bindings {
        Bindings::Bin => project.import_name.clone(),
        _ => format!(
            "{}{}",
            std::env::consts::DLL_PREFIX,
            project
                .lib_name()
                .unwrap_or_else(|| project.import_name.clone())
        ),
    };
    target_dir.join(folder).join(format!("{name}.d"))
}

/// The file that always makes a build stale when it changes.
fn source_entry_file(source: &Source) -> PathBuf {
    match source.kind {
        SourceKind::File | SourceKind::Cell => source.path.clone(),
        SourceKind::Crate => source.path.join("Cargo.toml"),
    }
}

/// What a build needs to know before cargo runs.
struct Prepared {
    manifest_path: PathBuf,
    /// `//d:` globs (single files only).
    globs: Vec<String>,
    /// `None` for a bare `// rusthook` file: its `//:` lines decide what it is.
    template: Option<Template>,
    /// The crate's root source file (where C declarations are read from).
    crate_root: PathBuf,
}

/// A marked crate builds from its own Cargo.toml; its marker says which template.
fn prepare_crate(source: &Source) -> Result<Prepared> {
    let manifest_path = source.path.join("Cargo.toml");
    let template = preprocess::crate_template(&source.path)?;
    let lib_path = fs::read_to_string(&manifest_path)
        .ok()
        .and_then(|text| text.parse::<toml::Table>().ok())
        .and_then(|manifest| {
            manifest
                .get("lib")?
                .get("path")?
                .as_str()
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from("src/lib.rs"));
    Ok(Prepared {
        manifest_path,
        globs: Vec::new(),
        template: Some(template),
        crate_root: source.path.join(lib_path),
    })
}

/// Writes the generated crate for a single-file module into its cache folder.
fn prepare_single_file(
    source: &Source,
    cache: &BuildCache,
    module: &ModuleCache,
) -> Result<Prepared> {
    let bytes = fs::read(&source.path).map_err(Error::io("cannot read", &source.path))?;
    let text = String::from_utf8(bytes).map_err(|error| Error::NotUtf8 {
        path: source.path.clone(),
        line: 1 + error.as_bytes()[..error.utf8_error().valid_up_to()]
            .iter()
            .filter(|&&b| b == b'\n')
            .count(),
    })?;
    let header = if source.kind == SourceKind::Cell {
        preprocess::parse_cell_header(&source.path, &text)?
    } else {
        preprocess::parse_header(&source.path, &text)?
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
    let seed = cache.lockfile_seed();
    if !lockfile.exists() && seed.is_file() {
        let _ = fs::copy(&seed, &lockfile);
    }
    Ok(Prepared {
        manifest_path,
        globs: header.dependency_globs,
        template: header.template,
        crate_root: source.path.clone(),
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
fn mirror_siblings(view: &Path, source: &Path) {
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

/// Rewrites a generated file only when its text changed, so cargo sees no change.
fn write_if_changed(path: &Path, text: &str) -> Result<()> {
    if fs::read_to_string(path).is_ok_and(|old| old == text) {
        return Ok(());
    }
    fs::write(path, text).map_err(Error::io("cannot write", path))
}

/// Keeps the module's Cargo.lock as the seed for the next new module.
fn seed_lockfile(cache: &BuildCache, module: &ModuleCache) {
    let lockfile = module.crate_dir().join("Cargo.lock");
    let seed = cache.lockfile_seed();
    let copied = tempfile::NamedTempFile::new_in(&cache.abi_dir).and_then(|mut temp| {
        io::copy(&mut fs::File::open(&lockfile)?, &mut temp)?;
        temp.persist(&seed).map_err(|e| e.error)?;
        Ok(())
    });
    if let Err(error) = copied {
        log::debug!(target: "rusthook.builder", "could not update {}: {error}", seed.display());
    }
}

/// The Cargo.lock a build of `manifest` uses: beside it or in a workspace root above.
fn find_lockfile(manifest: &Path) -> Option<PathBuf> {
    manifest
        .ancestors()
        .skip(1)
        .take(8)
        .map(|dir| dir.join("Cargo.lock"))
        .find(|path| path.is_file())
}

/// Refuses a library that Python could not import as `module` (`name` and `path` say
/// which source it came from).
fn check_module_export(library: &Path, module: &str, name: &str, path: &Path) -> Result<()> {
    let symbol = format!("PyInit_{module}\0");
    let found = file_contains(library, symbol.as_bytes(), EXPORT_SEARCH_CHUNK)
        .map_err(Error::io("cannot read the built library", library))?;
    if found {
        return Ok(());
    }
    let symbol = symbol.trim_end_matches('\0');
    Err(Error::BadArtifact {
        module: name.to_string(),
        source_path: path.to_path_buf(),
        reason: format!(
            "the library exports no `{symbol}`, so Python cannot import it as `{module}`.\n\
             Name its #[pymodule] `{module}` (or add #[pyo3(name = \"{module}\")]), \
             or rename the source to match the module."
        ),
    })
}

/// Read size of [`file_contains`]: an ELF library's symbol names sit in its first pages,
/// while a debug build is megabytes that need not be read.
const EXPORT_SEARCH_CHUNK: usize = 256 * 1024;

/// True when `needle` occurs in the file; reads `chunk` bytes at a time and stops at the
/// first match.
fn file_contains(path: &Path, needle: &[u8], chunk: usize) -> io::Result<bool> {
    let finder = memchr::memmem::Finder::new(needle);
    let overlap = needle.len().saturating_sub(1);
    let mut file = fs::File::open(path)?;
    let mut buffer = vec![0u8; chunk.max(needle.len()) + overlap];
    let mut kept = 0;
    loop {
        let read = io::Read::read(&mut file, &mut buffer[kept..])?;
        if read == 0 {
            return Ok(false);
        }
        let filled = kept + read;
        if finder.find(&buffer[..filled]).is_some() {
            return Ok(true);
        }
        // Keep the tail: a match may straddle two reads.
        kept = overlap.min(filled);
        buffer.copy_within(filled - kept..filled, 0);
    }
}

/// Copies the library into the module's cache folder under a name of its own (so
/// `importlib.reload` loads new code), via a temporary file and a rename. The name comes
/// from the library's size, mtime and inode (unique per link, and free to compute) and
/// the C declarations of a cffi library. A cffi library keeps its platform suffix
/// (`.so`; it is no extension module) and gets its declarations beside it. Returns the
/// file names of both.
fn install_artifact(
    source: &Source,
    module: &ModuleCache,
    library: &Path,
    python: &PythonEnv,
    declarations: Option<&str>,
) -> Result<(String, Option<String>)> {
    let metadata =
        fs::metadata(library).map_err(Error::io("cannot read the built library", library))?;
    #[cfg(unix)]
    let inode = std::os::unix::fs::MetadataExt::ino(&metadata);
    #[cfg(not(unix))]
    let inode = 0u64;
    let mut hasher = Sha256::new();
    hasher.update(format!(
        "{}:{}:{inode}",
        metadata.len(),
        freshness::mtime_ns(&metadata)
    ));
    if let Some(text) = declarations {
        hasher.update(text.as_bytes());
    }
    let build_id = &freshness::hex(&hasher.finalize())[..12];
    let file_name = match declarations {
        None => format!("{}.{build_id}{}", source.name, python.ext_suffix()),
        Some(_) => {
            let extension = library.extension().and_then(|e| e.to_str()).unwrap_or("so");
            format!("{}.{build_id}.{extension}", source.name)
        }
    };
    let destination = module.artifact_path(&file_name);
    if !destination.is_file() {
        link_or_copy(library, &destination)?;
    }
    let declarations_name = match declarations {
        None => None,
        Some(text) => {
            let name = format!("{}.{build_id}.h", source.name);
            write_atomically(&module.artifact_path(&name), text)?;
            Some(name)
        }
    };
    Ok((file_name, declarations_name))
}

/// Writes `text` to `path` through a temporary file and a rename.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let write = || -> io::Result<()> {
        let mut temp = tempfile::Builder::new()
            .prefix(".rusthook-")
            .suffix(".tmp")
            .tempfile_in(folder)?;
        io::Write::write_all(temp.as_file_mut(), text.as_bytes())?;
        temp.persist(path).map_err(|e| e.error)?;
        Ok(())
    };
    write().map_err(Error::io("cannot write", path))
}

/// Writes `name.<EXT_SUFFIX>` beside the source (the crate folder, for a crate), for
/// imports without rusthook.
fn install_in_place(source: &Source, artifact: &Path, python: &PythonEnv) -> Result<PathBuf> {
    let folder = source.path.parent().unwrap_or(Path::new("/"));
    let destination = folder.join(format!("{}{}", source.name, python.ext_suffix()));
    let same = |a: &Path, b: &Path| -> Option<bool> {
        let (a, b) = (fs::metadata(a).ok()?, fs::metadata(b).ok()?);
        Some(a.len() == b.len() && a.modified().ok()? == b.modified().ok()?)
    };
    if same(artifact, &destination) != Some(true) {
        copy_atomically(artifact, &destination)?;
        log::info!(target: "rusthook.builder", "wrote {}", destination.display());
    }
    Ok(destination)
}

/// Puts the library at `to` (a new name). On Linux a hard link does it without copying
/// megabytes: the linkers (lld, bfd, gold, mold) write each link's output as a new file,
/// and cargo replaces its own links to it, so the file linked here never changes
/// afterwards. Elsewhere, or if linking fails (another file system), a copy.
fn link_or_copy(from: &Path, to: &Path) -> Result<()> {
    #[cfg(target_os = "linux")]
    if fs::hard_link(from, to).is_ok() {
        return Ok(());
    }
    copy_atomically(from, to)
}

/// Copies `from` to `to` through a temporary file in `to`'s folder and a rename, so no
/// process ever sees a half-written library. Keeps the mode and mtime of `from`.
fn copy_atomically(from: &Path, to: &Path) -> Result<()> {
    let folder = to.parent().unwrap_or(Path::new("."));
    let copy = || -> io::Result<()> {
        let temp = tempfile::Builder::new()
            .prefix(".rusthook-")
            .suffix(".tmp")
            .tempfile_in(folder)?;
        // fs::copy lets the kernel copy (copy_file_range, reflinks) and keeps the mode.
        fs::copy(from, temp.path())?;
        let modified = fs::metadata(from)?.modified()?;
        fs::File::options()
            .write(true)
            .open(temp.path())?
            .set_modified(modified)?;
        temp.persist(to).map_err(|e| e.error)?;
        Ok(())
    };
    copy().map_err(Error::io("cannot install the built library as", to))
}

/// Removes the libraries (and declarations) of earlier builds from the module's cache
/// folder, except those named in `keep`.
fn remove_old_artifacts(module: &ModuleCache, keep: &[&str]) {
    let Ok(entries) = fs::read_dir(&module.dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let is_library = entry.file_type().is_ok_and(|t| t.is_file())
            && name != "record.json"
            && name != "build.lock"
            && !name.starts_with(".rusthook-");
        if is_library && !keep.contains(&name) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::read_project;

    #[test]
    fn file_contains_finds_a_needle_across_read_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lib.so");
        let needle = b"PyInit_fast\0";
        for at in [0, 1, 5, 6, 7, 30, 59] {
            let mut bytes = vec![b'x'; 60];
            bytes.splice(at..at, needle.iter().copied());
            fs::write(&path, &bytes).unwrap();
            for chunk in [1, 2, 7, 12, 13, 64, 1000] {
                assert!(
                    file_contains(&path, needle, chunk).unwrap(),
                    "at {at}, chunk {chunk}"
                );
            }
        }
        fs::write(&path, b"PyInit_fas\0 PyInit_fastx PyInit_fast").unwrap();
        for chunk in [1, 3, 16, 1000] {
            assert!(
                !file_contains(&path, needle, chunk).unwrap(),
                "chunk {chunk}"
            );
        }
    }

    fn settings(release: Option<bool>) -> Settings {
        let python = PythonEnv {
            executable: "/usr/bin/python3".into(),
            prefix: "/p".into(),
            base_prefix: "/p".into(),
            extension_suffixes: vec![".abi3.so".into()],
        };
        let request = crate::settings::SettingsRequest {
            release,
            build_dir: Some("/tmp/unused".into()),
            ..Default::default()
        };
        Settings::resolve(request, &python, |_| None)
    }

    fn project(dir: &Path, maturin: &str) -> Project {
        fs::write(
            dir.join("pyproject.toml"),
            format!("[build-system]\nbuild-backend = \"maturin\"\n[tool.maturin]\n{maturin}"),
        )
        .unwrap();
        fs::write(
            dir.join("Cargo.toml"),
            "[package]\nname = \"proj\"\n[dependencies]\npyo3 = \"0.30\"\n",
        )
        .unwrap();
        read_project(dir, &dir.join("proj.dist-info")).unwrap()
    }

    #[test]
    fn project_profile_prefers_request_then_config_then_last_build() {
        let dir = tempfile::tempdir().unwrap();
        let configured = project(dir.path(), "editable-profile = \"dev\"\n");
        assert_eq!(
            project_profile(&configured, &settings(Some(true)), None),
            "release"
        );
        assert_eq!(project_profile(&configured, &settings(None), None), "dev");

        let plain = project(dir.path(), "");
        // Built in release by hand (newest library in target/release): stays release.
        let library = format!(
            "{}proj{}",
            std::env::consts::DLL_PREFIX,
            std::env::consts::DLL_SUFFIX
        );
        fs::create_dir_all(dir.path().join("target/debug")).unwrap();
        fs::create_dir_all(dir.path().join("target/release")).unwrap();
        fs::write(dir.path().join("target/debug").join(&library), "").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(dir.path().join("target/release").join(&library), "").unwrap();
        assert_eq!(project_profile(&plain, &settings(None), None), "release");
        std::thread::sleep(std::time::Duration::from_millis(20));
        fs::write(dir.path().join("target/debug").join(&library), "").unwrap();
        assert_eq!(project_profile(&plain, &settings(None), None), "dev");
        assert_eq!(project_profile(&plain, &settings(Some(false)), None), "dev");
    }
}
