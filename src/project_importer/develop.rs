//! `python -m maturin develop`, for editable projects whose bindings need maturin's own
//! generation step (cffi, uniffi, bin), and where maturin leaves what it built.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::error::{disk_full_line, Error, Result};
use crate::machinery::progress::Progress;
use crate::machinery::{cargo, compiler_cache};
use crate::platform::Target;
use crate::project_importer::project::{Bindings, Project};
use crate::settings::PythonEnv;

/// Runs `maturin develop` for `project` with this interpreter, as if its environment
/// were activated; what a compiler cache served it is kept in the build folder at
/// `build_root`.
pub fn maturin_develop(
    project: &Project,
    profile: &str,
    features: &[String],
    python: &PythonEnv,
    progress: &Progress,
    build_root: &Path,
) -> Result<()> {
    let mut command = Command::new(&python.executable);
    command
        .args(["-m", "maturin", "develop", "--profile", profile])
        .arg("--manifest-path")
        .arg(&project.manifest_path);
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
    // The interpreter's architecture, as for cargo (see `platform::Target`).
    if let Some(triple) = Target::HOST.cargo_target() {
        command.args(["--target", &triple]);
    }
    command.current_dir(&project.root);
    // maturin installs into the environment named by VIRTUAL_ENV: this interpreter's.
    if python.prefix != python.base_prefix {
        command.env("VIRTUAL_ENV", &python.prefix);
    }
    // And the tools it runs (uniffi-bindgen, pip) are found on PATH: put this
    // interpreter's scripts folder first, as activating the environment would.
    if let Some(scripts) = python.executable.parent() {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let joined = std::env::join_paths(
            std::iter::once(scripts.to_path_buf()).chain(std::env::split_paths(&path)),
        );
        if let Ok(joined) = joined {
            command.env("PATH", joined);
        }
    }
    let program = format!("{} -m maturin", python.executable.display());
    let watch = compiler_cache::Watch::start(build_root, &project.import_name);
    let (status, diagnostics) = cargo::run_tool(command, &program, progress)?;
    if let Some(watch) = watch {
        watch.finish();
    }
    if status.success() {
        progress.succeeded(&diagnostics);
        return Ok(());
    }
    if let Some(line) = disk_full_line(&diagnostics) {
        return Err(Error::DiskFull {
            action: format!(
                "maturin develop could not build {} from",
                project.import_name
            ),
            path: project.root.clone(),
            detail: line.to_string(),
        });
    }
    let (diagnostics, shown) = if diagnostics.contains("No module named maturin") {
        let advice = format!(
            "building its {} bindings needs maturin in this environment: {} -m pip install maturin",
            project.bindings.name(),
            python.executable.display()
        );
        (advice, false)
    } else {
        (diagnostics, progress.diagnostics_shown())
    };
    Err(Error::Build {
        module: project.import_name.clone(),
        source_path: project.root.clone(),
        diagnostics,
        shown,
    })
}

/// The dep-info of the library maturin built, in the project's own target directory.
pub fn maturin_dep_info(project: &Project, profile: &str) -> PathBuf {
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
    // With `--target` (macOS), cargo builds under `<target dir>/<triple>/`.
    let target_dir = match Target::HOST.cargo_target() {
        Some(triple) => target_dir.join(triple),
        None => target_dir,
    };
    target_dir.join(folder).join(format!("{name}.d"))
}
