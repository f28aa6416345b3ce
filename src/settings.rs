//! Build settings: what the user asked for (keywords, environment variables) and
//! where builds go (the per-environment build cache).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// Facts about the running interpreter, read once at start-up by the boundary.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    /// `sys.executable`: the interpreter cargo builds for (`PYO3_PYTHON`).
    pub executable: PathBuf,
    /// `sys.prefix` and `sys.base_prefix`: they differ inside a virtual environment.
    pub prefix: PathBuf,
    pub base_prefix: PathBuf,
    /// `importlib.machinery.EXTENSION_SUFFIXES`; the first is the interpreter's own
    /// (`.cpython-311-x86_64-linux-gnu.so`), used to name artifacts.
    pub extension_suffixes: Vec<String>,
}

impl PythonEnv {
    pub fn ext_suffix(&self) -> &str {
        self.extension_suffixes
            .first()
            .map(String::as_str)
            .unwrap_or(".so")
    }

    /// The ABI tag that names the build cache's subfolder, e.g. `cpython-311-x86_64-linux-gnu`.
    pub fn abi_tag(&self) -> String {
        let suffix = self.ext_suffix().trim_start_matches('.');
        let tag = suffix
            .strip_suffix(".so")
            .or_else(|| suffix.strip_suffix(".pyd"))
            .unwrap_or(suffix);
        if tag.is_empty() {
            "default".to_string()
        } else {
            tag.to_string()
        }
    }

    fn in_virtualenv(&self) -> bool {
        self.prefix != self.base_prefix
    }
}

/// The default for how long an import waits for another process's build of the same module.
pub const DEFAULT_LOCK_TIMEOUT: Duration = Duration::from_secs(300);

/// Everything that decides how a module is built and whether an old build still counts.
#[derive(Debug, Clone)]
pub struct Settings {
    pub release: bool,
    /// Whether release (or debug) was asked for, by keyword or `RUSTHOOK_RELEASE`:
    /// editable projects otherwise keep the profile their configuration or last build chose.
    pub release_requested: Option<bool>,
    pub force_rebuild: bool,
    /// Also write `name.<EXT_SUFFIX>` beside the source, for use without rusthook.
    pub in_place: bool,
    /// Silence cargo's progress and compiler warnings (errors still raise).
    pub quiet: bool,
    pub lock_timeout: Duration,
    /// Root of the build cache; the ABI subfolder is added below it.
    pub build_root: PathBuf,
    /// Cargo features to enable (`--features`).
    pub features: Vec<String>,
    /// Extra arguments passed to `cargo rustc` before `--`.
    pub cargo_args: Vec<String>,
    pub file_importer: bool,
    pub project_importer: bool,
}

/// What a caller passed explicitly; `None` means "environment variable, else default".
#[derive(Debug, Clone, Default)]
pub struct SettingsRequest {
    pub release: Option<bool>,
    pub force_rebuild: Option<bool>,
    pub in_place: Option<bool>,
    pub quiet: Option<bool>,
    pub lock_timeout: Option<Duration>,
    pub build_dir: Option<PathBuf>,
    pub features: Vec<String>,
    pub cargo_args: Vec<String>,
    pub file_importer: Option<bool>,
    pub project_importer: Option<bool>,
}

