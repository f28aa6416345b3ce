//! Running cargo: one `cargo rustc --lib --crate-type cdylib` per build, with JSON
//! messages on stdout (the library path comes from the compiler-artifact message, not
//! from guessing paths under `target/`) and rendered diagnostics on stderr, which are
//! shown as progress and kept for the error message.

use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use cargo_metadata::{CrateType, Message};

use crate::error::{disk_full_line, Error, Result};
use crate::machinery::compiler_cache;
use crate::machinery::progress::Progress;
use crate::machinery::stable_abi::Pyo3Config;
use crate::machinery::toolchain::cargo_program;
use crate::platform::{self, available_space, Target};

mod process;
pub use process::{is_status_line, parse_progress_bar, run_tool};
use process::{spawn, supervise};
#[cfg(test)]
use process::{split_stderr_chunk, StderrLine};

/// One cargo invocation.
pub struct CargoBuild<'a> {
    /// The module being built and where it comes from, for error messages.
    pub module: &'a str,
    pub origin: &'a Path,
    pub manifest_path: &'a Path,
    pub target_dir: &'a Path,
    /// Where cargo runs: the source's folder, so rustup honours its toolchain file.
    pub working_dir: &'a Path,
    /// The build folder, where a failure of the compiler cache is remembered.
    pub build_root: &'a Path,
    /// What pyo3 is told about Python (the partition's, see `stable_abi`).
    pub pyo3: &'a Pyo3Config,
    /// The cargo profile: `dev`, `release` or a custom one.
    pub profile: &'a str,
    pub features: &'a [String],
    pub extra_args: &'a [String],
    /// Arguments for rustc itself (after `--`): an editable project's `rustc-args`.
    pub rustc_args: &'a [String],
    /// `(generated copy, user's file)` pairs: diagnostics naming a copy (a file or a
    /// folder in the cache) name the user's file or folder instead, in this order.
    pub diagnostics_aliases: Vec<(String, String)>,
}

/// What a successful build produced.
#[derive(Debug)]
pub struct CargoOutput {
    pub library: PathBuf,
    /// Cargo.toml of every local (path) package compiled: edits to them must rebuild.
    pub local_manifests: Vec<PathBuf>,
    /// The `OUT_DIR` of each package whose build script ran (or was fresh), by name.
    pub out_dirs: Vec<(String, PathBuf)>,
    /// What rustc compiled for each local (path) package: the files its artifacts were
    /// made from (rustc's own dep-info sits beside them), for `# env-dep:` lines.
    pub local_artifacts: Vec<PathBuf>,
    /// Every build script's `output` file (its `cargo:` lines), local or not.
    pub script_outputs: Vec<PathBuf>,
}

/// Builds the crate's cdylib; a failure is `Error::Build` with cargo's diagnostics. A
/// compiler wrapper that fails by itself (sccache whose cache server is unreachable),
/// or whose storage fails while the build runs (its server gone), does not fail or
/// stall the build: it runs once more without the wrapper, and says so once; the
/// builds of the next minutes go without it from the start (see
/// [`compiler_cache::Outage`]).
pub fn run(build: &CargoBuild, progress: &Progress) -> Result<CargoOutput> {
    let program = cargo_program();
    let outcome = match compiler_cache::recent_outage(build.build_root) {
        Some(outage) => {
            log::warn!(target: "rusthook.builder", "the compiler cache failed {} s ago ({}); building {} without it (it is tried again {} minutes after it failed)", outage.age(), outage.failure, build.module, compiler_cache::OUTAGE_LASTS.as_secs() / 60);
            attempt(&program, build, progress, true, &|| false)?
        }
        None => run_with_wrapper(&program, build, progress)?,
    };
    let (status, diagnostics, (artifacts, scripts)) = outcome;
    if !status.success() {
        let full = disk_full_line(&diagnostics)
            .map(str::to_string)
            .or_else(|| linker_out_of_space(&diagnostics, build.target_dir));
        if let Some(detail) = full {
            return Err(Error::DiskFull {
                action: format!("cargo could not build {} in", build.module),
                path: build.target_dir.to_path_buf(),
                detail,
            });
        }
        return Err(Error::Build {
            module: build.module.to_string(),
            source_path: build.origin.to_path_buf(),
            diagnostics,
            shown: progress.diagnostics_shown(),
        });
    }
    progress.succeeded(&diagnostics);
    artifacts_built(build, artifacts, scripts)
}

