//! `rusthook._core.Settings`: the build settings as a Python class, resolved against the
//! environment when created.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyString};

use crate::python::errors::to_python_error;
use crate::settings::{Settings, SettingsRequest};

/// Build settings, resolved against the environment when created.
#[pyclass(frozen, name = "Settings", module = "rusthook._core")]
pub struct PySettings(pub Settings);

#[pymethods]
impl PySettings {
    #[new]
    #[pyo3(signature = (*, release=None, force_rebuild=None, in_place=None, quiet=None,
                        lock_timeout=None, build_dir=None, features=None, cargo_args=None,
                        enable_file_importer=None, enable_project_importer=None, stubs=None,
                        **unknown))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        release: Option<bool>,
        force_rebuild: Option<bool>,
        in_place: Option<bool>,
        quiet: Option<bool>,
        lock_timeout: Option<f64>,
        build_dir: Option<PathBuf>,
        features: Option<Bound<'_, PyAny>>,
        cargo_args: Option<Bound<'_, PyAny>>,
        enable_file_importer: Option<bool>,
        enable_project_importer: Option<bool>,
        stubs: Option<bool>,
        unknown: Option<Bound<'_, PyDict>>,
    ) -> PyResult<Self> {
        if let Some((name, _)) = unknown.and_then(|u| u.iter().next()) {
            return Err(PyTypeError::new_err(unknown_setting(&name.to_string())));
        }
        let features = string_list("features", "['simd']", features)?;
        let cargo_args = string_list("cargo_args", "['--offline']", cargo_args)?;
        let lock_timeout = lock_timeout
            .map(|seconds| {
                Duration::try_from_secs_f64(seconds).map_err(|_| {
                    PyValueError::new_err(format!(
                        "lock_timeout must be a non-negative number of seconds, not {seconds}"
                    ))
                })
            })
            .transpose()?;
        let request = SettingsRequest {
            release,
            force_rebuild,
            in_place,
            quiet,
            lock_timeout,
            build_dir,
            features,
            cargo_args,
            file_importer: enable_file_importer,
            project_importer: enable_project_importer,
            stubs,
        };
        Settings::resolve(request, |name| std::env::var(name).ok())
            .map(PySettings)
            .map_err(to_python_error)
    }

    #[getter]
    fn release(&self) -> bool {
        self.0.release
    }
    #[getter]
    fn force_rebuild(&self) -> bool {
        self.0.force_rebuild
    }
    #[getter]
    fn in_place(&self) -> bool {
        self.0.in_place
    }
    #[getter]
    fn quiet(&self) -> bool {
        self.0.quiet
    }
    #[getter]
    fn lock_timeout(&self) -> f64 {
        self.0.lock_timeout.as_secs_f64()
    }
    #[getter]
    fn build_dir(&self) -> OsString {
        self.0.build_root.clone().into_os_string()
    }
    #[getter]
    fn features(&self) -> Vec<String> {
        self.0.features.clone()
    }
    #[getter]
    fn cargo_args(&self) -> Vec<String> {
        self.0.cargo_args.clone()
    }
    #[getter]
    fn enable_file_importer(&self) -> bool {
        self.0.file_importer
    }
    #[getter]
    fn enable_project_importer(&self) -> bool {
        self.0.project_importer
    }
    #[getter]
    fn stubs(&self) -> bool {
        self.0.stubs
    }

    fn __repr__(&self) -> String {
        let s = &self.0;
        format!(
            "Settings(release={}, force_rebuild={}, in_place={}, quiet={}, lock_timeout={}, build_dir={:?}, features={:?}, cargo_args={:?}, enable_file_importer={}, enable_project_importer={}, stubs={})",
            py_bool(s.release),
            py_bool(s.force_rebuild),
            py_bool(s.in_place),
            py_bool(s.quiet),
            s.lock_timeout.as_secs_f64(),
            s.build_root,
            s.features,
            s.cargo_args,
            py_bool(s.file_importer),
            py_bool(s.project_importer),
            py_bool(s.stubs),
        )
    }
}

/// The keywords `Settings` takes, for the message about one it does not.
const SETTING_NAMES: [&str; 11] = [
    "release",
    "force_rebuild",
    "in_place",
    "quiet",
    "lock_timeout",
    "build_dir",
    "features",
    "cargo_args",
    "enable_file_importer",
    "enable_project_importer",
    "stubs",
];

fn unknown_setting(name: &str) -> String {
    let closest = SETTING_NAMES
        .iter()
        .map(|known| (strsim::levenshtein(name, known), known))
        .min()
        .filter(|(distance, _)| *distance <= 2)
        .map(|(_, known)| format!(" (did you mean `{known}`?)"))
        .unwrap_or_default();
    format!(
        "unknown setting `{name}`{closest}; the settings are {}",
        SETTING_NAMES.join(", ")
    )
}

/// A list of strings, with a message naming the setting when it is a single string
/// (a common slip: `features="simd"`) or anything else.
fn string_list(
    name: &str,
    example: &str,
    value: Option<Bound<'_, PyAny>>,
) -> PyResult<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if value.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name} takes a list of strings, e.g. {name}={example}, not the string {}",
            value.repr().map(|r| r.to_string()).unwrap_or_default()
        )));
    }
    value.extract().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name} takes a list of strings, e.g. {name}={example}"
        ))
    })
}

fn py_bool(value: bool) -> &'static str {
    if value {
        "True"
    } else {
        "False"
    }
}