impl Settings {
    /// Resolves a request against the environment (`RUSTHOOK_RELEASE`, `RUSTHOOK_FORCE_REBUILD`,
    /// `RUSTHOOK_BUILD_DIR`) and the interpreter. `env` reads an environment variable
    /// (`std::env::var(name).ok()` outside tests). rustimport's own variables count
    /// where rusthook's are not set: `RUSTIMPORT_RELEASE_BINARIES` for release builds,
    /// `RUSTIMPORT_FORCE_REBUILD` for forced ones.
    pub fn resolve(
        request: SettingsRequest,
        python: &PythonEnv,
        env: impl Fn(&str) -> Option<String>,
    ) -> Settings {
        // rusthook's variable if it says yes or no, else rustimport's.
        let flag = |name: &str, rustimport: &str| {
            env(name)
                .and_then(|value| switch(&value))
                .or_else(|| env(rustimport).and_then(|value| switch(&value)))
                == Some(true)
        };
        let build_root = request
            .build_dir
            .or_else(|| {
                env("RUSTHOOK_BUILD_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(|| default_build_root(python));
        let release_requested = request
            .release
            .or_else(|| flag("RUSTHOOK_RELEASE", "RUSTIMPORT_RELEASE_BINARIES").then_some(true));
        Settings {
            release: release_requested.unwrap_or(false),
            release_requested,
            force_rebuild: request
                .force_rebuild
                .unwrap_or_else(|| flag("RUSTHOOK_FORCE_REBUILD", "RUSTIMPORT_FORCE_REBUILD")),
            in_place: request.in_place.unwrap_or(false),
            quiet: request.quiet.unwrap_or(false),
            lock_timeout: request.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT),
            build_root,
            features: request.features,
            cargo_args: request.cargo_args,
            file_importer: request.file_importer.unwrap_or(true),
            project_importer: request.project_importer.unwrap_or(true),
        }
    }

    /// The cargo profile single-file modules and crates build with.
    pub fn cargo_profile(&self) -> &'static str {
        if self.release {
            "release"
        } else {
            "dev"
        }
    }

    pub fn profile_name(&self) -> &'static str {
        if self.release {
            "release"
        } else {
            "debug"
        }
    }

    /// The part of the settings a build with this profile and these features depends
    /// on: a change here makes old builds stale.
    pub fn fingerprint(&self, profile: &str, features: &[String], python: &PythonEnv) -> String {
        format!(
            "rusthook {} | {} | features [{}] | args [{}] | {}",
            env!("CARGO_PKG_VERSION"),
            profile,
            features.join(","),
            self.cargo_args.join(" "),
            python.ext_suffix(),
        )
    }
}

