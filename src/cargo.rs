//! Running cargo: one `cargo rustc --lib --crate-type cdylib` per build, with JSON
//! messages on stdout (the library path comes from the compiler-artifact message, not
//! from guessing paths under `target/`) and rendered diagnostics on stderr, which are
//! shown as progress and kept for the error message.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use cargo_metadata::{CrateType, Message};

use crate::error::{Error, Result};
use crate::project::Project;
use crate::settings::PythonEnv;

/// How a running build reports to, and is cancelled by, its caller.
pub trait BuildObserver: Sync {
    /// True when the user asked to stop (Ctrl-C); the build is then killed.
    fn interrupted(&self) -> bool;
    /// One line of cargo's output: a status line (`Compiling pyo3 v0.30.1`) or compiler
    /// diagnostics.
    fn progress(&self, line: &str);
    /// Cargo's progress bar moved: `done` of `total` units built; `text` is cargo's bar.
    fn progress_bar(&self, _done: usize, _total: usize, _text: &str) {}
}

/// An observer that shows nothing and never interrupts (tests, background builds).
pub struct Silent;

impl BuildObserver for Silent {
    fn interrupted(&self) -> bool {
        false
    }
    fn progress(&self, _line: &str) {}
}

/// One cargo invocation.
pub struct CargoBuild<'a> {
    pub manifest_path: &'a Path,
    pub target_dir: &'a Path,
    /// Where cargo runs: the source's folder, so rustup honours its toolchain file.
    pub working_dir: &'a Path,
    pub python: &'a Path,
    /// The cargo profile: `dev`, `release` or a custom one.
    pub profile: &'a str,
    pub features: &'a [String],
    pub extra_args: &'a [String],
    pub quiet: bool,
    /// `(generated copy, user's file)`: diagnostics naming the copy name the user's file.
    pub diagnostics_alias: Option<(String, String)>,
}

/// What a successful build produced.
#[derive(Debug)]
pub struct CargoOutput {
    pub library: PathBuf,
    /// Cargo.toml of every local (path) package compiled: edits to them must rebuild.
    pub local_manifests: Vec<PathBuf>,
}

/// Why cargo did not produce a library.
#[derive(Debug)]
pub enum CargoFailure {
    /// cargo ran and reported errors; the text is what it printed, without progress lines.
    Failed(String),
    /// cargo succeeded but reported no cdylib for the package.
    NoLibrary(String),
    Other(Error),
}

impl From<Error> for CargoFailure {
    fn from(error: Error) -> Self {
        CargoFailure::Other(error)
    }
}

pub fn cargo_program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string())
}

