//! Which Rust toolchain builds run with. Asking `rustc -vV` costs tens of milliseconds,
//! too much for every import, so freshness compares a cheap fingerprint (stats of the
//! `rustc` on PATH and of rustup's state, computed once per process) and asks rustc
//! only when the fingerprint moved.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::error::{Error, Result};
use crate::fsutil::{mtime_ns, write_atomically};

/// The fingerprint of the toolchain `cargo` will use, computed once per process.
pub fn fingerprint() -> &'static str {
    static FINGERPRINT: OnceLock<String> = OnceLock::new();
    FINGERPRINT.get_or_init(compute_fingerprint)
}

/// `rustc -vV` for the current fingerprint, remembered in `cache_file` so that a build
/// does not pay for running rustc (tens of milliseconds) while the toolchain is unchanged.
pub fn cached_version(cache_file: &Path) -> Result<String> {
    #[derive(serde::Serialize, serde::Deserialize)]
    struct Remembered {
        fingerprint: String,
        version: String,
    }
    let remembered = std::fs::read(cache_file)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Remembered>(&bytes).ok())
        .filter(|r| r.fingerprint == fingerprint());
    if let Some(remembered) = remembered {
        return Ok(remembered.version);
    }
    let version = version()?;
    let record = Remembered {
        fingerprint: fingerprint().to_string(),
        version: version.clone(),
    };
    // Best effort: a missing file only costs the next build one run of rustc.
    if let Ok(json) = serde_json::to_vec(&record) {
        if let Some(folder) = cache_file.parent() {
            let _ = crate::fsutil::create_private_dir(folder);
        }
        let _ = write_atomically(cache_file, &json);
    }
    Ok(version)
}

/// `rustc -vV`, asked once per process. An error means no rustc can be run at all.
pub fn version() -> Result<String> {
    static VERSION: OnceLock<std::result::Result<String, String>> = OnceLock::new();
    let program = rustc_program();
    VERSION
        .get_or_init(|| ask_version(&program))
        .clone()
        .map_err(|reason| Error::tool_missing(&program, reason))
}

/// The cargo builds run: `CARGO`, else rustimport's `RUSTIMPORT_CARGO_EXECUTABLE`, else
/// `cargo` on PATH (an empty variable counts as unset, as it does for cargo itself).
pub fn cargo_program() -> String {
    program_from_env(&["CARGO", "RUSTIMPORT_CARGO_EXECUTABLE"], "cargo")
}

/// The rustc whose version a build records: `RUSTC`, else `rustc` on PATH.
pub fn rustc_program() -> String {
    program_from_env(&["RUSTC"], "rustc")
}

fn program_from_env(variables: &[&str], default: &str) -> String {
    variables
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| default.to_string())
}

/// `rustc -vV`, or why it could not be run.
fn ask_version(program: &str) -> std::result::Result<String, String> {
    let output = Command::new(program)
        .arg("-vV")
        .output()
        .map_err(|error| error.to_string())?;
    if !output.status.success() {
        return Err(String::from_utf8_lossy(&output.stderr).trim().to_string());
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// `[(program, version or the error running it)]` for rustc and cargo, for bug reports.
pub fn tool_versions() -> Vec<(String, String)> {
    [rustc_program(), cargo_program()]
        .into_iter()
        .map(|program| {
            let version = tool_version(&program).unwrap_or_else(|e| e.to_string());
            (program, version)
        })
        .collect()
}

/// `program -V` (e.g. `cargo -V`).
fn tool_version(program: &str) -> Result<String> {
    let output = Command::new(program)
        .arg("-V")
        .output()
        .map_err(|error| Error::tool_missing(program, error))?;
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

fn compute_fingerprint() -> String {
    let mut fingerprint = String::new();
    for variable in ["RUSTC", "RUSTUP_TOOLCHAIN", "RUSTC_WRAPPER", "RUSTFLAGS"] {
        if let Ok(value) = std::env::var(variable) {
            let _ = write!(fingerprint, "{variable}={value};");
        }
    }
    let rustc = find_on_path(&rustc_program());
    stamp(&mut fingerprint, rustc.as_deref());
    // Under rustup, the `rustc` on PATH is a proxy: the toolchain it runs changes with
    // rustup's settings and with toolchain installs and updates.
    let rustup_home = std::env::var_os("RUSTUP_HOME")
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|home| home.join(".rustup")));
    if let Some(home) = rustup_home {
        stamp(&mut fingerprint, Some(&home.join("settings.toml")));
        stamp(&mut fingerprint, Some(&home.join("toolchains")));
        if let Ok(entries) = std::fs::read_dir(home.join("update-hashes")) {
            let mut paths: Vec<_> = entries.flatten().map(|e| e.path()).collect();
            paths.sort();
            for path in paths {
                stamp(&mut fingerprint, Some(&path));
            }
        }
    }
    fingerprint
}

fn stamp(fingerprint: &mut String, path: Option<&Path>) {
    let Some(path) = path else {
        fingerprint.push_str("none;");
        return;
    };
    match std::fs::metadata(path) {
        Ok(meta) => {
            let _ = write!(
                fingerprint,
                "{}:{}:{};",
                path.display(),
                meta.len(),
                mtime_ns(&meta)
            );
        }
        Err(_) => {
            let _ = write!(fingerprint, "{}:absent;", path.display());
        }
    }
}

/// The first executable named `program` on PATH (or `program` itself if it is a path).
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let candidate = Path::new(program);
    if candidate.components().count() > 1 {
        return candidate.is_file().then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .flat_map(|dir| {
            let plain = dir.join(program);
            let exe = dir.join(format!("{program}{}", std::env::consts::EXE_SUFFIX));
            [plain, exe]
        })
        .find(|p| p.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_is_stable_within_a_process() {
        assert_eq!(fingerprint(), fingerprint());
        assert!(!fingerprint().is_empty());
    }

    #[test]
    fn version_comes_from_rustc() {
        let version = version().expect("rustc runs in the test environment");
        assert!(version.starts_with("rustc "), "{version}");
    }

    #[test]
    fn cached_version_is_reused_for_the_same_fingerprint() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("toolchain.json");
        let first = cached_version(&file).unwrap();
        assert!(file.is_file());
        // A remembered version for this fingerprint is returned without asking rustc.
        let fake = format!(
            r#"{{"fingerprint": {:?}, "version": "rustc 0.0.0-remembered"}}"#,
            fingerprint()
        );
        std::fs::write(&file, fake).unwrap();
        assert_eq!(cached_version(&file).unwrap(), "rustc 0.0.0-remembered");
        std::fs::write(
            &file,
            r#"{"fingerprint": "another toolchain", "version": "x"}"#,
        )
        .unwrap();
        assert_eq!(cached_version(&file).unwrap(), first);
    }

    #[test]
    fn find_on_path_handles_paths_and_missing_programs() {
        assert!(find_on_path("rusthook-no-such-program").is_none());
        assert!(find_on_path("/definitely/not/here/rustc").is_none());
    }
}
