//! The one error type of the core. Every message says what happened and what to do;
//! `python/errors.rs` maps each variant to a Python exception in exactly one place.

use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// cargo ran and failed: compile errors, a bad manifest, a failed download. The
    /// diagnostics are in the message unless the user saw them as they came (`shown`).
    #[error("could not build {module} from {source_path}{}", build_details(.diagnostics, *.shown), source_path = .source_path.display())]
    Build {
        module: String,
        source_path: PathBuf,
        diagnostics: String,
        /// Streamed to the user's terminal already: not repeated in the message.
        shown: bool,
    },

    /// A `//:` line of a single-file module is not valid TOML.
    #[error("{path}:{line}: invalid `//:` Cargo.toml line: {message}\nFix the line so that the `//:` lines form valid TOML.", path = .path.display())]
    ManifestLine {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// The marker names a template rusthook does not have.
    #[error("{path}:{line}: unknown template `{template}`; known templates: {known}.\nUse e.g. `// rusthook:pyo3`, or `// rusthook` to write the whole Cargo.toml with `//:` lines.", path = .path.display())]
    UnknownTemplate {
        path: PathBuf,
        line: usize,
        template: String,
        known: String,
    },

    /// Two manifests in a source's dependency graph ask for pyo3 versions of different
    /// series: cargo cannot link both into one library.
    #[error("{first} asks for pyo3 {first_version} and {second} asks for pyo3 {second_version}: one library cannot link two pyo3 versions.\nMake both ask for the same pyo3 version.", first = .first.display(), second = .second.display())]
    Pyo3Conflict {
        first: PathBuf,
        first_version: String,
        second: PathBuf,
        second_version: String,
    },

    /// `eject` was asked for a module that is not a pyo3 single file.
    #[error("{path}: eject makes a maturin project from a `// rusthook:pyo3` module, and this file uses {template}", path = .path.display())]
    EjectTemplate { path: PathBuf, template: String },

    /// A notebook cell that defines its own module.
    #[error("{path}: a %%rust cell cannot define a #[pymodule]: the cell's module is generated (named after a hash of the cell) and registers its #[pyfunction]s and #[pyclass]es; remove the #[pymodule]", path = .path.display())]
    CellPymodule { path: PathBuf },

    /// A C-ABI module's exported function has a signature C cannot express.
    #[error("{path}:{line}: {message}", path = .path.display())]
    CDeclaration {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// A C-ABI module's source that syn cannot parse (rustc usually reports it first).
    #[error("{path}:{line}: cannot read the file for its C declarations: {message}", path = .path.display())]
    Unparsable {
        path: PathBuf,
        line: usize,
        message: String,
    },

    /// A C-ABI module exports nothing cffi could call.
    #[error("{path}: found no `#[no_mangle] pub extern \"C\" fn` to declare; a C-ABI (cffi) module gives Python its exported C functions, so export at least one", path = .path.display())]
    NoCFunctions { path: PathBuf },

    /// `in_place` asked for a library that Python cannot import by itself.
    #[error("{path} is a C-ABI (cffi) module: its library is not a Python extension module, so it cannot be written beside the source for imports without rusthook; build it without in_place", path = .path.display())]
    NotAnExtension { path: PathBuf },

    /// A stub was asked for a library pyo3 did not build: `kind` says what it is.
    #[error("{path} is {kind}, so rusthook writes no .pyi stub for it", path = .path.display())]
    NoStub { path: PathBuf, kind: String },

    /// A source file that is not UTF-8 text.
    #[error("{path}:{line}: the file is not valid UTF-8; save it as UTF-8", path = .path.display())]
    NotUtf8 { path: PathBuf, line: usize },

    /// A module name that Python cannot import (or no extension module can have).
    #[error("`{name}` (from {path}) {reason}; rename it to a Python identifier such as `{suggestion}`", path = .path.display())]
    InvalidModuleName {
        name: String,
        path: PathBuf,
        reason: &'static str,
        suggestion: String,
    },

    /// A path given to the explicit API is not a Rust module rusthook can build.
    #[error("{path} is not an importable Rust source: {reason}", path = .path.display())]
    NotASource { path: PathBuf, reason: String },

    /// `cargo` (or `rustc`) could not be started.
    #[error("could not run `{program}`: {reason}.\nInstall Rust (https://rustup.rs) and make sure `{program}` can be run (it is looked up on PATH; CARGO and RUSTC name other programs).")]
    ToolMissing { program: String, reason: String },

    /// Another process holds the build lock of this module for longer than allowed.
    #[error("timed out after {seconds:.0} s waiting for the build lock {path}, held by {holder}.\nWait for that build to finish (or stop it), or raise the limit with `lock_timeout=` in rusthook.install() / the API or the RUSTHOOK_LOCK_TIMEOUT variable (seconds).", path = .path.display())]
    LockTimeout {
        path: PathBuf,
        seconds: f64,
        /// Who holds it, as the holder wrote it into the lock file.
        holder: String,
    },

    /// An in-place library whose stamp cannot vouch for it, with no toolchain to build
    /// its source again: never loaded on an unconfirmed word.
    #[error("cannot load {library}: {reason}. Install Rust (cargo) so that rusthook can build it again from its source", library = .library.display())]
    InPlaceUnconfirmed { library: PathBuf, reason: String },

    /// An editable project asks `[tool.maturin]` for a build rusthook cannot make as
    /// maturin would: its installed library is left as it is.
    #[error("cannot rebuild the editable project `{name}` ({root}) as its installer would: [tool.maturin] {option}, and {reason}; its installed library is left as it is. Rebuild it with `maturin develop` (or `pip install -e {root}`)", root = .root.display())]
    ProjectOptionUnsupported {
        name: String,
        root: PathBuf,
        option: String,
        reason: String,
    },

    /// An editable project whose library cannot be found where maturin installs it.
    #[error("the editable project `{name}` ({root}) has no installed library ({expected}); install it once with `pip install -e {root}` (or `maturin develop`)", root = .root.display())]
    ProjectNotInstalled {
        name: String,
        root: PathBuf,
        /// Where the library was looked for.
        expected: String,
    },

    /// pyproject.toml (or Cargo.toml) changed what an editable install wrote into its
    /// metadata; the installer must write it again.
    #[error("the editable project `{name}` ({root}) changed its metadata since it was installed ({changed}); Python would still see the installed version, dependencies and entry points.\nReinstall it: `{command}`", root = .root.display())]
    ProjectMetadataChanged {
        name: String,
        root: PathBuf,
        /// Where the changes are (`pyproject.toml [project] dependencies`).
        changed: String,
        command: String,
    },

    /// A write failed because the disk (or the user's quota) is full.
    #[error("{action} {path}: the disk is full ({detail}).\nFree some space (or set RUSTHOOK_BUILD_DIR / build_dir= to a folder on another disk) and import again: the last good build is kept, and the next import builds it again.", path = .path.display())]
    DiskFull {
        action: String,
        path: PathBuf,
        /// The system's or the tool's own words.
        detail: String,
    },

    /// The build folder is on a read-only file system (an image's baked cache, a
    /// read-only mount): what it holds loads, nothing new can be built there.
    #[error("cannot build {module}: the build folder {path} is on a read-only file system (what it already holds still loads); to build, set RUSTHOOK_BUILD_DIR (or build_dir=) to a writable folder.", path = .path.display())]
    ReadOnlyBuildFolder { module: String, path: PathBuf },

    /// Root's build folder used by another user (a container image's cache): what it
    /// holds loads, but this module has no up-to-date build there.
    #[error("cannot build {module}: the build folder {path} belongs to another user (uid {owner}), so this user only loads what it holds, and it holds no up-to-date build of {module} (looked for {looked}).\nBuild it there as that user (`python -m rusthook build {source}`, e.g. in the image's Dockerfile), or set RUSTHOOK_BUILD_DIR (or build_dir=) to a folder of your own.", path = .path.display(), looked = .looked.display(), source = .source_path.display())]
    BuildFolderNotOurs {
        module: String,
        source_path: PathBuf,
        path: PathBuf,
        owner: u32,
        /// The build record it looked for.
        looked: PathBuf,
    },

    /// A cache folder other users could have written a library into.
    #[error("refusing to use the build folder {path}: {reason}, so a library built there could be replaced by someone else.\n{fix}", path = .path.display())]
    InsecureCache {
        path: PathBuf,
        reason: String,
        /// What to do: chmod when the folder is the user's own, another folder when not.
        fix: String,
    },

    /// `cache clear` found a build in progress.
    #[error("a build is running in the cache (its lock {path} is held); wait for it to finish, then clear the cache again", path = .path.display())]
    CacheBusy { path: PathBuf },

    /// `new` would overwrite something.
    #[error("{path} already exists; choose another name or remove it first", path = .path.display())]
    AlreadyExists { path: PathBuf },

    /// The build finished but produced nothing Python can load under this name.
    #[error("built {module} from {source_path}, but {reason}", source_path = .source_path.display())]
    BadArtifact {
        module: String,
        source_path: PathBuf,
        reason: String,
    },

    /// A file system operation failed.
    #[error("{action} {path}: {source}", path = .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A setting (a keyword or an environment variable) with a value it cannot take.
    #[error("{message}")]
    InvalidSetting { message: String },

    /// The user interrupted a build (Ctrl-C); the boundary re-raises the pending signal.
    #[error("build interrupted")]
    Interrupted,
}

/// The end of a build error's message: the diagnostics, once.
fn build_details(diagnostics: &str, shown: bool) -> String {
    if shown {
        ": the compiler's messages are above".to_string()
    } else {
        format!(":\n\n{diagnostics}")
    }
}

impl Error {
    /// A build tool that could not be run, and why (said once, without a final period).
    pub fn tool_missing(program: &str, reason: impl std::fmt::Display) -> Error {
        Error::ToolMissing {
            program: program.to_string(),
            reason: reason.to_string().trim().trim_end_matches('.').to_string(),
        }
    }

    /// Shorthand for wrapping an `io::Error` with what was being done, and to what.
    pub fn io<'a>(
        action: &'static str,
        path: &'a Path,
    ) -> impl FnOnce(std::io::Error) -> Error + 'a {
        move |source| {
            if is_disk_full(&source) {
                return Error::DiskFull {
                    action: action.to_string(),
                    path: path.to_path_buf(),
                    detail: source.to_string(),
                };
            }
            Error::Io {
                action,
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// A write that failed for lack of space: a full disk, a quota, or a file size limit.
pub fn is_disk_full(error: &std::io::Error) -> bool {
    use std::io::ErrorKind;
    matches!(
        error.kind(),
        ErrorKind::StorageFull | ErrorKind::QuotaExceeded | ErrorKind::FileTooLarge
    )
}

/// The line of a build tool's output that says the disk is full, if one does.
pub fn disk_full_line(output: &str) -> Option<&str> {
    // Linux and macOS (`ENOSPC`, `EDQUOT`, `EFBIG`), then Windows (`ERROR_DISK_FULL`,
    // `ERROR_HANDLE_DISK_FULL`).
    const WORDS: [&str; 5] = [
        "No space left on device",
        "Disk quota exceeded",
        "File too large",
        "There is not enough space on the disk",
        "The disk is full",
    ];
    output
        .lines()
        .find(|line| WORDS.iter().any(|words| line.contains(words)))
        .map(str::trim)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_told_from_other_io_errors() {
        // ENOSPC and EACCES; ERROR_DISK_FULL and ERROR_ACCESS_DENIED on Windows.
        let (full, denied) = if cfg!(windows) { (112, 5) } else { (28, 13) };
        let full = std::io::Error::from_raw_os_error(full);
        let os_words = full.to_string();
        assert!(is_disk_full(&full));
        let error = Error::io("cannot write", Path::new("/cache/record.json"))(full);
        assert!(matches!(error, Error::DiskFull { .. }), "{error:?}");
        let expected = format!("cannot write /cache/record.json: the disk is full ({os_words}");
        assert!(error.to_string().starts_with(&expected), "{error}");
        let denied = std::io::Error::from_raw_os_error(denied);
        assert!(matches!(
            Error::io("cannot write", Path::new("/x"))(denied),
            Error::Io { .. }
        ));
        assert_eq!(
            disk_full_line("   Compiling x\nerror: failed to write /t/x.rmeta: No space left on device (os error 28)\n"),
            Some("error: failed to write /t/x.rmeta: No space left on device (os error 28)")
        );
        assert_eq!(disk_full_line("error[E0308]: mismatched types"), None);
        assert_eq!(
            disk_full_line("error: failed to write C:\\t\\x.rmeta: There is not enough space on the disk. (os error 112)"),
            Some("error: failed to write C:\\t\\x.rmeta: There is not enough space on the disk. (os error 112)")
        );
    }
}
