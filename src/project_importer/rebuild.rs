//! Rebuilding an editable maturin project whose sources changed: cargo and a copy over
//! the installed library for pyo3 projects (what `maturin develop` does, without its
//! fixed costs), `maturin develop` itself for the other bindings.

use std::fs;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::fsutil::{copy_atomically, read_toml};
use crate::machinery::cache::{Bucket, BuildCache, ModuleCache};
use crate::machinery::cargo::{self, CargoBuild};
use crate::machinery::freshness::BuildRecord;
use crate::machinery::inputs::{CargoReads, InputStamps};
use crate::machinery::install::{self, check_module_export, replace_library};
use crate::machinery::progress::{BuildObserver, Progress};
use crate::machinery::{fresh_or_build, BuildContext, Outcome};
use crate::machinery::{stable_abi, toolchain};
use crate::project_importer::develop::{maturin_dep_info, maturin_develop};
use crate::project_importer::metadata::check_installed_metadata;
use crate::project_importer::project::{Bindings, Project};
use crate::settings::{PythonEnv, Settings};
use crate::stubs;

/// In a project's cache folder: what its installed metadata was made from.
const METADATA_FILE: &str = "installed-metadata.json";
/// In a project's cache folder: the stub its last build made.
const STUB_FILE: &str = "stub.pyi";

/// What a project build with stubs asked for does with its stub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StubRequest {
    /// Put it beside the installed extension (an import).
    Place,
    /// The same, telling a stub left in place from one up to date (the `stubs` command).
    Report,
    /// Only return its text (`stubs --diff`).
    Read,
}

/// The stub of a project build: where it goes, and what writing did or its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProjectStub {
    Placed(PathBuf, stubs::Written),
    Text(PathBuf, String),
}

/// Makes an editable maturin project's installed library fresh, rebuilding it if not.
/// With stubs asked for (a pyo3 project), also makes its stub, which goes beside the
/// installed extension, where maturin's layout puts one (see [`StubRequest`]).
pub fn ensure_project_built(
    project: &Project,
    settings: &Settings,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
    request: StubRequest,
) -> Result<Option<ProjectStub>> {
    let ProjectEntry {
        cache,
        module,
        last,
        profile,
        features,
        fingerprint,
    } = project_entry(project, settings, python)?;
    // The installed library keeps its path across builds: a new record tells a build.
    let before = last.clone();
    let introspect = introspects(settings, project);
    let ctx = BuildContext {
        name: &project.import_name,
        origin: &project.root,
        settings,
        python,
        fingerprint,
        profile,
        features,
        cache,
        module,
        progress: Progress::new(observer, settings.quiet),
    };
    let describe = format!(
        "{} ({}, {})",
        project.import_name,
        ctx.profile,
        project.bindings.name()
    );
    let record = fresh_or_build(&ctx, last, &describe, |previous| {
        build_project(&ctx, project, previous)
    })?;
    if !introspect || record.artifact.is_empty() {
        return Ok(None);
    }
    let library = PathBuf::from(&record.artifact);
    let dest = library.with_file_name(format!("{}.pyi", project.extension_name()));
    let built_now = before.as_ref() != Some(&record);
    let text = || {
        record
            .stub
            .as_deref()
            .and_then(|name| fs::read_to_string(ctx.module.artifact_path(name)).ok())
            .unwrap_or_else(|| project_stub(project, &library))
    };
    if request == StubRequest::Read {
        return Ok(Some(ProjectStub::Text(dest, text())));
    }
    let report = request == StubRequest::Report;
    let written = stubs::place(
        &dest,
        &project.root,
        &ctx.module.dir,
        built_now,
        report,
        text,
    )?;
    Ok(Some(ProjectStub::Placed(dest, written)))
}

/// Where a project's builds are recorded, and what this build of it would be.
pub struct ProjectEntry {
    pub cache: BuildCache,
    pub module: ModuleCache,
    /// The record of its last build.
    pub last: Option<BuildRecord>,
    pub profile: String,
    pub features: Vec<String>,
    pub fingerprint: String,
}

