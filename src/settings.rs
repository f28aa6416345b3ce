//! Build settings: what the user asked for (keywords, environment variables) and
//! where builds go (the per-environment build cache).

use std::path::PathBuf;
use std::time::Duration;

use crate::error::{Error, Result};
use crate::platform::Target;

/// Facts about the running interpreter, read once at start-up by the boundary.
#[derive(Debug, Clone)]
pub struct PythonEnv {
    /// `sys.executable`: the running interpreter (a virtual environment's own).
    pub executable: PathBuf,
    /// `sys._base_executable`: the interpreter a virtual environment was made from.
    /// Builds name it to pyo3 (`PYO3_PYTHON`): it describes the same ABI as
    /// `executable`, and is the same for every environment made from it, so one build
    /// cache serves them all without pyo3 being recompiled when another one builds.
    pub base_executable: PathBuf,
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
            Target::HOST.partition_name(tag)
        }
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
    /// Write a `.pyi` stub beside each module's source whenever it is built.
    pub stubs: bool,
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
    pub stubs: Option<bool>,
}

impl Settings {
    /// Resolves a request against the environment (`RUSTHOOK_RELEASE`, `RUSTHOOK_FORCE_REBUILD`,
    /// `RUSTHOOK_BUILD_DIR`, `RUSTHOOK_STUBS`). `env` reads an environment variable
    /// (`std::env::var(name).ok()` outside tests). rustimport's own variables count
    /// where rusthook's are not set: `RUSTIMPORT_RELEASE_BINARIES` for release builds,
    /// `RUSTIMPORT_FORCE_REBUILD` for forced ones.
    pub fn resolve(
        request: SettingsRequest,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Settings> {
        // rusthook's variable if it says yes or no, else rustimport's.
        let flag = |name: &str, rustimport: &str| -> Result<bool> {
            let value = match switch_variable(&env, name)? {
                Some(value) => Some(value),
                None => switch_variable(&env, rustimport)?,
            };
            Ok(value == Some(true))
        };
        let build_root = request
            .build_dir
            .or_else(|| {
                env("RUSTHOOK_BUILD_DIR")
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
            .unwrap_or_else(default_build_root);
        let release_requested = match request.release {
            Some(release) => Some(release),
            None => flag("RUSTHOOK_RELEASE", "RUSTIMPORT_RELEASE_BINARIES")?.then_some(true),
        };
        let force_rebuild = match request.force_rebuild {
            Some(force) => force,
            None => flag("RUSTHOOK_FORCE_REBUILD", "RUSTIMPORT_FORCE_REBUILD")?,
        };
        let stubs = match request.stubs {
            Some(stubs) => stubs,
            None => switch_variable(&env, "RUSTHOOK_STUBS")? == Some(true),
        };
        Ok(Settings {
            release: release_requested.unwrap_or(false),
            release_requested,
            force_rebuild,
            in_place: request.in_place.unwrap_or(false),
            quiet: request.quiet.unwrap_or(false),
            lock_timeout: request.lock_timeout.unwrap_or(DEFAULT_LOCK_TIMEOUT),
            build_root,
            features: request.features,
            cargo_args: request.cargo_args,
            file_importer: request.file_importer.unwrap_or(true),
            project_importer: request.project_importer.unwrap_or(true),
            stubs,
        })
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

    /// Whether builds of single files and crates carry pyo3's introspection data, from
    /// which their stubs are made: when stubs are asked for, and for in-place builds
    /// (a deployment ships the stub beside the library).
    pub fn introspect(&self) -> bool {
        self.stubs || self.in_place
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

/// A yes/no environment variable: `None` when unset or empty, an error naming the
/// variable and the accepted values for anything else that is not a yes or a no.
fn switch_variable(env: &impl Fn(&str) -> Option<String>, name: &str) -> Result<Option<bool>> {
    match env(name) {
        None => Ok(None),
        Some(value) if value.trim().is_empty() => Ok(None),
        Some(value) => switch(&value)
            .map(Some)
            .ok_or_else(|| Error::InvalidSetting {
                message: format!(
                "{name}={value} is not a yes/no value; use 1, true, yes or on to switch it on, \
                 0, false, no or off to switch it off"
            ),
            }),
    }
}

/// Whether the import hook may be installed: unless `RUSTHOOK_ENABLED` switches it off.
/// Without `RUSTHOOK_ENABLED`, rustimport's `RUSTIMPORT_RELEASE_MODE=1` switches it off as
/// it switches rustimport's hook off: prebuilt libraries beside the sources are then
/// imported by Python itself, and nothing is checked or built.
pub fn hook_enabled(env: impl Fn(&str) -> Option<String>) -> Result<bool> {
    match switch_variable(&env, "RUSTHOOK_ENABLED")? {
        Some(enabled) => Ok(enabled),
        None => Ok(switch_variable(&env, "RUSTIMPORT_RELEASE_MODE")? != Some(true)),
    }
}

/// The user's cache folder (`~/.cache/rusthook` on Linux), shared by every environment:
/// builds are partitioned by interpreter ABI inside it, and compiled dependencies are
/// reused by every environment of that interpreter.
fn default_build_root() -> PathBuf {
    dirs::cache_dir()
        .unwrap_or_else(std::env::temp_dir)
        .join("rusthook")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn python(prefix: &str, base_prefix: &str) -> PythonEnv {
        PythonEnv {
            executable: PathBuf::from("/usr/bin/python3"),
            base_executable: PathBuf::from("/usr/bin/python3"),
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
        let settings = Settings::resolve(SettingsRequest::default(), env).unwrap();
        assert!(settings.release);
        assert!(!settings.force_rebuild);
        assert_eq!(settings.build_root, PathBuf::from("/tmp/cache"));

        let explicit = SettingsRequest {
            release: Some(false),
            build_dir: Some("/elsewhere".into()),
            ..Default::default()
        };
        let settings = Settings::resolve(explicit, env).unwrap();
        assert!(
            !settings.release,
            "an explicit keyword beats the environment"
        );
        assert_eq!(settings.build_root, PathBuf::from("/elsewhere"));
    }

    #[test]
    fn a_flag_that_is_neither_yes_nor_no_is_an_error() {
        let env = |name: &str| (name == "RUSTHOOK_RELEASE").then(|| "maybe".to_string());
        let err = Settings::resolve(SettingsRequest::default(), env)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("RUSTHOOK_RELEASE=maybe is not a yes/no value"),
            "{err}"
        );
    }

    #[test]
    fn the_default_cache_is_the_users_whatever_the_environment() {
        let settings = Settings::resolve(SettingsRequest::default(), |_| None).unwrap();
        let user_cache = dirs::cache_dir().unwrap_or_else(std::env::temp_dir);
        assert_eq!(settings.build_root, user_cache.join("rusthook"));
    }

    #[test]
    fn fingerprint_changes_with_profile_and_features() {
        let py = python("/p", "/p");
        let debug = Settings::resolve(SettingsRequest::default(), |_| None).unwrap();
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
        assert!(hook_enabled(|_| None).unwrap());
        assert!(hook_enabled(with("1")).unwrap());
        assert!(hook_enabled(with("")).unwrap());
        assert!(!hook_enabled(with("0")).unwrap());
        assert!(!hook_enabled(with("OFF")).unwrap());
        let err = hook_enabled(with("maybe")).unwrap_err().to_string();
        assert!(
            err.starts_with("RUSTHOOK_ENABLED=maybe is not a yes/no value"),
            "{err}"
        );
        let release_mode = |name: &str| (name == "RUSTIMPORT_RELEASE_MODE").then(|| "true".into());
        assert!(!hook_enabled(release_mode).unwrap());
        // `with("1")` above sets RUSTIMPORT_RELEASE_MODE too: RUSTHOOK_ENABLED=1 wins.
    }

    #[test]
    fn rustimport_variables_count_where_rusthooks_are_unset() {
        let env = |name: &str| match name {
            "RUSTIMPORT_RELEASE_BINARIES" => Some("true".to_string()),
            "RUSTIMPORT_FORCE_REBUILD" => Some("yes".to_string()),
            _ => None,
        };
        let settings = Settings::resolve(SettingsRequest::default(), env).unwrap();
        assert!(settings.release && settings.force_rebuild);
        let overruled = |name: &str| match name {
            "RUSTHOOK_RELEASE" | "RUSTHOOK_FORCE_REBUILD" => Some("0".to_string()),
            _ => env(name),
        };
        let settings = Settings::resolve(SettingsRequest::default(), overruled).unwrap();
        assert!(!settings.release && !settings.force_rebuild);
    }
}
