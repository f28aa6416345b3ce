//! What the core needs from the running interpreter: `sys` facts read once, the
//! site-packages folders, and `sys.stderr`.

use std::path::PathBuf;
use std::sync::OnceLock;

use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};

use crate::project_importer::{index, ProjectIndex};
use crate::settings::PythonEnv;

/// What the core knows about the interpreter, read once when `_core` is imported.
pub struct Core {
    pub python: PythonEnv,
    pub projects: ProjectIndex,
}

static CORE: OnceLock<Core> = OnceLock::new();

pub fn core(py: Python<'_>) -> PyResult<&'static Core> {
    if let Some(core) = CORE.get() {
        return Ok(core);
    }
    let sys = py.import("sys")?;
    // importlib.machinery re-exports these; its frozen source is always loaded,
    // while importing the importlib package costs time at interpreter start.
    let machinery = py
        .import("_frozen_importlib_external")
        .or_else(|_| py.import("importlib.machinery"))?;
    let executable: PathBuf = sys.getattr("executable")?.extract()?;
    // Not set by every interpreter (nor by an embedding application): the interpreter
    // itself then.
    let base_executable = sys
        .getattr("_base_executable")
        .and_then(|e| e.extract::<PathBuf>())
        .ok()
        .filter(|e| e.is_file())
        .unwrap_or_else(|| executable.clone());
    let python = PythonEnv {
        executable,
        base_executable,
        prefix: sys.getattr("prefix")?.extract()?,
        base_prefix: sys.getattr("base_prefix")?.extract()?,
        extension_suffixes: machinery.getattr("EXTENSION_SUFFIXES")?.extract()?,
    };
    Ok(CORE.get_or_init(|| Core {
        python,
        projects: ProjectIndex::default(),
    }))
}

/// Writes to whatever `sys.stderr` is now (notebooks and output capture replace it).
pub fn write_stderr(text: &str) {
    Python::attach(|py| {
        let written = py
            .import("sys")
            .and_then(|sys| sys.getattr("stderr"))
            .and_then(|stderr| {
                stderr.call_method1("write", (text,))?;
                stderr.call_method0("flush")
            });
        if let Err(error) = written {
            error.write_unraisable(py, None);
        }
    })
}

/// The folders of a search path (`sys.path`, a package's `__path__`): its `str`
/// entries (importlib skips the others; so does rusthook).
pub fn search_path_entries(search_path: &Bound<'_, PyList>) -> Vec<PathBuf> {
    search_path
        .iter()
        .filter_map(|entry| {
            let entry = entry.cast_into::<PyString>().ok()?;
            Some(PathBuf::from(entry.to_cow().ok()?.as_ref()))
        })
        .collect()
}

/// The site-packages folders of this environment (and the user site when `site`
/// enabled it), as `site` computes them for the prefixes the core chooses.
pub fn site_dirs(py: Python<'_>) -> Vec<PathBuf> {
    let (Ok(site), Ok(sys)) = (py.import("site"), py.import("sys")) else {
        return Vec::new();
    };
    fn get<'py>(module: &Bound<'py, PyModule>, name: &str) -> Option<Bound<'py, PyAny>> {
        module.getattr(name).ok()
    }
    let prefixes = index::site_prefixes(
        get(&site, "PREFIXES")
            .and_then(|p| p.extract().ok())
            .unwrap_or_default(),
        get(&sys, "prefix").and_then(|p| p.extract().ok()),
        get(&sys, "exec_prefix").and_then(|p| p.extract().ok()),
    );
    let mut dirs: Vec<PathBuf> = site
        .call_method1("getsitepackages", (prefixes,))
        .and_then(|d| d.extract())
        .unwrap_or_default();
    // None until `site` has decided; a virtual environment then turns it off.
    let user_site = get(&site, "ENABLE_USER_SITE")
        .and_then(|e| e.extract::<bool>().ok())
        .unwrap_or(false);
    if user_site {
        if let Ok(dir) = site
            .call_method0("getusersitepackages")
            .and_then(|d| d.extract())
        {
            dirs.push(dir);
        }
    }
    dirs
}