/// The cache entry of `project` and the settings of a build of it now.
pub fn project_entry(
    project: &Project,
    settings: &Settings,
    python: &PythonEnv,
) -> Result<ProjectEntry> {
    let cache = BuildCache::open(settings, python)?;
    // One record per project: its installed library is one, whatever the settings.
    let module = cache.entry(Bucket::Projects, &project.import_name, &project.root, "");
    let last = module.read_record();
    let profile = project_profile(project, settings, last.as_ref());
    let features = if settings.features.is_empty() {
        project.features.clone()
    } else {
        settings.features.clone()
    };
    let mut fingerprint = settings.fingerprint(&profile, &features, python);
    let options = project.options.describe();
    if !options.is_empty() {
        fingerprint.push_str(&format!(" | [tool.maturin] {options}"));
    }
    if introspects(settings, project) {
        fingerprint.push_str(" | introspection");
    }
    Ok(ProjectEntry {
        cache,
        module,
        last,
        profile,
        features,
        fingerprint,
    })
}

/// Whether a build of the project carries pyo3's introspection data and makes a stub:
/// stubs asked for, a pyo3 project. (Whether its pyo3 can carry the data is read from
/// its manifest when it builds; a changed manifest rebuilds it.)
fn introspects(settings: &Settings, project: &Project) -> bool {
    settings.stubs && project.bindings == Bindings::Pyo3
}

/// The stub of a project's extension: introspected, else sketched from its library root.
fn project_stub(project: &Project, library: &Path) -> String {
    let crate_dir = project.manifest_path.parent().unwrap_or(&project.root);
    let sketch = || {
        let root = cargo::library_root(crate_dir, read_toml(&project.manifest_path).as_ref());
        fs::read_to_string(root).ok()
    };
    stubs::generate(
        library,
        project.extension_name(),
        &project.root,
        sketch,
        false,
    )
}

fn build_project(
    ctx: &BuildContext,
    project: &Project,
    previous: Option<&BuildRecord>,
) -> Result<Outcome> {
    let primary = vec![
        project.manifest_path.clone(),
        project.root.join("pyproject.toml"),
    ];
    let stamps = InputStamps::before_build(&primary, previous.map_or(&[], |record| &record.files))?;

    let mut stub = None;
    let (artifact, inputs) = if project.bindings == Bindings::Pyo3 {
        // As `maturin develop` would, without its fixed costs: cargo, then the library
        // copied over the installed one. A stable-ABI project compiles where every
        // CPython's stable-ABI builds do.
        let manifest = read_toml(&project.manifest_path);
        let floor = manifest.as_ref().and_then(stable_abi::stable_abi_floor);
        let compile = ctx.cache.compile_partition(floor)?;
        let mut features = ctx.features.clone();
        let version = manifest.as_ref().and_then(stable_abi::pyo3_version);
        if introspects(ctx.settings, project) && version.is_some_and(|v| stubs::introspectable(&v))
        {
            features.push("pyo3/experimental-inspect".to_string());
        }
        check_target(project)?;
        let mut extra_args = project.options.cargo_args.clone();
        extra_args.extend(ctx.settings.cargo_args.iter().cloned());
        let output = cargo::run(
            &CargoBuild {
                module: &project.import_name,
                origin: &project.root,
                manifest_path: &project.manifest_path,
                target_dir: &compile.target_dir,
                working_dir: &project.root,
                build_root: &ctx.settings.build_root,
                pyo3: &compile.pyo3,
                profile: &ctx.profile,
                features: &features,
                extra_args: &extra_args,
                rustc_args: &project.options.rustc_args,
                diagnostics_aliases: Vec::new(),
            },
            &ctx.progress,
        )?;
        // Only the library is copied: what the installer wrote from pyproject.toml
        // (version, dependencies, entry points) must still be what it says.
        check_installed_metadata(
            project,
            &ctx.module.dir.join(METADATA_FILE),
            &ctx.python.executable,
        )?;
        check_module_export(
            &output.library,
            project.extension_name(),
            &project.import_name,
            &project.root,
        )?;
        // Where the installer put the library; else where the last build put it, if
        // its folder is still there (a `git clean` removed the library, not the install).
        let installed = project
            .installed_library(&ctx.python.extension_suffixes)
            .or_else(|| {
                previous
                    .map(|record| PathBuf::from(&record.artifact))
                    .filter(|path| path.is_absolute() && path.parent().is_some_and(Path::is_dir))
            })
            .ok_or_else(|| Error::ProjectNotInstalled {
                name: project.import_name.clone(),
                root: project.root.clone(),
                expected: project.expected_library(),
            })?;
        replace_library(&output.library, &installed)?;
        if ctx.settings.stubs {
            let text = project_stub(project, &output.library);
            stub = Some(install::keep_stub(&ctx.module, STUB_FILE.into(), &text)?);
        }
        copy_out_dir_includes(project, &output.out_dirs)?;
        let inputs = stamps.inputs_read(
            primary,
            &CargoReads::of(&output, &project.manifest_path, &project.root),
            &ctx.cache.abi_dir,
            &ctx.cache.target_dirs(),
        )?;
        (installed.to_string_lossy().into_owned(), inputs)
    } else {
        // cffi, uniffi and bin projects need maturin's own generation step.
        maturin_develop(
            project,
            &ctx.profile,
            &ctx.features,
            ctx.python,
            &ctx.progress,
            &ctx.settings.build_root,
        )?;
        let mut primary = primary;
        primary.extend(crate::machinery::inputs::find_lockfile(
            &project.manifest_path,
        ));
        let inputs = stamps.files_read(
            primary,
            &maturin_dep_info(project, &ctx.profile),
            &project.root,
            &ctx.cache.abi_dir,
            &ctx.cache.target_dirs(),
        )?;
        (String::new(), inputs)
    };
    Ok(Outcome {
        stub,
        artifact,
        declarations: None,
        inputs,
        globs: Vec::new(),
        stable_abi_floor: None,
    })
}