/// The one reading of rusthook's yes/no environment variables: `1`, `true`, `yes`,
/// `on` (any case) are `Some(true)`; `0`, `false`, `no`, `off` are `Some(false)`;
/// anything else is `None` (the variable's default applies).
pub fn switch(value: &str) -> Option<bool> {
    match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

/// Whether the import hook may be installed: unless `RUSTHOOK_ENABLED` switches it off.
/// Without `RUSTHOOK_ENABLED`, rustimport's `RUSTIMPORT_RELEASE_MODE=1` switches it off as
/// it switches rustimport's hook off: prebuilt libraries beside the sources are then
/// imported by Python itself, and nothing is checked or built.
pub fn hook_enabled(env: impl Fn(&str) -> Option<String>) -> bool {
    match env("RUSTHOOK_ENABLED").and_then(|value| switch(&value)) {
        Some(enabled) => enabled,
        None => env("RUSTIMPORT_RELEASE_MODE").and_then(|value| switch(&value)) != Some(true),
    }
}

/// `<venv>/rusthook_build_cache` inside a writable virtual environment, else the user cache dir.
fn default_build_root(python: &PythonEnv) -> PathBuf {
    if python.in_virtualenv() && is_writable_dir(&python.prefix) {
        return python.prefix.join("rusthook_build_cache");
    }
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("rusthook")
}

/// One `access(2)` call: this runs whenever settings are made, e.g. at interpreter start.
#[cfg(unix)]
fn is_writable_dir(path: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c_path) = std::ffi::CString::new(path.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a valid NUL-terminated path; access(2) only reads it.
    unsafe { libc::access(c_path.as_ptr(), libc::W_OK) == 0 }
}

#[cfg(not(unix))]
fn is_writable_dir(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.permissions().readonly())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(prefix: &str, base_prefix: &str) -> PythonEnv {
        PythonEnv {
            executable: PathBuf::from("/usr/bin/python3"),
            prefix: PathBuf::from(prefix),
            base_prefix: PathBuf::from(base_prefix),
            extension_suffixes: vec![".cpython-311-x86_64-linux-gnu.so".into(), ".abi3.so".into()],
        }
    }

    #[test]
    fn abi_tag_strips_dot_and_library_suffix() {
        assert_eq!(python("/p", "/p").abi_tag(), "cpython-311-x86_64-linux-gnu");
        let mut windows = python("/p", "/p");
        windows.extension_suffixes = vec![".cp311-win_amd64.pyd".into()];
        assert_eq!(windows.abi_tag(), "cp311-win_amd64");
    }

    #[test]
    fn environment_variables_fill_in_what_the_caller_left_open() {
        let env = |name: &str| match name {
            "RUSTHOOK_RELEASE" => Some("1".to_string()),
            "RUSTHOOK_BUILD_DIR" => Some("/tmp/cache".to_string()),
            _ => None,
        };
        let settings = Settings::resolve(SettingsRequest::default(), &python("/p", "/p"), env);
        assert!(settings.release);
        assert!(!settings.force_rebuild);
        assert_eq!(settings.build_root, PathBuf::from("/tmp/cache"));

        let explicit = SettingsRequest {
            release: Some(false),
            build_dir: Some("/elsewhere".into()),
            ..Default::default()
        };
        let settings = Settings::resolve(explicit, &python("/p", "/p"), env);
        assert!(
            !settings.release,
            "an explicit keyword beats the environment"
        );
        assert_eq!(settings.build_root, PathBuf::from("/elsewhere"));
    }

    #[test]
    fn virtualenv_gets_its_own_cache() {
        let venv = tempfile::tempdir().unwrap();
        let prefix = venv.path().to_str().unwrap();
        let settings =
            Settings::resolve(SettingsRequest::default(), &python(prefix, "/usr"), |_| {
                None
            });
        assert_eq!(
            settings.build_root,
            venv.path().join("rusthook_build_cache")
        );
    }

    #[test]
    fn fingerprint_changes_with_profile_and_features() {
        let py = python("/p", "/p");
        let debug = Settings::resolve(SettingsRequest::default(), &py, |_| None);
        let release = Settings {
            release: true,
            ..debug.clone()
        };
        let featured = Settings {
            features: vec!["fast".into()],
            ..debug.clone()
        };
        let fingerprint = |s: &Settings| s.fingerprint(s.cargo_profile(), &s.features, &py);
        assert_ne!(fingerprint(&debug), fingerprint(&release));
        assert_ne!(fingerprint(&debug), fingerprint(&featured));
    }

    #[test]
    fn switch_values() {
        for value in ["1", "true", "YES", " on "] {
            assert_eq!(switch(value), Some(true), "{value}");
        }
        for value in ["0", "false", "No", "off "] {
            assert_eq!(switch(value), Some(false), "{value}");
        }
        for value in ["", "maybe", "2"] {
            assert_eq!(switch(value), None, "{value}");
        }
    }

    #[test]
    fn the_hook_is_enabled_unless_switched_off() {
        let with = |value: &'static str| move |_: &str| Some(value.to_string());
        assert!(hook_enabled(|_| None));
        assert!(hook_enabled(with("1")));
        assert!(hook_enabled(with("")));
        assert!(!hook_enabled(with("0")));
        assert!(!hook_enabled(with("OFF")));
        let release_mode = |name: &str| (name == "RUSTIMPORT_RELEASE_MODE").then(|| "true".into());
        assert!(!hook_enabled(release_mode));
        // `with("1")` above sets RUSTIMPORT_RELEASE_MODE too: RUSTHOOK_ENABLED=1 wins.
    }

    #[test]
    fn rustimport_variables_count_where_rusthooks_are_unset() {
        let env = |name: &str| match name {
            "RUSTIMPORT_RELEASE_BINARIES" => Some("true".to_string()),
            "RUSTIMPORT_FORCE_REBUILD" => Some("yes".to_string()),
            _ => None,
        };
        let settings = Settings::resolve(SettingsRequest::default(), &python("/p", "/p"), env);
        assert!(settings.release && settings.force_rebuild);
        let overruled = |name: &str| match name {
            "RUSTHOOK_RELEASE" | "RUSTHOOK_FORCE_REBUILD" => Some("0".to_string()),
            _ => env(name),
        };
        let settings =
            Settings::resolve(SettingsRequest::default(), &python("/p", "/p"), overruled);
        assert!(!settings.release && !settings.force_rebuild);
    }
}