/// A build under the configured compiler wrapper, watched; run again without it if the
/// wrapper failed, and the failure remembered in the build folder.
fn run_with_wrapper(
    program: &str,
    build: &CargoBuild,
    progress: &Progress,
) -> Result<(ExitStatus, String, Messages)> {
    let watch = compiler_cache::Watch::start(build.build_root, build.module);
    let storage_failed = || watch.as_ref().map_or(0, |w| w.failed_writes());
    let outcome = attempt(program, build, progress, false, &|| storage_failed() > 0)?;
    let failed = watch.map_or(0, compiler_cache::Watch::finish);
    let storage_failure = (failed > 0).then(|| {
        format!(
            "sccache could not write {failed} {} to its storage",
            if failed == 1 { "entry" } else { "entries" }
        )
    });
    if outcome.0.success() {
        // A build that succeeded stands: only what the cache could not store is lost.
        match storage_failure {
            Some(failure) => {
                log::warn!(target: "rusthook.builder", "the compiler cache failed ({failure}); {} was built, and what it could not store is compiled again next time", build.module);
                compiler_cache::remember_outage(build.build_root, &failure);
            }
            None => compiler_cache::forget_outage(build.build_root),
        }
        return Ok(outcome);
    }
    match storage_failure.or_else(|| compiler_cache::wrapper_failure(&outcome.1)) {
        Some(failure) => {
            log::warn!(target: "rusthook.builder", "the compiler cache failed ({failure}); building {} without it", build.module);
            compiler_cache::remember_outage(build.build_root, &failure);
            attempt(program, build, progress, true, &|| false)
        }
        None => Ok(outcome),
    }
}

/// One run of cargo: its exit status, diagnostics and JSON messages.
fn attempt(
    program: &str,
    build: &CargoBuild,
    progress: &Progress,
    without_wrapper: bool,
    abandon: &dyn Fn() -> bool,
) -> Result<(ExitStatus, String, Messages)> {
    let mut command = cargo_command(program, build, Target::HOST);
    if without_wrapper {
        // An empty RUSTC_WRAPPER overrides any configured wrapper (cargo's rule).
        command.env("RUSTC_WRAPPER", "");
    }
    let mut child = spawn(command, program)?;
    let stdout = child.0.stdout.take();
    let messages = std::thread::spawn(move || read_messages(stdout));
    let (status, diagnostics) = supervise(
        child,
        program,
        progress,
        &build.diagnostics_aliases,
        abandon,
    )?;
    Ok((status, diagnostics, messages.join().unwrap_or_default()))
}

fn cargo_command(program: &str, build: &CargoBuild, target: Target) -> Command {
    let mut command = Command::new(program);
    command
        .args(["rustc", "--lib", "--crate-type", "cdylib"])
        .arg("--manifest-path")
        .arg(build.manifest_path)
        .arg("--target-dir")
        .arg(build.target_dir)
        // Given above (the partition's folder in it, see `cache`): not handed down to
        // rustc, where sccache would key every compile on it (as on every `CARGO_*`
        // variable), so that machines with and without it share entries.
        .env_remove("CARGO_TARGET_DIR")
        .args([
            "--message-format",
            "json-render-diagnostics",
            "--color",
            "never",
        ])
        // Cargo draws its `Building [==>  ] k/n` bar only on a terminal; ask for it always
        // and turn it into progress events (stderr is a pipe here).
        .args([
            "--config",
            "term.progress.when='always'",
            "--config",
            "term.progress.width=100",
        ]);
    command.args(["--profile", build.profile]);
    compiler_cache::offline_as_an_option(&mut command);
    if !build.features.is_empty() {
        command.arg("--features").arg(build.features.join(","));
    }
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let user_args = build.extra_args;
    if let Some(triple) = target.cargo_target() {
        if !user_args.iter().any(|arg| arg.starts_with("--target")) {
            command.args(["--target", &triple]);
        }
    }
    command.args(user_args);
    let link_args = target.extension_link_args();
    if !link_args.is_empty() || !build.rustc_args.is_empty() {
        // After `--`, arguments go to the rustc of this crate only: its link, and an
        // editable project's `rustc-args`.
        if !user_args.iter().any(|arg| arg == "--") {
            command.arg("--");
        }
        command.args(link_args);
        command.args(build.rustc_args);
    }
    command
        .current_dir(build.working_dir)
        // What maturin sets: build an extension module, do not link libpython.
        .env("PYO3_BUILD_EXTENSION_MODULE", "1");
    build.pyo3.apply(&mut command);
    command
}