/// A `[tool.maturin] target` other than this machine's builds a library this
/// interpreter cannot load: rusthook says so and leaves the installed library alone.
fn check_target(project: &Project) -> Result<()> {
    let Some(target) = &project.options.target else {
        return Ok(());
    };
    let version = toolchain::version()?;
    let host = version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .unwrap_or_default();
    if target == host {
        return Ok(());
    }
    Err(Error::ProjectOptionUnsupported {
        name: project.import_name.clone(),
        root: project.root.clone(),
        option: format!("target = \"{target}\""),
        reason: format!("it builds for another platform than this interpreter's ({host})"),
    })
}

/// What an editable install of a mixed project copied out of build scripts' `OUT_DIR`
/// (`include = [{ path, from = "out-dir", to }]`), copied again from this build, as
/// maturin does: each file matching `path` to `<python source>/<to>/<its path in OUT_DIR>`.
/// A pure project's files live in site-packages, where only a reinstall writes them.
fn copy_out_dir_includes(project: &Project, out_dirs: &[(String, PathBuf)]) -> Result<()> {
    if project.extension_dir.is_none() || project.out_dir_includes.is_empty() {
        return Ok(());
    }
    let own_crate = project.package_name();
    for include in &project.out_dir_includes {
        let Some(crate_name) = include.crate_name.clone().or_else(|| own_crate.clone()) else {
            continue;
        };
        let relative = |p: &str| {
            Path::new(p)
                .components()
                .all(|c| matches!(c, std::path::Component::Normal(_)))
        };
        if !relative(&include.path) || !relative(&include.to) {
            continue;
        }
        let Some((_, out_dir)) = out_dirs.iter().find(|(name, _)| *name == crate_name) else {
            continue;
        };
        let pattern = Path::new(&glob::Pattern::escape(&out_dir.to_string_lossy()))
            .join(&include.path)
            .to_string_lossy()
            .into_owned();
        let Ok(matches) = glob::glob(&pattern) else {
            continue;
        };
        for source in matches.flatten().filter(|p| p.is_file()) {
            let Ok(inside) = source.strip_prefix(out_dir) else {
                continue;
            };
            let target = project.python_dir.join(&include.to).join(inside);
            if fs::read(&source).ok() == fs::read(&target).ok() {
                continue;
            }
            if let Some(folder) = target.parent() {
                fs::create_dir_all(folder).map_err(Error::io("cannot create", folder))?;
            }
            copy_atomically(&source, &target)
                .map_err(Error::io("cannot copy a build script's output to", &target))?;
        }
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_importer::project::read_project;
    use std::path::Path;

    fn settings(release: Option<bool>) -> Settings {
        let request = crate::settings::SettingsRequest {
            release,
            build_dir: Some("/tmp/unused".into()),
            ..Default::default()
        };
        Settings::resolve(request, |_| None).unwrap()
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