pub fn run(build: &CargoBuild, observer: &dyn BuildObserver) -> Result<CargoOutput, CargoFailure> {
    let program = cargo_program();
    let mut command = Command::new(&program);
    command
        .args(["rustc", "--lib", "--crate-type", "cdylib"])
        .arg("--manifest-path")
        .arg(build.manifest_path)
        .arg("--target-dir")
        .arg(build.target_dir)
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
    if !build.features.is_empty() {
        command.arg("--features").arg(build.features.join(","));
    }
    command
        .args(build.extra_args)
        .current_dir(build.working_dir)
        .env("PYO3_PYTHON", build.python)
        // What maturin sets: build an extension module, do not link libpython.
        .env("PYO3_BUILD_EXTENSION_MODULE", "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let (mut child, program) = spawn(command, &program)?;
    let stdout = child.stdout.take();
    let messages = std::thread::spawn(move || read_messages(stdout));
    let (status, diagnostics) = supervise(
        child,
        &program,
        observer,
        build.quiet,
        build.diagnostics_alias.as_ref(),
    )?;
    let artifacts = messages.join().unwrap_or_default();
    if !status.success() {
        return Err(CargoFailure::Failed(diagnostics));
    }

    let manifest = canonical(build.manifest_path);
    let mut library = None;
    let mut local_manifests = Vec::new();
    for artifact in artifacts {
        let artifact_manifest = canonical(artifact.manifest_path.as_std_path());
        if artifact.package_id.repr.starts_with("path+") {
            local_manifests.push(artifact_manifest.clone());
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
    let library = library.ok_or_else(|| {
        CargoFailure::NoLibrary(
            "cargo reported no shared library (cdylib) for it; \
             add `crate-type = [\"cdylib\"]` under [lib] in Cargo.toml"
                .to_string(),
        )
    })?;
    local_manifests.sort();
    local_manifests.dedup();
    Ok(CargoOutput {
        library,
        local_manifests,
    })
}

/// Runs `python -m maturin develop` for an editable project whose bindings need
/// maturin's own generation step (cffi, uniffi, bin).
pub fn run_maturin_develop(
    project: &Project,
    profile: &str,
    features: &[String],
    quiet: bool,
    python: &PythonEnv,
    observer: &dyn BuildObserver,
) -> Result<(), CargoFailure> {
    let mut command = Command::new(&python.executable);
    command
        .args(["-m", "maturin", "develop", "--profile", profile])
        .arg("--manifest-path")
        .arg(&project.manifest_path);
    if !features.is_empty() {
        command.arg("--features").arg(features.join(","));
    }
    command
        .current_dir(&project.root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
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
    let (child, program) = spawn(command, &program)?;
    let (status, diagnostics) = supervise(child, &program, observer, quiet, None)?;
    if status.success() {
        return Ok(());
    }
    if diagnostics.contains("No module named maturin") {
        return Err(CargoFailure::Failed(format!(
            "building its {} bindings needs maturin in this environment: {} -m pip install maturin",
            project.bindings.name(),
            python.executable.display()
        )));
    }
    Err(CargoFailure::Failed(diagnostics))
}

/// Starts a build tool in its own process group, so that an interrupted build can be
/// stopped whole: the tool and every rustc and build script it started.
fn spawn(mut command: Command, program: &str) -> Result<(Child, String), CargoFailure> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(&mut command, 0);
    log::debug!(target: "rusthook.cargo", "running {command:?}");
    let child = command.spawn().map_err(|source| Error::ToolMissing {
        program: program.to_string(),
        source,
    })?;
    Ok((child, program.to_string()))
}

/// Shows a running tool's stderr as progress (cargo's bar as progress events), keeps
/// its diagnostics (status lines left out), and kills it when the user interrupts.
/// `alias` renames a generated copy to the user's file in every line.
fn supervise(
    mut child: Child,
    program: &str,
    observer: &dyn BuildObserver,
    quiet: bool,
    alias: Option<&(String, String)>,
) -> Result<(ExitStatus, String), CargoFailure> {
    let (line_sender, lines) = mpsc::channel::<String>();
    let stderr = child.stderr.take();
    let stderr_reader = std::thread::spawn(move || {
        if let Some(stderr) = stderr {
            // Progress-bar updates end in `\r`, other lines in `\n`.
            for chunk in BufReader::new(stderr).split(b'\r').map_while(|c| c.ok()) {
                for line in String::from_utf8_lossy(&chunk).split('\n') {
                    if !line.trim().is_empty() && line_sender.send(line.to_string()).is_err() {
                        return;
                    }
                }
            }
        }
    });
    let mut diagnostics = String::new();
    loop {
        match lines.recv_timeout(Duration::from_millis(50)) {
            Ok(mut line) => {
                if let Some((copy, original)) = alias {
                    if line.contains(copy.as_str()) {
                        line = line.replace(copy.as_str(), original);
                    }
                }
                if let Some((done, total)) = parse_progress_bar(&line) {
                    if !quiet {
                        observer.progress_bar(done, total, line.trim_end());
                    }
                    continue;
                }
                if !quiet {
                    observer.progress(&line);
                }
                if !is_status_line(&line) {
                    diagnostics.push_str(&line);
                    diagnostics.push('\n');
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if observer.interrupted() {
            kill(&mut child);
            return Err(CargoFailure::Other(Error::Interrupted));
        }
    }
    let _ = stderr_reader.join();
    let status = child.wait().map_err(|source| Error::ToolMissing {
        program: program.to_string(),
        source,
    })?;
    Ok((status, diagnostics.trim_end().to_string()))
}

fn read_messages(stdout: Option<std::process::ChildStdout>) -> Vec<cargo_metadata::Artifact> {
    let Some(stdout) = stdout else {
        return Vec::new();
    };
    Message::parse_stream(BufReader::new(stdout))
        .flatten()
        .filter_map(|message| match message {
            Message::CompilerArtifact(artifact) => Some(artifact),
            _ => None,
        })
        .collect()
}

/// Stops cargo and everything it started (its process group, on Unix).
fn kill(child: &mut Child) {
    #[cfg(unix)]
    if let Ok(pid) = libc::pid_t::try_from(child.id()) {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is shared.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn canonical(path: &Path) -> PathBuf {
    path.canonicalize().unwrap_or_else(|_| path.to_path_buf())
}

fn is_shared_library(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("so" | "dylib" | "dll")
    )
}

/// `    Building [=====>    ] 12/28: pyo3, libc` -> `(12, 28)`.
pub fn parse_progress_bar(line: &str) -> Option<(usize, usize)> {
    let rest = line.trim_start().strip_prefix("Building [")?;
    let (_, counts) = rest.split_once("] ")?;
    let counts = counts.split(':').next()?;
    let (done, total) = counts.split_once('/')?;
    Some((done.trim().parse().ok()?, total.trim().parse().ok()?))
}

/// Cargo's own status lines (`   Compiling pyo3 v0.30.1`): progress, not diagnostics.
pub fn is_status_line(line: &str) -> bool {
    const STATUSES: [&str; 16] = [
        "Compiling",
        "Checking",
        "Finished",
        "Updating",
        "Locking",
        "Downloading",
        "Downloaded",
        "Blocking",
        "Adding",
        "Fresh",
        "Running",
        "Updated",
        "Removing",
        "Unpacking",
        "Building",
        "Dirty",
    ];
    line.starts_with(' ')
        && line
            .split_whitespace()
            .next()
            .is_some_and(|word| STATUSES.contains(&word))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_bar_updates_are_parsed() {
        assert_eq!(
            parse_progress_bar("    Building [=====>      ] 12/28: pyo3, libc(build)   "),
            Some((12, 28))
        );
        assert_eq!(
            parse_progress_bar("    Building [   ] 0/3: a"),
            Some((0, 3))
        );
        assert_eq!(parse_progress_bar("   Compiling pyo3 v0.30.1"), None);
        assert_eq!(parse_progress_bar("error: Building [x] failed"), None);
    }

    #[test]
    fn status_lines_are_not_diagnostics() {
        assert!(is_status_line("   Compiling pyo3 v0.30.1"));
        assert!(is_status_line(
            "    Finished `dev` profile [unoptimized + debuginfo] target(s) in 0.41s"
        ));
        assert!(is_status_line(
            "    Blocking waiting for file lock on build directory"
        ));
        assert!(!is_status_line("error[E0308]: mismatched types"));
        assert!(!is_status_line(" --> /src/fast.rs:6:18"));
        assert!(!is_status_line("6 |     let y: i64 = \"oops\";"));
    }
}