/// The library, local manifests and build-script output folders cargo reported.
fn artifacts_built(
    build: &CargoBuild,
    artifacts: Vec<cargo_metadata::Artifact>,
    scripts: Vec<cargo_metadata::BuildScript>,
) -> Result<CargoOutput> {
    let manifest = canonical(build.manifest_path);
    let mut library = None;
    let mut local_manifests = Vec::new();
    let mut local_artifacts = Vec::new();
    for artifact in artifacts {
        let artifact_manifest = canonical(artifact.manifest_path.as_std_path());
        if artifact.package_id.repr.starts_with("path+") {
            local_manifests.push(artifact_manifest.clone());
            local_artifacts.extend(
                artifact
                    .filenames
                    .iter()
                    .map(|f| f.clone().into_std_path_buf()),
            );
        }
        if artifact_manifest == manifest && artifact.target.crate_types.contains(&CrateType::CDyLib)
        {
            library = artifact
                .filenames
                .into_iter()
                .map(|f| f.into_std_path_buf())
                .find(|f| is_shared_library(f));
        }
    }
    let library = library.ok_or_else(|| Error::BadArtifact {
        module: build.module.to_string(),
        source_path: build.origin.to_path_buf(),
        reason: "cargo reported no shared library (cdylib) for it; \
                 add `crate-type = [\"cdylib\"]` under [lib] in Cargo.toml"
            .to_string(),
    })?;
    local_manifests.sort();
    local_manifests.dedup();
    let script_outputs = scripts
        .iter()
        .filter_map(|script| Some(script.out_dir.parent()?.join("output").into_std_path_buf()))
        .collect();
    let out_dirs = scripts
        .into_iter()
        .filter_map(|script| {
            let name = package_name(&script.package_id.repr)?;
            Some((name, script.out_dir.into_std_path_buf()))
        })
        .collect();
    Ok(CargoOutput {
        library,
        local_manifests,
        out_dirs,
        local_artifacts,
        script_outputs,
    })
}

/// Linkers that write their output through a memory map (lld, mold, gold) are killed by
/// SIGBUS when the disk fills up under them, and say nothing of space. With little left
/// on the target directory's disk, that is what happened.
fn linker_out_of_space(diagnostics: &str, target_dir: &Path) -> Option<String> {
    const LITTLE: u64 = 64 << 20;
    let line = diagnostics
        .lines()
        .find(|line| line.contains("signal 7") || line.contains("Bus error"))?;
    let free = available_space(target_dir).filter(|free| *free < LITTLE)?;
    Some(format!(
        "the linker was killed writing the library, with {} KiB left on that disk: {}",
        free / 1024,
        line.trim()
    ))
}

type Messages = (
    Vec<cargo_metadata::Artifact>,
    Vec<cargo_metadata::BuildScript>,
);

fn read_messages(stdout: Option<std::process::ChildStdout>) -> Messages {
    let (mut artifacts, mut scripts) = (Vec::new(), Vec::new());
    let Some(stdout) = stdout else {
        return (artifacts, scripts);
    };
    for message in Message::parse_stream(BufReader::new(stdout)).flatten() {
        match message {
            Message::CompilerArtifact(artifact) => artifacts.push(artifact),
            Message::BuildScriptExecuted(script) => scripts.push(script),
            _ => {}
        }
    }
    (artifacts, scripts)
}

/// The package name in a cargo package id: `path+file:///src/dir#name@0.1.0`, or
/// `path+file:///src/name#0.1.0` when the folder has the package's name.
fn package_name(id: &str) -> Option<String> {
    let (url, fragment) = id.rsplit_once('#')?;
    match fragment.split_once('@') {
        Some((name, _)) => Some(name.to_string()),
        None => url.rsplit('/').next().map(str::to_string),
    }
}

fn canonical(path: &Path) -> PathBuf {
    platform::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

fn is_shared_library(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("so" | "dylib" | "dll")
    )
}

/// A crate's library root, where cargo finds it: its manifest's `[lib] path`, else
/// `src/lib.rs` (also for a manifest that could not be read).
pub fn library_root(crate_dir: &Path, manifest: Option<&toml::Table>) -> PathBuf {
    let path = manifest
        .and_then(|manifest| manifest.get("lib")?.get("path")?.as_str())
        .unwrap_or("src/lib.rs");
    crate_dir.join(path)
}

#[cfg(test)]
mod tests;
